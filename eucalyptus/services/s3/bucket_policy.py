"""Bucket policies: validation as PutBucketPolicy does it, and evaluation with principals.

``validate(text, bucket, account_exists)`` parses a bucket policy and returns it, or raises
``MalformedPolicy`` (400) with S3's messages: every statement needs an Effect, a Principal (or
NotPrincipal), an Action of the ``s3:`` vendor and a Resource inside this bucket
(``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/...``); principals must be ``"*"``,
``{"AWS": ...}`` naming ``*``, an existing account id, ``arn:aws:iam::ACCT:root`` or an IAM user
or role ARN of an existing account, or ``{"CanonicalUser": <64 hex>}``; documents stop at 20 KB.

``evaluate(document, caller, action, resource, context)`` decides one request with the
statements whose Principal matches ``caller`` (a ``Caller``; anonymous callers match only
``"*"``/``{"AWS": "*"}``), reusing the IAM engine for Action, Resource and Condition:
``"Deny"``, ``"Allow"`` or ``"ImplicitDeny"``.

``is_public(document)`` tells GetBucketPolicyStatus whether a statement allows everyone
without a condition that narrows who may call.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from eucalyptus.errors import ClientError
from eucalyptus.services.iam import conditions, policy
from eucalyptus.services.s3.canonical import CANONICAL_ID, canonical_id

MAX_SIZE = 20 * 1024
_ACCOUNT = re.compile(r"\d{12}")
_IAM_ARN = re.compile(r"arn:aws:iam::(\d{12}):(root|user/.+|role/.+)")
_NARROWING_KEYS = {"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:sourcearn",
                   "aws:sourceaccount", "aws:principalaccount", "aws:principalarn",
                   "aws:userid", "aws:username", "aws:principalorgid", "s3:dataaccesspointarn"}


class MalformedPolicy(ClientError):
    code = "MalformedPolicy"
    status = 400


@dataclass(frozen=True)
class Caller:
    """Who asks, as bucket policies see it; ``account_id`` empty for an anonymous caller."""
    account_id: str = ""
    arn: str = ""
    is_root: bool = False

    @property
    def anonymous(self) -> bool:
        return not self.account_id

    @property
    def canonical_id(self) -> str:
        return canonical_id(self.account_id) if self.account_id else ""


ANONYMOUS = Caller()


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _check_principal(spec: Any, account_exists: Callable[[str], bool]) -> None:
    if spec == "*":
        return
    if not isinstance(spec, dict) or not spec:
        raise MalformedPolicy("Invalid principal in policy")
    for kind, values in spec.items():
        for value in _as_list(values):
            if not isinstance(value, str):
                raise MalformedPolicy("Invalid principal in policy")
            if kind == "AWS":
                if value == "*":
                    continue
                found = _ACCOUNT.fullmatch(value) or _IAM_ARN.fullmatch(value)
                account = value if _ACCOUNT.fullmatch(value) else (
                    found.group(1) if found else "")
                if not found or not account_exists(account):
                    raise MalformedPolicy("Invalid principal in policy")
            elif kind == "CanonicalUser":
                if not CANONICAL_ID.fullmatch(value.lower()):
                    raise MalformedPolicy("Invalid principal in policy")
            else:
                raise MalformedPolicy("Invalid principal in policy")


def _in_bucket(resource: str, bucket: str) -> bool:
    base = f"arn:aws:s3:::{bucket}"
    return resource == base or resource.startswith(base + "/")


def validate(text: str | bytes, bucket: str,
             account_exists: Callable[[str], bool] = lambda _: True) -> dict:
    """The parsed policy of ``bucket``; MalformedPolicy when S3 would refuse it."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if len(text.encode("utf-8")) > MAX_SIZE:
        raise MalformedPolicy("Policy exceeds the maximum allowed document size.")
    try:
        doc = json.loads(text)
    except ValueError:
        raise MalformedPolicy("This policy contains invalid Json") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise MalformedPolicy("Missing required field Statement")
    for st in _as_list(doc["Statement"]):
        if not isinstance(st, dict):
            raise MalformedPolicy("This policy contains invalid Json")
        if "Effect" not in st:
            raise MalformedPolicy("Missing required field Effect")
        if "Principal" not in st and "NotPrincipal" not in st:
            raise MalformedPolicy("Missing required field Principal")
        if "Action" not in st and "NotAction" not in st:
            raise MalformedPolicy("Missing required field Action")
        if "Resource" not in st and "NotResource" not in st:
            raise MalformedPolicy("Missing required field Resource")
        _check_principal(st.get("Principal", st.get("NotPrincipal")), account_exists)
        for action in _as_list(st.get("Action", st.get("NotAction"))):
            if not isinstance(action, str) or not (action == "*" or
                                                   action.lower().startswith("s3:")):
                raise MalformedPolicy("Policy has invalid action")
        for resource in _as_list(st.get("Resource", st.get("NotResource"))):
            if not isinstance(resource, str) or not _in_bucket(resource, bucket):
                raise MalformedPolicy("Policy has invalid resource")
        for operator in (st.get("Condition") or {}):
            if not conditions.is_known(operator):
                raise MalformedPolicy(f"Invalid Condition type : {operator}")
    try:
        return policy.validate(text, kind="resource")
    except policy.MalformedPolicyDocument as exc:
        raise MalformedPolicy(exc.message) from None


def principal_matches(spec: Any, caller: Caller) -> bool:
    """Whether a statement's Principal value names ``caller``."""
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            if kind == "AWS":
                if value == "*":
                    return True
                if caller.anonymous:
                    continue
                if value == caller.account_id or value == f"arn:aws:iam::{caller.account_id}:root":
                    return True
                if value == caller.arn:
                    return True
            elif kind == "CanonicalUser" and not caller.anonymous:
                if isinstance(value, str) and value.lower() == caller.canonical_id:
                    return True
    return False


def _statement_names(st: dict, caller: Caller) -> bool:
    if "Principal" in st:
        return principal_matches(st["Principal"], caller)
    if "NotPrincipal" in st:
        return not principal_matches(st["NotPrincipal"], caller)
    return False


def evaluate(document: dict | str | None, caller: Caller, action: str, resource: str,
             context: dict[str, Any] | None = None) -> policy.Decision:
    """Decide ``action`` on ``resource`` for ``caller`` under one bucket policy."""
    if not document:
        return "ImplicitDeny"
    doc = json.loads(document) if isinstance(document, (str, bytes)) else document
    statements = [st for st in _as_list(doc.get("Statement", []))
                  if isinstance(st, dict) and _statement_names(st, caller)]
    if not statements:
        return "ImplicitDeny"
    narrowed = dict(doc, Statement=statements)
    return policy.evaluate([narrowed], action, resource, context)


def is_public(document: dict | str | None) -> bool:
    """Whether an Allow statement names everyone with no condition narrowing the caller."""
    if not document:
        return False
    doc = json.loads(document) if isinstance(document, (str, bytes)) else document
    for st in _as_list(doc.get("Statement", [])):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        if not principal_matches(st.get("Principal"), ANONYMOUS):
            continue
        keys = {key.lower() for block in (st.get("Condition") or {}).values()
                if isinstance(block, dict) for key in block}
        if not keys & _NARROWING_KEYS:
            return True
    return False

"""Policy documents: validation and evaluation.

``validate(text)`` parses a policy document and checks its grammar, returning the parsed dict
or raising ``MalformedPolicyDocument`` (400). ``evaluate(documents, action, resource, context)``
decides one request against a set of parsed documents:

* a statement applies when its Action (or NotAction) covers ``action`` — wildcards ``*``/``?``,
  case-insensitive — its Resource (or NotResource) covers ``resource`` — wildcards,
  case-sensitive — and its Condition holds for ``context`` (see ``conditions``);
* any applicable Deny -> ``"Deny"``; else any applicable Allow -> ``"Allow"``; else
  ``"ImplicitDeny"``.

In documents of version 2012-10-17, policy variables such as ``${aws:username}`` in Resource
entries and condition values are replaced from ``context``; an entry naming a variable the
context lacks matches nothing. Principal/NotPrincipal are not evaluated here (identity policies carry none).
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Literal

from eucalyptus.errors import ClientError
from eucalyptus.services.iam import conditions
from eucalyptus.services.iam.wildcards import wildcard_match

Decision = Literal["Allow", "Deny", "ImplicitDeny"]

VERSIONS = ("2012-10-17", "2008-10-17")
_TOP_KEYS = {"Version", "Id", "Statement"}
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Principal", "NotPrincipal", "Condition"}
_ACTION = re.compile(r"\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]*")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class MalformedPolicyDocument(ClientError):
    code = "MalformedPolicyDocument"
    status = 400


def _strings(value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise MalformedPolicyDocument(f"Syntax errors in policy: {what} must be a string or a "
                                      "non-empty list of strings.")
    return items


def _check_statement(st: Any, kind: str) -> None:
    if not isinstance(st, dict):
        raise MalformedPolicyDocument("Syntax errors in policy: a statement must be an object.")
    unknown = set(st) - _STATEMENT_KEYS
    if unknown:
        raise MalformedPolicyDocument(f"Syntax errors in policy: unknown field {sorted(unknown)[0]}.")
    if "Effect" not in st:
        raise MalformedPolicyDocument("Policy statement must contain an Effect.")
    if st["Effect"] not in ("Allow", "Deny"):
        raise MalformedPolicyDocument(f"Invalid effect: {st['Effect']}")
    if ("Action" in st) == ("NotAction" in st):
        raise MalformedPolicyDocument("Policy statement must contain exactly one of Action "
                                      "and NotAction.")
    for action in _strings(st.get("Action", st.get("NotAction")), "Action"):
        if not _ACTION.fullmatch(action):
            raise MalformedPolicyDocument("Actions/Conditions must be prefaced by a vendor, "
                                          f"e.g., iam, sdb, ec2, etc. (got {action!r})")
    if "Resource" in st and "NotResource" in st:
        raise MalformedPolicyDocument("Policy statement must not contain both Resource and "
                                      "NotResource.")
    if kind == "identity":
        if "Resource" not in st and "NotResource" not in st:
            raise MalformedPolicyDocument("Policy statement must contain resources.")
        if "Principal" in st or "NotPrincipal" in st:
            raise MalformedPolicyDocument("Policy document should not specify a principal.")
    for res in _strings(st.get("Resource", st.get("NotResource", "*")), "Resource"):
        if res != "*" and not res.startswith("arn:"):
            raise MalformedPolicyDocument(f'Resource {res} must be in ARN format or "*".')
    cond = st.get("Condition")
    if cond is not None and not (isinstance(cond, dict)
                                 and all(isinstance(b, dict) for b in cond.values())):
        raise MalformedPolicyDocument("Syntax errors in policy: Condition must map operators "
                                      "to objects.")


def validate(document_text: str | bytes, kind: str = "identity") -> dict:
    """Parse and check a policy document; ``kind`` is "identity" (user/group/managed policies:
    Resource required, Principal forbidden) or "resource" (bucket-style policies)."""
    try:
        doc = json.loads(document_text)
    except (TypeError, ValueError):
        raise MalformedPolicyDocument("Syntax errors in policy.") from None
    if not isinstance(doc, dict):
        raise MalformedPolicyDocument("Syntax errors in policy: the document must be an object.")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise MalformedPolicyDocument(f"Syntax errors in policy: unknown field {sorted(unknown)[0]}.")
    if "Version" in doc and doc["Version"] not in VERSIONS:
        raise MalformedPolicyDocument(f"Policy document version {doc['Version']} is not supported.")
    if "Statement" not in doc:
        raise MalformedPolicyDocument("Policy document must contain a Statement.")
    statements = doc["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicyDocument("Policy document must contain at least one statement.")
    for st in statements:
        _check_statement(st, kind)
    return doc


def document_size(document_text: str) -> int:
    """A document's size as IAM counts it against quotas: characters other than whitespace."""
    return sum(1 for ch in document_text if not ch.isspace())


def _expand(pattern: str, context: dict[str, Any]) -> str | None:
    missing = False

    def sub(m: re.Match) -> str:
        nonlocal missing
        value = context.get(m.group(1).lower())
        if value is None or isinstance(value, (list, tuple)):
            missing = True
            return ""
        return str(value)

    expanded = _VARIABLE.sub(sub, pattern)
    return None if missing else expanded


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _statement_applies(st: dict, action: str, resource: str, context: dict[str, Any],
                       variables: bool) -> bool:
    if "Action" in st:
        if not any(wildcard_match(a, action, ignore_case=True) for a in _as_list(st["Action"])):
            return False
    elif "NotAction" in st:
        if any(wildcard_match(a, action, ignore_case=True) for a in _as_list(st["NotAction"])):
            return False
    else:
        return False

    def covers(patterns: list) -> bool:
        for p in patterns:
            p = _expand(p, context) if variables else p
            if p is not None and wildcard_match(p, resource):
                return True
        return False

    if "Resource" in st and not covers(_as_list(st["Resource"])):
        return False
    if "NotResource" in st and covers(_as_list(st["NotResource"])):
        return False
    expand = (lambda value: _expand(value, context)) if variables else None
    return conditions.matches(st.get("Condition"), context, expand)


def _statements(document: dict | str) -> Iterable[tuple[dict, bool]]:
    doc = json.loads(document) if isinstance(document, (str, bytes)) else document
    if not isinstance(doc, dict):
        return
    variables = doc.get("Version") == "2012-10-17"
    statements = doc.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        if isinstance(st, dict):
            yield st, variables


def evaluate(documents: list[dict], action: str, resource: str,
             context: dict[str, Any] | None = None) -> Decision:
    """Decide ``action`` on ``resource`` under ``documents`` (see the module docstring)."""
    ctx = {str(k).lower(): v for k, v in (context or {}).items()}
    decision: Decision = "ImplicitDeny"
    for document in documents:
        for st, variables in _statements(document):
            if not _statement_applies(st, action, resource, ctx, variables):
                continue
            if st.get("Effect") == "Deny":
                return "Deny"
            if st.get("Effect") == "Allow":
                decision = "Allow"
    return decision

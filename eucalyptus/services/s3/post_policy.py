"""Browser POST uploads, the rules: the signed policy document, its signature and conditions.

A POST form carries ``key``, optional fields (``acl``, ``Content-Type``, ``x-amz-meta-*``,
``success_action_status``, ...), a ``policy`` (base64 JSON ``{"expiration": ISO-8601,
"conditions": [...]}``) signed either with SigV4 (``x-amz-algorithm``, ``x-amz-credential``,
``x-amz-date``, ``x-amz-signature``: hex HMAC-SHA256 of the base64 text with the V4 signing
key) or with V2 (``AWSAccessKeyId``, ``signature``: base64 HMAC-SHA1 of the base64 text).
A form with neither is anonymous and needs no policy.

* ``decode(policy_b64)`` -> ``PostPolicy`` or InvalidPolicyDocument (400);
* ``verify(fields, lookup)`` -> the signing ``Credential`` (None for an anonymous form), or
  InvalidAccessKeyId / SignatureDoesNotMatch / AccessDenied as S3 sends them;
* ``PostPolicy.check(fields, bucket)`` applies the expiration and every condition
  (``{"field": "value"}`` and ``["eq", "$field", v]`` exact, ``["starts-with", "$field", p]``,
  ``["content-length-range", min, max]``) and refuses form fields no condition names (403
  AccessDenied "Invalid according to Policy: ..."); it returns the allowed size range, which
  the upload enforces while streaming (EntityTooLarge / EntityTooSmall, 400).

Field names compare case-insensitively; ``fields`` maps lower-case names to values.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from eucalyptus.aws.auth import sigv4
from eucalyptus.errors import AccessDenied, AuthError, ClientError, SignatureDoesNotMatch

# fields no condition needs to name
EXEMPT = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"})
MAX_SIZE = 5 * 1024 ** 3


def invalid_policy(detail: str) -> ClientError:
    return ClientError("InvalidPolicyDocument", f"Invalid Policy: {detail}")


def policy_refusal(detail: str) -> AccessDenied:
    return AccessDenied(f"Invalid according to Policy: {detail}")


def too_large() -> ClientError:
    return ClientError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")


def too_small() -> ClientError:
    return ClientError("EntityTooSmall", "Your proposed upload is smaller than the minimum "
                       "allowed size")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _parse_expiration(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise invalid_policy("Invalid 'expiration' value.")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_policy(f"Invalid 'expiration' value: '{value}'") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


@dataclass
class PostPolicy:
    expiration: dt.datetime
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    # (operator, lower-case field name or "", operand): eq / starts-with / content-length-range

    def check(self, fields: dict[str, str], bucket: str,
              now: dt.datetime | None = None) -> tuple[int, int]:
        """Refuse the form unless the policy allows it; the allowed (min, max) size."""
        if (now or _utcnow()) > self.expiration:
            raise policy_refusal("Policy expired.")
        named: set[str] = set()
        low, high = 0, MAX_SIZE
        for op, name, operand in self.conditions:
            if op == "content-length-range":
                low, high = max(low, operand[0]), min(high, operand[1])
                continue
            named.add(name)
            actual = bucket if name == "bucket" else fields.get(name, "")
            if op == "eq" and actual != operand:
                raise policy_refusal(f'Policy Condition failed: ["eq", "${name}", '
                                     f'{json.dumps(operand)}]')
            if op == "starts-with" and not actual.startswith(operand):
                raise policy_refusal(f'Policy Condition failed: ["starts-with", "${name}", '
                                     f'{json.dumps(operand)}]')
        extra = sorted(n for n in fields if n not in named and n not in EXEMPT
                       and not n.startswith("x-ignore-"))
        if extra:
            raise policy_refusal(f"Extra input fields: {', '.join(extra)}")
        return low, high


def _condition(item: Any) -> tuple[str, str, Any]:
    if isinstance(item, dict):
        if len(item) != 1:
            raise invalid_policy("Invalid Simple-Condition: Simple-Conditions must have "
                                 "exactly one property specified.")
        (name, value), = item.items()
        if not isinstance(value, str):
            raise invalid_policy("Invalid Simple-Condition: value must be a string.")
        return "eq", name.lower().lstrip("$"), value
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise invalid_policy("Invalid Condition: conditions must be objects or arrays.")
    op = item[0].lower()
    if op == "content-length-range":
        try:
            low, high = int(item[1]), int(item[2])
        except (IndexError, TypeError, ValueError):
            raise invalid_policy("Invalid content-length-range: bounds must be integers.") \
                from None
        if len(item) != 3 or low < 0 or high < low:
            raise invalid_policy("Invalid content-length-range.")
        return op, "", (low, high)
    if op in ("eq", "starts-with"):
        if len(item) != 3 or not all(isinstance(v, str) for v in item[1:]) \
                or not item[1].startswith("$"):
            raise invalid_policy(f"Invalid {item[0]} condition: expected "
                                 f'["{op}", "$field", "value"].')
        return op, item[1][1:].lower(), item[2]
    raise invalid_policy(f"Invalid Condition: unknown operation {item[0]!r}.")


def decode(policy_b64: str) -> PostPolicy:
    """The policy of a POST form (see the module docstring)."""
    try:
        doc = json.loads(base64.b64decode(policy_b64, validate=False))
    except (binascii.Error, ValueError):
        raise invalid_policy("Invalid JSON.") from None
    if not isinstance(doc, dict) or "expiration" not in doc:
        raise invalid_policy("Policy missing expiration.")
    conditions = doc.get("conditions")
    if not isinstance(conditions, list):
        raise invalid_policy("Policy missing conditions.")
    return PostPolicy(_parse_expiration(doc["expiration"]), [_condition(c) for c in conditions])


def _missing_field(name: str) -> ClientError:
    return ClientError("InvalidArgument", f"Bucket POST must contain a field named '{name}'.  "
                       "If it is specified, please check the order of the fields.")


def verify(fields: dict[str, str], lookup: Callable[[str], Any],
           now: dt.datetime | None = None) -> Any:
    """The credential that signed the form's policy; None when the form is unsigned."""
    v4 = "x-amz-credential" in fields or "x-amz-signature" in fields
    if not v4 and "awsaccesskeyid" not in fields:
        return None
    if "policy" not in fields:
        raise _missing_field("policy")
    policy_b64 = fields["policy"]
    if v4:
        for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
            if name not in fields:
                raise _missing_field(name)
        if fields["x-amz-algorithm"] != sigv4.ALGORITHM:
            raise ClientError("InvalidArgument", "Invalid algorithm: only AWS4-HMAC-SHA256 "
                              "is supported")
        parts = fields["x-amz-credential"].split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise ClientError("InvalidArgument", "Invalid credential: "
                              f"{fields['x-amz-credential']}")
        key_id, signature = parts[0], fields["x-amz-signature"]
    else:
        if "signature" not in fields:
            raise _missing_field("signature")
        key_id, signature = fields["awsaccesskeyid"], fields["signature"]
    cred = lookup(key_id)
    if cred is None or not cred.active:
        raise AuthError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not "
                        "exist in our records.", status=403)
    if cred.session_token is not None and not hmac.compare_digest(
            fields.get("x-amz-security-token", ""), cred.session_token):
        raise AuthError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not "
                        "exist in our records.", status=403)
    if cred.expires_at is not None and (now or _utcnow()) >= cred.expires_at:
        raise AuthError("ExpiredToken", "The provided token has expired.", status=400)
    if v4:
        key = sigv4.signing_key(cred.secret, parts[1], parts[2], parts[3])
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    else:
        expected = base64.b64encode(hmac.new(cred.secret.encode(), policy_b64.encode(),
                                             hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise SignatureDoesNotMatch("The request signature we calculated does not match the "
                                    "signature you provided. Check your key and signing "
                                    "method.")
    return cred

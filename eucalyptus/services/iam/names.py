"""Input checks for IAM names, paths and list sizes, with IAM's ValidationError wording.

Each check returns the value it accepted (so callers can write ``name = user_name(v)``) or
raises ``errors.ValidationError``.
"""
from __future__ import annotations

import re

from eucalyptus.errors import ValidationError

_ENTITY_NAME = re.compile(r"[\w+=,.@-]+")
_PATH = re.compile(r"(/)|(/[\x21-\x7e]+/)")
_PATH_PREFIX = re.compile(r"/[\x21-\x7e]*")
_ACCOUNT_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")

# member name as AWS spells it in its messages -> longest allowed value
_NAME_LIMITS = {"userName": 64, "groupName": 128, "policyName": 128, "newUserName": 64,
                "newGroupName": 128}


def _violation(member: str, value: object, constraint: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}")


def entity_name(value: str | None, member: str) -> str:
    """A user, group or policy name: 1..N characters of ``[\\w+=,.@-]``."""
    if value is None or value == "":
        raise _violation(member, value, "Member must have length greater than or equal to 1")
    limit = _NAME_LIMITS.get(member, 128)
    if len(value) > limit:
        raise _violation(member, value, f"Member must have length less than or equal to {limit}")
    if not _ENTITY_NAME.fullmatch(value):
        raise _violation(member, value,
                         r"Member must satisfy regular expression pattern: [\w+=,.@-]+")
    return value


def path(value: str | None, member: str = "path") -> str:
    """An IAM path: ``/`` or ``/a/b/`` (printable ASCII, 1..512 characters); None means ``/``."""
    if value is None:
        return "/"
    if len(value) > 512:
        raise _violation(member, value, "Member must have length less than or equal to 512")
    if not _PATH.fullmatch(value):
        raise _violation(member, value, "Member must satisfy regular expression pattern: "
                                        r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)")
    return value


def path_prefix(value: str | None) -> str:
    """A PathPrefix filter: must start with ``/``; None means every path."""
    if value is None:
        return "/"
    if len(value) > 512 or not _PATH_PREFIX.fullmatch(value):
        raise _violation("pathPrefix", value, "Member must satisfy regular expression pattern: "
                                              r"\u002F[\u0021-\u007F]*")
    return value


def account_name(value: str | None) -> str:
    """A Eucalyptus account name: 3..63 lower-case letters, digits and inner hyphens."""
    if not value or not 3 <= len(value) <= 63 or not _ACCOUNT_NAME.fullmatch(value):
        raise ValidationError(
            f"Invalid account name '{value}': use 3 to 63 lower-case letters, digits and "
            "hyphens, starting and ending with a letter or digit.")
    return value


def max_items(value: int | str | None, default: int = 100) -> int:
    """MaxItems of a list call: 1..1000."""
    if value is None:
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise _violation("maxItems", value, "Member must be an integer") from None
    if n < 1:
        raise _violation("maxItems", n, "Member must have value greater than or equal to 1")
    if n > 1000:
        raise _violation("maxItems", n, "Member must have value less than or equal to 1000")
    return n

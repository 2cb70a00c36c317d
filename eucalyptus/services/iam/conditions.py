"""Condition blocks of policy statements: ``{"StringEquals": {"aws:username": "bob"}}``.

``matches(condition, context)`` is True when every operator block holds (operators AND, keys
within a block AND, values listed for one key OR). ``context`` maps condition keys (compared
case-insensitively) to a value or a list of values.

Supported operators: String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals},
Date{same six}, Bool, IpAddress, NotIpAddress, Arn{Equals,NotEquals,Like,NotLike}, Null; each
with an ``IfExists`` suffix (true when the key is absent) and the ``ForAnyValue:`` /
``ForAllValues:`` set prefixes. A key absent from the context fails a positive operator and
satisfies a negated one. An unknown operator makes the condition false, so its statement does
not apply. ``expand`` (given for 2012-10-17 documents) replaces policy variables in the policy's
values; a value it cannot resolve (None) matches nothing.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, Callable

from eucalyptus.services.iam.wildcards import wildcard_match

_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals",
            "DateNotEquals", "NotIpAddress", "ArnNotEquals", "ArnNotLike"}


def _number(v: Any) -> float:
    return float(v)


def _date(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, (int, float)) or (isinstance(v, str) and v.isdigit()):
        d = dt.datetime.fromtimestamp(float(v), dt.timezone.utc)
    else:
        d = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).lower() == "true"


def _ip(actual: Any, wanted: Any) -> bool:
    return ipaddress.ip_address(str(actual)) in ipaddress.ip_network(str(wanted), strict=False)


# positive comparison of one context value against one policy value
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": lambda a, w: str(a) == str(w),
    "StringEqualsIgnoreCase": lambda a, w: str(a).lower() == str(w).lower(),
    "StringLike": lambda a, w: wildcard_match(str(w), str(a)),
    "NumericEquals": lambda a, w: _number(a) == _number(w),
    "NumericLessThan": lambda a, w: _number(a) < _number(w),
    "NumericLessThanEquals": lambda a, w: _number(a) <= _number(w),
    "NumericGreaterThan": lambda a, w: _number(a) > _number(w),
    "NumericGreaterThanEquals": lambda a, w: _number(a) >= _number(w),
    "DateEquals": lambda a, w: _date(a) == _date(w),
    "DateLessThan": lambda a, w: _date(a) < _date(w),
    "DateLessThanEquals": lambda a, w: _date(a) <= _date(w),
    "DateGreaterThan": lambda a, w: _date(a) > _date(w),
    "DateGreaterThanEquals": lambda a, w: _date(a) >= _date(w),
    "Bool": lambda a, w: _bool(a) == _bool(w),
    "IpAddress": _ip,
    "ArnEquals": lambda a, w: str(a) == str(w),
    "ArnLike": lambda a, w: wildcard_match(str(w), str(a)),
}
_POSITIVE_OF = {
    "StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals", "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple, set)) else [v]


def is_known(operator: str) -> bool:
    """Whether ``operator`` (with any prefix/suffix) is one this module evaluates."""
    base = operator.split(":", 1)[1] if operator.startswith(("ForAnyValue:", "ForAllValues:")) \
        else operator
    base = base[:-8] if base.endswith("IfExists") else base
    return base == "Null" or base in _COMPARE or base in _POSITIVE_OF


def _any_match(base: str, actual: Any, wanted: list) -> bool:
    compare = _COMPARE[_POSITIVE_OF.get(base, base)]
    for w in wanted:
        try:
            if compare(actual, w):
                return True
        except (ValueError, TypeError):
            continue
    return False


def _block_holds(operator: str, key: str, wanted: list, context: dict,
                 expand: Callable[[str], str | None] | None) -> bool:
    if expand is not None:
        wanted = [expand(w) if isinstance(w, str) else w for w in wanted]
        wanted = [w for w in wanted if w is not None]
    set_op = ""
    base = operator
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        set_op, base = operator.split(":", 1)
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[:-8]
    present = key.lower() in context
    actual = context.get(key.lower())
    if base == "Null":
        return any(_bool(w) == (not present) for w in wanted)
    negated = base in _NEGATED
    if not present or actual is None:
        if set_op == "ForAllValues":
            return True
        if set_op == "ForAnyValue":
            return False
        return if_exists or negated
    values = _as_list(actual)
    hits = [_any_match(base, v, wanted) for v in values]
    if set_op == "ForAllValues":
        return all((not h) if negated else h for h in hits)
    if set_op == "ForAnyValue":
        return any((not h) if negated else h for h in hits)
    return not any(hits) if negated else any(hits)


def matches(condition: dict | None, context: dict | None,
            expand: Callable[[str], str | None] | None = None) -> bool:
    """Whether a statement's Condition block holds for ``context`` (see module docstring)."""
    if not condition:
        return True
    ctx = {str(k).lower(): v for k, v in (context or {}).items()}
    for operator, block in condition.items():
        if not is_known(operator) or not isinstance(block, dict):
            return False
        for key, wanted in block.items():
            if not _block_holds(operator, key, _as_list(wanted), ctx, expand):
                return False
    return True

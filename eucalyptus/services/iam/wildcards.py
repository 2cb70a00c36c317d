"""IAM wildcard patterns: ``*`` matches any run of characters, ``?`` any single one.

Everything else is literal (no character classes, unlike fnmatch). Action names compare
case-insensitively, resources and condition values case-sensitively.
"""
from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``pattern`` as a whole."""
    return _compile(pattern, ignore_case).fullmatch(value) is not None

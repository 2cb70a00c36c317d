"""Marker/MaxItems pagination of IAM list calls.

Items are listed in a stable order given by a string key. The marker handed back is the
(opaque, base64) key of the first item of the next page, so a page boundary stays put when
items before it are added or removed.
"""
from __future__ import annotations

import base64
import binascii
from typing import Callable, Sequence, TypeVar

from eucalyptus.errors import ValidationError
from eucalyptus.services.iam import names

T = TypeVar("T")


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationError("Invalid Marker.") from None


def paginate(items: Sequence[T], key: Callable[[T], str], marker: str | None,
             max_items: int | str | None) -> tuple[list[T], dict]:
    """Return ``(page, fields)``: the items from ``marker`` on, at most ``max_items`` of them,
    and the ``IsTruncated``/``Marker`` output members describing what follows.

    ``items`` are sorted here by ``key``; a bad marker or MaxItems is a ValidationError.
    """
    limit = names.max_items(max_items)
    ordered = sorted(items, key=key)
    start = 0
    if marker:
        first = _decode(marker)
        while start < len(ordered) and key(ordered[start]) < first:
            start += 1
    page = ordered[start:start + limit]
    rest = ordered[start + limit:]
    fields: dict = {"IsTruncated": bool(rest)}
    if rest:
        fields["Marker"] = _encode(key(rest[0]))
    return page, fields

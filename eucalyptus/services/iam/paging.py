"""Marker/MaxItems pagination of IAM list calls, on the shared engine in aws/pagination.py."""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from eucalyptus.aws import pagination
from eucalyptus.services.iam import names

T = TypeVar("T")


def paginate(items: Sequence[T], key: Callable[[T], str], marker: str | None,
             max_items: int | str | None) -> tuple[list[T], dict]:
    """Return ``(page, fields)``: the items after ``marker`` in ``key`` order, at most
    ``max_items`` of them, and the ``IsTruncated``/``Marker`` output members. A bad marker or
    MaxItems is a ValidationError."""
    page = pagination.iam_page(list(items), names.max_items(max_items), marker, key=key)
    fields = page.iam_output("_")
    del fields["_"]
    return page.items, fields

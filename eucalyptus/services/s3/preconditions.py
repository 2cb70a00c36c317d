"""Conditional requests and byte ranges, decided in one place: ``decide``.

``decide`` applies, in S3's order: If-Match (else If-Unmodified-Since) -> 412 PreconditionFailed;
If-None-Match (else If-Modified-Since) -> 304 Not Modified for reads (412 for copy sources and
writes); then the Range header -> the slice to send (206 with Content-Range), the whole object
(200, also for a malformed or multi-range header, which S3 ignores) or 416 InvalidRange with
``Content-Range: bytes */size``. Dates compare at one-second resolution, as HTTP dates carry.

``FileSlice`` is what a handler returns as a streamed body: an open file, offset and length;
the server sends it with sendfile and closes the file.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from eucalyptus.services.s3.errors import invalid_range, not_modified, precondition_failed

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass
class FileSlice:
    file: BinaryIO
    offset: int
    length: int

    def close(self) -> None:
        self.file.close()


@dataclass
class Decision:
    status: int                     # 200 or 206
    start: int
    length: int
    content_range: str | None = None


def _etags(header: str) -> list[str]:
    return [item.strip().removeprefix("W/").strip('"') for item in header.split(",")
            if item.strip()]


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match/If-None-Match list names ``etag`` (or is ``*``)."""
    wanted = _etags(header)
    return "*" in wanted or etag.strip('"') in wanted


def _utc_seconds(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        from email.utils import parsedate_to_datetime
        try:
            value = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) of a single ``bytes=`` range; None for no/ignorable range;
    InvalidRange when it cannot be satisfied."""
    if not header:
        return None
    found = _RANGE.match(header)
    if not found:
        return None
    first, last = found.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise invalid_range(size)
        start = max(size - suffix, 0)
        return start, size - start
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise invalid_range(size)
    end = min(end, size - 1)
    return start, end - start + 1


def decide(*, etag: str, last_modified: dt.datetime, size: int, if_match: str | None = None,
           if_none_match: str | None = None, if_modified_since: Any = None,
           if_unmodified_since: Any = None, range_header: str | None = None,
           read: bool = True, headers_304: dict[str, str] | None = None) -> Decision:
    """The outcome of a request's conditions on an object (see the module docstring).

    ``read`` is True for GET/HEAD (a failed If-None-Match/If-Modified-Since is 304) and False
    for copy sources and conditional writes (412)."""
    modified = _utc_seconds(last_modified)
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise precondition_failed("If-Match")
    else:
        since = _utc_seconds(if_unmodified_since)
        if since is not None and modified > since:
            raise precondition_failed("If-Unmodified-Since")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            if read:
                raise not_modified(headers_304 or {})
            raise precondition_failed("If-None-Match")
    else:
        since = _utc_seconds(if_modified_since)
        if since is not None and modified <= since:
            if read:
                raise not_modified(headers_304 or {})
            raise precondition_failed("If-Modified-Since")
    chosen = parse_range(range_header, size)
    if chosen is None:
        return Decision(200, 0, size)
    start, length = chosen
    return Decision(206, start, length, f"bytes {start}-{start + length - 1}/{size}")

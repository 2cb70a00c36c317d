"""Scalar values between their wire text and Python, for every protocol.

Reading: ``from_text(shape, text)`` turns the text of a query parameter, XML element, header
or URI label into the Python value botocore's callers use (int, float, bool, tz-aware UTC
datetime, bytes, str) and raises :class:`BadValue` when the text does not convert.
Writing: ``to_text(shape, value, default_timestamp_format)`` does the reverse.
"""
from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import math
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

UTC = dt.timezone.utc
INTEGER_TYPES = ("integer", "long", "short", "byte")
FLOAT_TYPES = ("float", "double")


class BadValue(ValueError):
    """A wire value that does not convert to its shape's type."""

    def __init__(self, value: Any, type_name: str):
        self.value = value
        self.type_name = type_name
        super().__init__(f"{value!r} is not a valid {type_name}")


def parse_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadValue(text, "boolean")


def parse_integer(text: str) -> int:
    try:
        return int(text.strip())
    except (ValueError, AttributeError):
        raise BadValue(text, "integer") from None


def parse_float(text: str) -> float:
    special = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}
    stripped = text.strip()
    if stripped.lower() in special:
        return special[stripped.lower()]
    try:
        return float(stripped)
    except ValueError:
        raise BadValue(text, "double") from None


def parse_timestamp(value: str | int | float) -> dt.datetime:
    """ISO 8601, RFC 822 or epoch seconds -> an aware UTC datetime."""
    if isinstance(value, bool):
        raise BadValue(value, "timestamp")
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise BadValue(value, "timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> dt.datetime:
    if not math.isfinite(seconds):
        raise BadValue(seconds, "timestamp")
    try:
        whole = math.floor(seconds)
        micros = round((seconds - whole) * 1_000_000)
        return dt.datetime.fromtimestamp(whole, UTC) + dt.timedelta(microseconds=micros)
    except (OverflowError, OSError, ValueError):
        raise BadValue(seconds, "timestamp") from None


def parse_blob(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadValue(text, "blob") from None


def from_text(shape, text: str) -> Any:
    """The Python value of a scalar shape from its text form (query, XML, header, URI)."""
    type_name = shape.type_name
    if type_name in ("string", "character"):
        return text
    if type_name in INTEGER_TYPES:
        return parse_integer(text)
    if type_name == "boolean":
        return parse_boolean(text)
    if type_name in FLOAT_TYPES:
        return parse_float(text)
    if type_name == "timestamp":
        return parse_timestamp(text)
    if type_name == "blob":
        return parse_blob(text)
    raise BadValue(text, type_name)


# ---------------------------------------------------------------- writing

def as_datetime(value: Any) -> dt.datetime:
    """An aware UTC datetime from a datetime (naive means UTC), epoch number or ISO string."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    return parse_timestamp(value)


def format_timestamp(value: Any, timestamp_format: str) -> str | int | float:
    """``iso8601`` (milliseconds, Z), ``rfc822`` or ``unixtimestamp`` (a number)."""
    when = as_datetime(value)
    fmt = timestamp_format.lower()
    if fmt == "unixtimestamp":
        seconds = calendar.timegm(when.utctimetuple())
        if when.microsecond:
            return round(seconds + when.microsecond / 1_000_000, 3)
        return seconds
    if fmt == "rfc822":
        return formatdate(calendar.timegm(when.utctimetuple()), usegmt=True)
    if when.year < 1000:      # strftime's %Y does not pad these
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return (f"{when.year}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:"
            f"{when.second:02d}.{when.microsecond // 1000:03d}Z")


def format_float(value: float) -> str | float:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def blob_text(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(bytes(value)).decode("ascii")


def to_text(shape, value: Any, default_timestamp_format: str = "iso8601") -> str:
    """The text form of a scalar for XML, query strings and headers."""
    type_name = shape.type_name
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_timestamp_format)
        return str(format_timestamp(value, fmt))
    if type_name == "blob":
        return blob_text(value)
    if type_name in FLOAT_TYPES:
        return str(format_float(float(value)))
    if type_name in INTEGER_TYPES:
        return str(int(value))
    return str(value)

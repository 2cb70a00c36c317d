"""Object metadata: the content headers and x-amz-meta-* an object keeps and returns.

Stored per version as two JSON documents: ``headers`` (Content-Type, Content-Encoding,
Content-Disposition, Content-Language, Cache-Control, Expires: as sent, by output member name)
and ``metadata`` (user metadata, names lower-cased, at most 2 KB in all).
"""
from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime
from typing import Any, Mapping

from eucalyptus.services.s3.errors import s3_error

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
CONTENT_MEMBERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage",
                   "CacheControl", "Expires")
PARAMS = {"ContentType": "content_type", "ContentEncoding": "content_encoding",
          "ContentDisposition": "content_disposition", "ContentLanguage": "content_language",
          "CacheControl": "cache_control", "Expires": "expires"}
OVERRIDES = {"ContentType": "response_content_type", "ContentEncoding": "response_content_encoding",
             "ContentDisposition": "response_content_disposition",
             "ContentLanguage": "response_content_language",
             "CacheControl": "response_cache_control", "Expires": "response_expires"}
MAX_METADATA = 2048


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return format_datetime(value.astimezone(dt.timezone.utc), usegmt=True)
    return str(value)


def content_headers(params: Mapping[str, Any], raw_headers: Mapping[str, str] | None = None
                    ) -> dict[str, str]:
    """The content headers of a write request (handler params), as text to store."""
    out: dict[str, str] = {}
    for member, param in PARAMS.items():
        value = params.get(param)
        if value is None:
            continue
        if member == "Expires" and raw_headers is not None and "Expires" in raw_headers:
            value = raw_headers["Expires"]
        out[member] = _text(value)
    encoding = out.get("ContentEncoding")
    if encoding is not None:
        kept = [e.strip() for e in encoding.split(",") if e.strip().lower() != "aws-chunked"]
        if kept:
            out["ContentEncoding"] = ", ".join(kept)
        else:
            del out["ContentEncoding"]
    out.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
    return out


def user_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """x-amz-meta-* with lower-cased names; MetadataTooLarge above 2 KB."""
    out = {name.lower(): value for name, value in (metadata or {}).items()}
    if sum(len(k) + len(v) for k, v in out.items()) > MAX_METADATA:
        raise s3_error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed "
                       "metadata size.", 400, MaxSizeAllowed=MAX_METADATA)
    return out


def dump(value: Mapping[str, str]) -> str:
    return json.dumps(value, separators=(",", ":"))


def load(text: str | None) -> dict[str, str]:
    return json.loads(text) if text else {}


def output(headers_json: str, metadata_json: str, params: Mapping[str, Any] | None = None
           ) -> dict[str, Any]:
    """Response members for a stored version, with response-* query overrides applied."""
    out: dict[str, Any] = {}
    stored = load(headers_json)
    for member in CONTENT_MEMBERS:
        override = (params or {}).get(OVERRIDES[member])
        value = _text(override) if override is not None else stored.get(member)
        if value is not None:
            out[member] = value
    if "Expires" in out:
        from email.utils import parsedate_to_datetime
        try:
            out["Expires"] = parsedate_to_datetime(out["Expires"])
        except (TypeError, ValueError):
            del out["Expires"]
    meta = load(metadata_json)
    if meta:
        out["Metadata"] = meta
    return out

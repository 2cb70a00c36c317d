"""What a signature check needs to know of an HTTP request, taken once from the wire."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from multidict import CIMultiDict


@dataclass
class SignedRequest:
    method: str
    raw_path: str                  # as sent, percent-encoded, without the query
    raw_query: str                 # as sent, without "?"
    headers: CIMultiDict
    body: bytes = b""
    form: list[tuple[str, str]] = field(default_factory=list)  # urlencoded body params, if any

    @classmethod
    def from_parts(cls, method: str, raw_path_qs: str, headers, body: bytes = b"") -> "SignedRequest":
        path, _, query = raw_path_qs.partition("?")
        form: list[tuple[str, str]] = []
        ctype = headers.get("Content-Type", "")
        if method == "POST" and ctype.startswith("application/x-www-form-urlencoded") and body:
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return cls(method.upper(), path or "/", query, CIMultiDict(headers), body, form)

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query string's parameters, percent-decoded ('+' stays a plus sign)."""
        pairs = []
        for part in self.raw_query.split("&") if self.raw_query else []:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
        return pairs

    def params(self) -> dict[str, str]:
        """Query and form parameters together (form wins), as the query protocols read them."""
        merged = dict(self.query_pairs())
        merged.update(self.form)
        return merged

    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

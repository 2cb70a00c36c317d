"""The HTTP request and response as the protocol layer sees them, free of any web framework.

The server adapts its own request object into an :class:`HttpRequest` and sends an
:class:`HttpResponse` back; parsers and serializers never see aiohttp.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from multidict import CIMultiDict

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass
class HttpRequest:
    """One HTTP request.

    ``path`` is the raw path, percent-encoded as received (no query string); ``query`` holds the
    decoded query parameters in order, blank values kept (``?uploads`` gives ``("uploads", "")``);
    ``headers`` is case-insensitive.
    """
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: CIMultiDict = field(default_factory=CIMultiDict)
    body: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CIMultiDict):
            self.headers = CIMultiDict(self.headers or {})
        self.method = self.method.upper()

    @classmethod
    def from_url(cls, method: str, url_path_and_query: str, headers: Any = None,
                 body: bytes = b"") -> "HttpRequest":
        """Build a request from ``/path?query`` as it appears on the request line."""
        path, _, raw_query = url_path_and_query.partition("?")
        return cls(method, path or "/", parse_query(raw_query), CIMultiDict(headers or {}), body)

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters such as charset."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)

    def form(self) -> list[tuple[str, str]]:
        """Query parameters followed by those of a form-encoded body, in order.

        The body counts as a form when its Content-Type says so, or when a POST carries no
        Content-Type at all (some old query clients omit it).
        """
        params = list(self.query)
        ctype = self.content_type
        if self.body and (ctype == FORM_CONTENT_TYPE or (not ctype and self.method == "POST")):
            params.extend(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return params


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string; ``a&b=`` gives ``[("a", ""), ("b", "")]``."""
    if not raw_query:
        return []
    return parse_qsl(raw_query, keep_blank_values=True)


@dataclass
class HttpResponse:
    """One HTTP response.

    ``body`` holds the whole document. A streamed body (an object download) is carried in
    ``stream`` instead: any file object or iterable of bytes, which the server sends after the
    headers; ``body`` is then empty.
    """
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Any = None

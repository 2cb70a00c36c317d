"""Where a request names its bucket: the path, or the Host header (virtual-hosted style).

Three forms reach the same handlers:

* ``/services/objectstorage/bucket/key`` (Eucalyptus' service path; ``/services/Walrus`` too),
* ``/bucket/key`` (path style at the root),
* ``Host: bucket.<domain>`` + ``/key`` (virtual-hosted style), where ``<domain>`` is one of
  the configured S3 domains (``S3_DOMAIN``, e.g. ``s3.localhost``) or the host of S3_URL.

``locate`` returns the request path rewritten to path style (``/bucket/key``, still
percent-encoded) which the rest-xml router understands.
"""
from __future__ import annotations

from dataclasses import dataclass

SERVICE_PREFIXES = ("/services/objectstorage", "/services/Walrus")


@dataclass(frozen=True)
class Located:
    path: str            # path-style path, percent-encoded
    bucket: str | None   # bucket named by the Host header, if any


def host_bucket(host: str, domains: tuple[str, ...]) -> str | None:
    """The bucket named by ``host`` (port ignored) under one of ``domains``, else None."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip().rstrip(".").lower()
    for domain in domains:
        if name.endswith("." + domain):
            bucket = name[: -len(domain) - 1]
            if bucket:
                return bucket
    return None


def locate(host: str, raw_path: str, domains: tuple[str, ...]) -> Located:
    path = raw_path or "/"
    for prefix in SERVICE_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix):] or "/"
            break
    bucket = host_bucket(host, domains)
    if bucket is not None:
        return Located("/" + bucket + (path if path.startswith("/") else "/" + path), bucket)
    return Located(path, None)

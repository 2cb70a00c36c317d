"""Object checksums: MD5 (the ETag, Content-MD5) and the additional x-amz-checksum-* ones.

Algorithms: CRC32, CRC32C, SHA1, SHA256 (values are base64 of the big-endian digest, as S3
sends them). ``Expectation.from_params`` reads what a request asks for: the algorithm
(``x-amz-sdk-checksum-algorithm`` / ``x-amz-checksum-algorithm``), a value in a header, or a
value promised in the trailer (``x-amz-trailer``). ``Digests`` computes MD5 and the chosen
checksum while bytes stream by; ``Digests.verify`` raises S3's errors on a mismatch.
Multipart objects carry a composite checksum: the checksum of the parts' binary checksums,
suffixed ``-N``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

import crc32c as _crc32c

from eucalyptus.services.s3.errors import bad_digest, invalid_digest, invalid_request

ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256")
MEMBERS = {"CRC32": "ChecksumCRC32", "CRC32C": "ChecksumCRC32C", "SHA1": "ChecksumSHA1",
           "SHA256": "ChecksumSHA256"}
PARAMS = {"CRC32": "checksum_crc32", "CRC32C": "checksum_crc32_c", "SHA1": "checksum_sha1",
          "SHA256": "checksum_sha256"}
HEADERS = {"CRC32": "x-amz-checksum-crc32", "CRC32C": "x-amz-checksum-crc32c",
           "SHA1": "x-amz-checksum-sha1", "SHA256": "x-amz-checksum-sha256"}
UNSUPPORTED = ("checksum_crc64_nvme", "checksum_sha512", "checksum_md5", "checksum_xxhash64",
               "checksum_xxhash3", "checksum_xxhash128")


class _Crc:
    def __init__(self, fn):
        self.fn = fn
        self.value = 0

    def update(self, data) -> None:
        self.value = self.fn(data, self.value)

    def digest(self) -> bytes:
        return (self.value & 0xFFFFFFFF).to_bytes(4, "big")


def hasher(algorithm: str) -> Any:
    """A new incremental hasher (``update``/``digest``) for ``algorithm``."""
    if algorithm == "CRC32":
        return _Crc(zlib.crc32)
    if algorithm == "CRC32C":
        return _Crc(_crc32c.crc32c)
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "SHA256":
        return hashlib.sha256()
    raise invalid_request(f"Checksum algorithm {algorithm} is not supported.")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def of_bytes(algorithm: str, data: bytes) -> str:
    h = hasher(algorithm)
    h.update(data)
    return b64(h.digest())


def composite(algorithm: str, part_checksums: list[str]) -> str:
    """The multipart checksum: checksum of the parts' raw checksums, then ``-<parts>``."""
    h = hasher(algorithm)
    for value in part_checksums:
        h.update(base64.b64decode(value))
    return f"{b64(h.digest())}-{len(part_checksums)}"


def normalize_algorithm(name: str | None) -> str | None:
    if not name:
        return None
    upper = name.upper()
    if upper not in ALGORITHMS:
        raise invalid_request(f"Checksum algorithm {name} is not supported.") if upper in (
            "CRC64NVME", "SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128") else \
            invalid_request("Value for x-amz-checksum-algorithm header is invalid.")
    return upper


@dataclass
class Expectation:
    """What the client asked to be checked: algorithm, and the value (header or trailer)."""
    algorithm: str | None = None
    value: str | None = None
    trailer: str | None = None          # header name whose value arrives in the trailer

    @classmethod
    def from_params(cls, params: Mapping[str, Any], trailer_header: str | None = None,
                    default: str | None = None) -> "Expectation":
        for name in UNSUPPORTED:
            if params.get(name):
                raise invalid_request(f"{name.replace('checksum_', '').upper()} checksums are "
                                      "not supported.")
        given = [(alg, params[PARAMS[alg]]) for alg in ALGORITHMS if params.get(PARAMS[alg])]
        if len(given) > 1:
            raise invalid_request("Expecting a single x-amz-checksum- header. Multiple "
                                  "checksum Types are not allowed.")
        algorithm = normalize_algorithm(params.get("checksum_algorithm"))
        trailer = None
        if trailer_header:
            names = [n.strip().lower() for n in trailer_header.split(",") if n.strip()]
            for name in names:
                found = [alg for alg, header in HEADERS.items() if header == name]
                if not found:
                    raise invalid_request(f"The value specified in the x-amz-trailer header "
                                          f"is not supported: {name}")
                trailer = name
                algorithm = algorithm or found[0]
                if algorithm != found[0]:
                    raise invalid_request("Value for x-amz-sdk-checksum-algorithm header is "
                                          "invalid.")
        if given:
            alg, value = given[0]
            if algorithm and algorithm != alg:
                raise invalid_request("Value for x-amz-sdk-checksum-algorithm header is "
                                      "invalid.")
            return cls(alg, value, None)
        return cls(algorithm or default, None, trailer)


class Digests:
    """MD5 and (optionally) one additional checksum, fed as the bytes stream by."""

    def __init__(self, algorithm: str | None = None):
        self.md5 = hashlib.md5()
        self.algorithm = algorithm
        self.extra = hasher(algorithm) if algorithm else None

    def update(self, data) -> None:
        self.md5.update(data)
        if self.extra is not None:
            self.extra.update(data)

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    @property
    def checksum(self) -> str | None:
        return b64(self.extra.digest()) if self.extra is not None else None

    def verify(self, content_md5: str | None, expected: Expectation,
               trailers: Mapping[str, str]) -> None:
        """BadDigest/InvalidDigest when the body does not match what the client declared."""
        if content_md5 is not None:
            try:
                wanted = base64.b64decode(content_md5, validate=True)
            except (binascii.Error, ValueError):
                raise invalid_digest() from None
            if len(wanted) != 16:
                raise invalid_digest()
            if wanted != self.md5.digest():
                raise bad_digest()
        value = expected.value
        if expected.trailer:
            value = trailers.get(expected.trailer)
            if value is None:
                raise invalid_request(f"The trailing header {expected.trailer} was announced "
                                      "but not sent.")
        if value is not None and value != self.checksum:
            raise bad_digest(f"The {expected.algorithm} you specified did not match the "
                             "calculated checksum.")


def validate_content_md5(content_md5: str | None) -> None:
    """InvalidDigest for a Content-MD5 that is not base64 of 16 bytes (checked up front)."""
    if content_md5 is None:
        return
    try:
        raw = base64.b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_digest() from None
    if len(raw) != 16:
        raise invalid_digest()


def output_members(algorithm: str | None, value: str | None,
                   checksum_type: str | None = None) -> dict[str, str]:
    """The response members (ChecksumCRC32=..., ChecksumType=...) for a stored checksum."""
    if not algorithm or not value:
        return {}
    out = {MEMBERS[algorithm]: value}
    out["ChecksumType"] = checksum_type or ("COMPOSITE" if "-" in value else "FULL_OBJECT")
    return out

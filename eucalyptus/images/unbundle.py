"""Opening a bundle: verified parts -> the original image bytes, or nothing at all.

Each part is read whole (at most one part, 10 MiB, is held at a time), its SHA-1 checked
against the manifest *before* it is used, then decrypted (AES-128-CBC), gunzipped and untarred
as one stream. The tar stream's SHA-1 must equal the manifest's digest and the image its size.
The image is written to a temporary file beside the target and renamed into place only when
every check passed, so a tampered or missing part leaves no file behind::

    aes_key, iv = manifest.bundle_key(user_key, man, "user")      # or the cloud's key, "ec2"
    unbundle(man, directory_parts(Path("bundle-dir")), aes_key, iv, Path("disk.img"))

``parts`` is a function ``Part -> bytes`` so the bytes may come from a directory, Walrus or
anywhere else.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
import zlib
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from eucalyptus.images import manifest as mf
from eucalyptus.images.progress import Reporter

PartSource = Callable[[mf.Part], bytes]
CHUNK = 1024 * 1024


class BundleError(Exception):
    """A bundle that does not open: a part missing or altered, a wrong key, a bad digest."""


def directory_parts(directory: Path) -> PartSource:
    """Parts read from files named as the manifest names them, in ``directory``."""
    def read(part: mf.Part) -> bytes:
        path = Path(directory) / part.filename
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BundleError(f"part {part.filename} is missing from {directory}") from None
    return read


def check_part(part: mf.Part, data: bytes) -> None:
    """Raise BundleError unless ``data`` has the part's SHA-1."""
    if hashlib.sha1(data).hexdigest() != part.digest:
        raise BundleError(f"part {part.filename} does not match its digest in the manifest "
                          "(corrupted or altered)")


class _PlainStream:
    """The decrypted, decompressed tar stream, pulled part by part; hashes what it yields."""

    def __init__(self, man: mf.Manifest, parts: PartSource, key: bytes, iv: bytes,
                 advance: Callable[[int], None]):
        self._parts = iter(man.parts)
        self._source = parts
        self._dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpad = sym_padding.PKCS7(128).unpadder()
        self._gunzip = zlib.decompressobj(wbits=31)
        self._buffer = bytearray()
        self._ended = False
        self._advance = advance
        self.sha1 = hashlib.sha1()

    def _feed(self) -> bool:
        part = next(self._parts, None)
        if part is None:
            if not self._ended:
                self._ended = True
                try:
                    tail = self._unpad.update(self._dec.finalize()) + self._unpad.finalize()
                except ValueError:
                    raise BundleError("the bundle does not decrypt with this key "
                                      "(bad padding)") from None
                self._inflate(tail)
                if not self._gunzip.eof:
                    raise BundleError("the bundle's compressed stream is truncated")
                return True
            return False
        data = self._source(part)
        check_part(part, data)
        self._advance(len(data))
        self._inflate(self._unpad.update(self._dec.update(data)))
        return True

    def _inflate(self, data: bytes) -> None:
        try:
            out = self._gunzip.decompress(data) if not self._gunzip.eof else b""
        except zlib.error:
            raise BundleError("the bundle does not decrypt with this key "
                              "(the data is not a gzip stream)") from None
        self._buffer += out

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self._buffer) < n) and self._feed():
            pass
        if n < 0:
            n = len(self._buffer)
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        self.sha1.update(out)
        return out

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def unbundle(man: mf.Manifest, parts: PartSource, key: bytes, iv: bytes, target: Path,
             progress: Reporter | None = None) -> Path:
    """Write the bundle's image to ``target`` (a file path); BundleError on any mismatch."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.unbundling")
    progress = progress or Reporter()
    try:
        with progress.task(f"unbundling {man.image_name}", man.bundled_size) as advance:
            stream = _PlainStream(man, parts, key, iv, advance)
            try:
                with tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as tar:
                    member = tar.next()
                    if member is None or not member.isfile():
                        raise BundleError("the bundle holds no image file")
                    if member.size != man.size:
                        raise BundleError(f"the image is {member.size} bytes, the manifest "
                                          f"says {man.size}")
                    src = tar.extractfile(member)
                    with open(tmp, "wb") as out:
                        while chunk := src.read(CHUNK):
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
            except tarfile.TarError as exc:
                raise BundleError(f"the bundle's tar stream is damaged: {exc}") from None
            stream.drain()
        if stream.sha1.hexdigest() != man.digest:
            raise BundleError("the image does not match the manifest's digest")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target

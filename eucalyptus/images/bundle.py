"""Making a bundle: an image file -> encrypted 10 MiB parts and a signed manifest.

The image is streamed once, never held in memory: tar (one member, the image's base name) ->
SHA-1 of the tar stream (the manifest's digest) -> gzip -> AES-128-CBC with a random key and
IV (PKCS#7 padding, as ``openssl enc``) -> parts ``<prefix>.part.NN`` of ``PART_SIZE`` bytes,
each with its own SHA-1. The key and IV (as hex text) are encrypted for the cloud's
certificate and for the user's, and the manifest is signed with the user's key::

    result = make_bundle(BundleRequest(image=Path("disk.img"), destination=Path("out"),
                                       cloud_cert=cloud, user_cert=cert, user_key=key,
                                       account="123456789012"))
    result.manifest_path     # out/disk.img.manifest.xml, beside out/disk.img.part.00 ...

A failure removes every part and the manifest this call wrote.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from eucalyptus.images import manifest as mf
from eucalyptus.images.progress import Advance, Reporter

PART_SIZE = 10 * 1024 * 1024
CHUNK = 1024 * 1024
DEFAULT_COMPRESSION = 3


@dataclass
class BundleRequest:
    image: Path
    destination: Path
    cloud_cert: x509.Certificate
    user_cert: x509.Certificate
    user_key: rsa.RSAPrivateKey
    account: str = ""
    prefix: str | None = None                  # defaults to the image's file name
    image_type: str = "machine"                # machine | kernel | ramdisk
    architecture: str = "x86_64"
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    block_device_mapping: dict[str, str] = field(default_factory=dict)
    part_size: int = PART_SIZE
    compression: int = DEFAULT_COMPRESSION


@dataclass
class BundleResult:
    manifest_path: Path
    part_paths: list[Path]
    manifest: mf.Manifest


class _PartWriter:
    """Splits the encrypted stream into part files and hashes each one."""

    def __init__(self, directory: Path, prefix: str, part_size: int):
        self.directory, self.prefix, self.part_size = directory, prefix, part_size
        self.paths: list[Path] = []
        self.parts: list[mf.Part] = []
        self.total = 0
        self._file = None
        self._hash = None
        self._used = 0

    def _open(self) -> None:
        name = f"{self.prefix}.part.{len(self.paths):02d}"
        path = self.directory / name
        self.paths.append(path)
        self._file = open(path, "wb")
        self._hash = hashlib.sha1()
        self._used = 0

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self.parts.append(mf.Part(self.paths[-1].name, self._hash.hexdigest()))
            self._file = None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._file is None or self._used == self.part_size:
                self._close()
                self._open()
            take = view[:self.part_size - self._used]
            self._file.write(take)
            self._hash.update(take)
            self._used += len(take)
            self.total += len(take)
            view = view[len(take):]

    def finish(self) -> None:
        if self._file is None and not self.paths:
            self._open()         # an empty stream still makes one (empty) part
        self._close()

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for path in self.paths:
            path.unlink(missing_ok=True)


class _Encryptor:
    """AES-128-CBC with PKCS#7 padding over a stream, feeding ``sink``."""

    def __init__(self, key: bytes, iv: bytes, sink: _PartWriter):
        self._enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        self._pad = sym_padding.PKCS7(128).padder()
        self.sink = sink

    def write(self, data: bytes) -> int:
        self.sink.write(self._enc.update(self._pad.update(bytes(data))))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.sink.write(self._enc.update(self._pad.finalize()) + self._enc.finalize())


class _Digest:
    """Hashes the tar stream on its way into gzip."""

    def __init__(self, sink):
        self.sha1 = hashlib.sha1()
        self.sink = sink

    def write(self, data: bytes) -> int:
        self.sha1.update(data)
        self.sink.write(data)
        return len(data)

    def tell(self) -> int:  # tarfile's stream mode does not seek, but may ask
        return 0


class _CountingReader:
    def __init__(self, f, advance: Advance):
        self.f, self.advance = f, advance

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n if n and n > 0 else CHUNK)
        self.advance(len(data))
        return data


def make_bundle(req: BundleRequest, progress: Reporter | None = None) -> BundleResult:
    """Bundle ``req.image`` into ``req.destination``; see the module docstring."""
    if req.image_type not in mf.IMAGE_TYPES:
        raise ValueError(f"image type must be one of {', '.join(mf.IMAGE_TYPES)}")
    image = Path(req.image)
    size = image.stat().st_size
    prefix = req.prefix or image.name
    destination = Path(req.destination)
    destination.mkdir(parents=True, exist_ok=True)
    key, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    parts = _PartWriter(destination, prefix, req.part_size)
    manifest_path = destination / f"{prefix}.manifest.xml"
    progress = progress or Reporter()
    try:
        encryptor = _Encryptor(key, iv, parts)
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=encryptor,
                           compresslevel=req.compression, mtime=0)
        digest = _Digest(gz)
        with progress.task(f"bundling {image.name}", size) as advance:
            with tarfile.open(fileobj=digest, mode="w|", format=tarfile.GNU_FORMAT,
                              bufsize=CHUNK, copybufsize=CHUNK) as tar, open(image, "rb") as src:
                info = tarfile.TarInfo(image.name)
                info.size = size
                info.mode = 0o644
                info.mtime = int(image.stat().st_mtime)
                tar.addfile(info, _CountingReader(src, advance))
        gz.close()
        encryptor.close()
        parts.finish()
        man = mf.Manifest(
            image_name=image.name, image_type=req.image_type, architecture=req.architecture,
            account=req.account, size=size, bundled_size=parts.total,
            digest=digest.sha1.hexdigest(),
            ec2_encrypted_key=mf.encrypt_for(req.cloud_cert, key.hex().encode()),
            ec2_encrypted_iv=mf.encrypt_for(req.cloud_cert, iv.hex().encode()),
            user_encrypted_key=mf.encrypt_for(req.user_cert, key.hex().encode()),
            user_encrypted_iv=mf.encrypt_for(req.user_cert, iv.hex().encode()),
            parts=parts.parts, kernel_id=req.kernel_id, ramdisk_id=req.ramdisk_id,
            block_device_mapping=req.block_device_mapping or {"ami": "sda1",
                                                              "root": "/dev/sda1"})
        man.sign(req.user_key)
        tmp = manifest_path.with_name(manifest_path.name + ".tmp")
        tmp.write_text(man.to_xml())
        os.replace(tmp, manifest_path)
    except BaseException:
        parts.discard()
        manifest_path.with_name(manifest_path.name + ".tmp").unlink(missing_ok=True)
        raise
    return BundleResult(manifest_path, parts.paths, man)

"""The node's side of image delivery: bundles fetched from Walrus into the image cache.

    POST /internal/node/images/key    -> NodeImageKey     the node's RSA public key (PEM)
    POST /internal/node/images/fetch  ImageSource -> FetchedImage

The cloud controller never hands a node a bundle's key in the clear: it opens the manifest's
key with the cloud's private key and encrypts the AES key and IV again (RSA-OAEP, SHA-256)
for the node's own key (``DIR/keys/nc-images.pem``, made on first use). The parts come
through presigned S3 URLs. Each part's SHA-1 is checked before it is decrypted and the whole
image's digest after (``images.unbundle``), so a tampered or missing part fails the fetch
with a message naming it, and nothing enters the cache. Fetches of one image are serialised;
a cached image is returned at once.

A full disk registered from a plain object comes without a manifest: one presigned URL, and
the object's size and ETag as the cloud recorded them. The download is sent with
``If-Match: <ETag>``, its length must equal the size and, when the ETag is a plain MD5 (not a
multipart one), its MD5 the ETag. Whatever the source, a qcow2 image naming a backing file
or an external data file is refused and dropped from the cache (``images.disk_format``).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from eucalyptus import errors
from eucalyptus.images import disk_format
from eucalyptus.images import manifest as mf
from eucalyptus.images.unbundle import BundleError, unbundle
from eucalyptus.nc.image_cache import ImageCache

KEY_FILE = "nc-images.pem"
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(),
                    label=None)


@dataclass
class ImageSource:
    """One image to fetch: its manifest text, a presigned URL per part (manifest order) and
    ``encrypted_key`` = base64(RSA-OAEP(node key, AES key + IV)). ``cache_key`` (64 hex
    digits) names it in the cache. A plain disk object has ``manifest`` "", one URL, and the
    ``size`` and ``etag`` to check."""
    image_id: str
    cache_key: str
    manifest: str
    part_urls: list[str]
    encrypted_key: str
    size: int = 0
    etag: str = ""


@dataclass
class FetchedImage:
    image_id: str
    path: str
    size: int
    cached: bool          # True when it was already in the cache
    format: str = "raw"   # qcow2 when the file carries QEMU's magic


@dataclass
class NodeImageKey:
    public_key_pem: str


def load_or_make_key(path: Path) -> rsa.RSAPrivateKey:
    """The node's image key at ``path``, made (mode 0600) when absent."""
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        pass
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.replace(tmp, path)
    return key


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def seal_for_node(public_key_pem: str, aes_key: bytes, iv: bytes) -> str:
    """What the cloud controller sends: the bundle key sealed for one node."""
    public = serialization.load_pem_public_key(public_key_pem.encode())
    return base64.b64encode(public.encrypt(aes_key + iv, OAEP)).decode()


def _url_parts(urls: dict[str, str], timeout: float):
    def read(part: mf.Part) -> bytes:
        url = urls.get(part.filename)
        if url is None:
            raise BundleError(f"no URL for part {part.filename}")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise BundleError(f"part {part.filename}: HTTP {exc.code} from Walrus") from None
        except (urllib.error.URLError, OSError) as exc:
            raise BundleError(f"part {part.filename}: {exc}") from None
    return read


_MD5 = re.compile(r"[0-9a-f]{32}")


def download_object(url: str, target: Path, size: int, etag: str, timeout: float) -> None:
    """Stream ``url`` into ``target``; BundleError when it is not the object recorded."""
    request = urllib.request.Request(url, headers={"If-Match": f'"{etag}"'} if etag else {})
    md5, got = hashlib.md5(), 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, \
                open(target, "wb") as out:
            while block := response.read(1 << 20):
                md5.update(block)
                got += len(block)
                if got > size:
                    raise BundleError(f"the object is larger than the {size} bytes registered")
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except urllib.error.HTTPError as exc:
        why = "it changed since registration" if exc.code == 412 else f"HTTP {exc.code}"
        raise BundleError(f"the disk object cannot be read: {why}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise BundleError(f"the disk object cannot be read: {exc}") from None
    if got != size:
        raise BundleError(f"the object has {got} bytes, {size} were registered")
    if _MD5.fullmatch(etag or "") and md5.hexdigest() != etag:
        raise BundleError("the object does not match its recorded MD5 (ETag)")


class ImageFetcher:
    def __init__(self, key_path: Path, cache: ImageCache, timeout: float = 120.0):
        self.key = load_or_make_key(key_path)
        self.cache = cache
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}

    def _open_key(self, sealed: str) -> tuple[bytes, bytes]:
        try:
            plain = self.key.decrypt(base64.b64decode(sealed), OAEP)
        except (ValueError, TypeError):
            raise errors.InvalidParameterValue(
                "the image key was not sealed for this node") from None
        if len(plain) != 32:
            raise errors.InvalidParameterValue("the image key is not an AES-128 key and IV")
        return plain[:16], plain[16:]

    def _fetch_object(self, source: ImageSource) -> Path:
        if len(source.part_urls) != 1 or source.size <= 0:
            raise errors.InvalidParameterValue(
                f"image {source.image_id}: a disk object needs one URL and its size")
        return self._cached(source, lambda target: download_object(
            source.part_urls[0], target, source.size, source.etag, self.timeout))

    def _fetch(self, source: ImageSource) -> Path:
        if not source.manifest:
            return self._fetch_object(source)
        try:
            man = mf.parse(source.manifest)
        except mf.ManifestError as exc:
            raise errors.InvalidParameterValue(f"image {source.image_id}: {exc}") from None
        aes_key, iv = self._open_key(source.encrypted_key)
        if len(source.part_urls) != len(man.parts):
            raise errors.InvalidParameterValue(
                f"image {source.image_id}: {len(man.parts)} parts, "
                f"{len(source.part_urls)} URLs")
        urls = {p.filename: u for p, u in zip(man.parts, source.part_urls)}
        return self._cached(source, lambda target: unbundle(
            man, _url_parts(urls, self.timeout), aes_key, iv, target))

    def _cached(self, source: ImageSource, write) -> Path:
        """``write(target)`` fills a new temporary file of the cache, which then becomes the
        cache's entry of ``source``; a BundleError (the image failed verification) is an
        InternalError, and the temporary file is removed on any failure."""
        target = self.cache.temp_file()
        try:
            write(target)
        except BundleError as exc:
            target.unlink(missing_ok=True)
            raise errors.ServerError("InternalError",
                                     f"image {source.image_id} failed verification: {exc}"
                                     ) from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return self.cache.put(source.cache_key, target, verify=False)

    async def fetch(self, source: ImageSource) -> FetchedImage:
        """The image's file in the cache, fetched and verified first when absent."""
        lock = self._locks.setdefault(source.cache_key, asyncio.Lock())
        async with lock:
            try:
                path = self.cache.get(source.cache_key)
            except ValueError as exc:
                raise errors.InvalidParameterValue(str(exc)) from None
            cached = path is not None
            if path is None:
                path = await asyncio.to_thread(self._fetch, source)
        with open(path, "rb") as f:
            header = f.read(disk_format.HEADER_BYTES)
        unsafe = disk_format.unsafe_qcow2(header)
        if unsafe:
            self.cache.evict(source.cache_key)
            raise errors.InvalidParameterValue(f"image {source.image_id}: {unsafe}")
        fmt = disk_format.disk_format(header)
        return FetchedImage(source.image_id, str(path), path.stat().st_size, cached, fmt)

    def add_routes(self, routes, callers: set[str]) -> None:
        async def key(_msg: None, _caller: str) -> NodeImageKey:
            return NodeImageKey(public_pem(self.key))

        async def fetch(msg: ImageSource, _caller: str) -> FetchedImage:
            return await self.fetch(msg)

        routes.add("POST", "node/images/key", key, callers=callers)
        routes.add("POST", "node/images/fetch", fetch, ImageSource, callers=callers)

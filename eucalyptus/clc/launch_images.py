"""What the cloud controller gives a cluster so its nodes can fetch an instance's images.

For each image an instance boots (kernel + ramdisk, or a whole disk) ``image_refs`` reads the
bundle's manifest from Walrus as the cloud administrator (bundles are uploaded with the
``aws-exec-read`` ACL, which grants the cloud's account READ), opens the bundle key with the
cloud's private key, seals it again for every node that may run the instance
(``nc.image_fetch.seal_for_node``) and presigns a GET URL for each part. A manifest whose image
digest differs from the one recorded at registration (replaced in Walrus since) is refused.
Manifests are cached per image and location for the life of the process.

A full disk registered from a plain object is delivered as one presigned GET URL with the
object's size and ETag recorded at registration (``ImageRef.size``/``etag``, no manifest and
nothing sealed): the node checks both, so an object replaced since registration fails the
launch.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

from eucalyptus.cc.instance_messages import ImageRef
from eucalyptus.db.images import Image
from eucalyptus.errors import ClientError, InternalError
from eucalyptus.images import manifest as mf
from eucalyptus.images.object_reader import ObjectForbidden, ObjectMissing, PresignedReader
from eucalyptus.nc.image_fetch import seal_for_node

CLOUD_ACCOUNT, CLOUD_USER = "eucalyptus", "admin"
_MANIFESTS: OrderedDict[tuple[str, str], tuple[str, mf.Manifest]] = OrderedDict()
_CACHE_SIZE = 64


def _admin_reader(ctx) -> PresignedReader:
    from eucalyptus.services.iam import identity
    creds = identity.credentials_for(ctx.db, CLOUD_ACCOUNT, CLOUD_USER)
    return PresignedReader(ctx.settings.service_urls()["s3"], ctx.region or "eucalyptus",
                           creds.access_key_id, creds.secret)


def _unavailable(image: Image, why: str) -> ClientError:
    return ClientError("InvalidAMIID.Unavailable",
                       f"The image id '[{image.id}]' cannot be launched: {why}")


async def _manifest(reader: PresignedReader, image: Image) -> tuple[str, mf.Manifest]:
    cached = _MANIFESTS.get((image.id, image.location))
    if cached is not None:
        _MANIFESTS.move_to_end((image.id, image.location))
        return cached
    bucket, _, key = image.location.partition("/")
    try:
        raw = await reader.get(bucket, key)
        man = mf.parse(raw)
    except (ObjectMissing, ObjectForbidden) as exc:
        raise _unavailable(image, f"its manifest cannot be read ({exc})") from None
    except mf.ManifestError as exc:
        raise _unavailable(image, f"its manifest is not usable ({exc})") from None
    text = raw.decode() if isinstance(raw, bytes) else raw
    _MANIFESTS[(image.id, image.location)] = (text, man)
    while len(_MANIFESTS) > _CACHE_SIZE:
        _MANIFESTS.popitem(last=False)
    return text, man


async def image_refs(ctx, boots: list[tuple[str, Image]],
                     node_keys: dict[str, str]) -> list[ImageRef]:
    """One ``ImageRef`` per (role, image) in ``boots``, sealed for every node in
    ``node_keys``; InvalidAMIID.Unavailable when an image cannot be delivered."""
    from eucalyptus.services.ec2.images import cloud_key
    reader = _admin_reader(ctx)
    refs = []
    for role, image in boots:
        if image.source == "object":
            refs.append(_object_ref(reader, role, image, node_keys))
            continue
        if image.source != "bundle":
            raise _unavailable(image, f"unknown image source {image.source!r}")
        text, man = await _manifest(reader, image)
        if image.digest and man.digest != image.digest:
            raise _unavailable(image, "its manifest changed since it was registered")
        try:
            aes_key, iv = mf.bundle_key(cloud_key(ctx), man, "ec2")
        except mf.ManifestError as exc:
            raise _unavailable(image, str(exc)) from None
        prefix = image.location.rsplit("/", 1)[0] + "/" if "/" in image.location else ""
        bucket, _, key_prefix = prefix.partition("/")
        urls = [reader.url("GET", bucket, key_prefix + part.filename) for part in man.parts]
        sealed = {}
        for node, pem in node_keys.items():
            try:
                sealed[node] = seal_for_node(pem, aes_key, iv)
            except (ValueError, TypeError) as exc:
                raise InternalError(f"bad image key of node {node}: {exc}") from None
        cache_key = hashlib.sha256(f"{image.id}:{man.digest}".encode()).hexdigest()
        refs.append(ImageRef(role, image.id, cache_key, text, urls, sealed))
    return refs


def _object_ref(reader: PresignedReader, role: str, image: Image,
                node_keys: dict[str, str]) -> ImageRef:
    bucket, _, key = image.location.partition("/")
    cache_key = hashlib.sha256(
        f"{image.id}:object:{image.digest}:{image.size_bytes}".encode()).hexdigest()
    return ImageRef(role, image.id, cache_key, "", [reader.url("GET", bucket, key)],
                    {node: "" for node in node_keys}, size=image.size_bytes, etag=image.digest)

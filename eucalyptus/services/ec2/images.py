"""Machine images: RegisterImage, DescribeImages, DeregisterImage.

An image is registered from a bundle manifest in Walrus (``bucket/prefix.manifest.xml``) or
from a plain object holding a full disk (raw or qcow2, told apart by qcow2's magic). The
manifest is read from Walrus as the caller (see ``eucalyptus.images.object_reader``): a missing
object is InvalidManifest, one the caller may not read AuthFailure, and a bundle whose key the
cloud cannot open (bundled for another cloud's certificate) InvalidManifest. The manifest's
signature (RSA-SHA1 over its machine_configuration and image elements, which hold the image
and part digests) must verify with an active IAM signing certificate of a user of the caller's
account, or with the cloud's own key (images the cloud bundles itself); otherwise
InvalidManifest. A disk object's size and ETag are recorded, and the node checks both when it
fetches the object; a qcow2 object naming a backing or data file is refused. A machine image
without a kernel boots as a full disk with the BIOS (virtualization type hvm).

DeregisterImage marks the image deregistered (launch permissions go): it vanishes from
DescribeImages and every other call (InvalidAMIID.NotFound), a launch of it is
InvalidAMIID.Unavailable, instances already running are untouched, and its name is free again. The id's prefix follows the image type: emi-
(machine), eki- (kernel), eri- (ramdisk); ami-/aki-/ari- are accepted as aliases on input.

Visibility: an image is seen and launched by its owner, by accounts given a launch permission,
and by everyone when public. For anyone else it does not exist (InvalidAMIID.NotFound);
changing an image one may see but does not own is AuthFailure. ``launchable_image`` is what the
instance launcher calls. Attributes (launch permissions, description) are in
``image_attributes``.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy import or_, select

from eucalyptus import ids
from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.db.images import Image, ImageLaunchPermission
from eucalyptus.db.schema import Account, CloudProperty
from eucalyptus.errors import (AuthFailure, ClientError, InvalidParameterCombination,
                               InvalidParameterValue, MissingParameter)
from eucalyptus.images import certificates, disk_format
from eucalyptus.images import manifest as mf
from eucalyptus.images.object_reader import ObjectForbidden, ObjectMissing, PresignedReader

CLOUD_ACCOUNT = "eucalyptus"        # its images carry the owner alias "eucalyptus"
OWNER_ALIASES = ("amazon", "eucalyptus", "system")
ID_KIND = {"machine": "image", "kernel": "kernel", "ramdisk": "ramdisk"}
ARCHITECTURES = ("i386", "x86_64", "arm64")
PUBLIC_PROPERTY = "cloud.images.public_by_default"
_ID = re.compile(r"(emi|eki|eri|ami|aki|ari)-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_NAME = re.compile(r"[A-Za-z0-9()\[\] ./'@_-]{3,128}")
_ALIAS = {"ami": "emi", "aki": "eki", "ari": "eri"}


def _created(item: dict) -> str:
    return item["CreationDate"]


IMAGE_FILTERS: filter_engine.FilterTable = {
    "architecture": "Architecture",
    "block-device-mapping.device-name": "BlockDeviceMappings.DeviceName",
    "creation-date": _created,
    "description": "Description",
    "hypervisor": "Hypervisor",
    "image-id": "ImageId",
    "image-type": "ImageType",
    "is-public": "Public",
    "kernel-id": "KernelId",
    "manifest-location": "ImageLocation",
    "name": "Name",
    "owner-alias": "ImageOwnerAlias",
    "owner-id": "OwnerId",
    "platform": "Platform",
    "platform-details": "PlatformDetails",
    "product-code": "ProductCodes.ProductCodeId",
    "ramdisk-id": "RamdiskId",
    "root-device-name": "RootDeviceName",
    "root-device-type": "RootDeviceType",
    "state": "State",
    "virtualization-type": "VirtualizationType",
    **filter_engine.TAG_FILTERS,
}


# -- ids and lookups --------------------------------------------------------------------------

def normalize_id(image_id: str) -> str:
    """``image_id`` with an AWS prefix turned into Eucalyptus'; InvalidAMIID.Malformed when
    it is not an image id at all."""
    if not isinstance(image_id, str) or not _ID.fullmatch(image_id):
        raise ClientError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}"')
    prefix, rest = image_id.split("-", 1)
    return f"{_ALIAS.get(prefix, prefix)}-{rest}"


def _not_found(image_id: str) -> ClientError:
    return ClientError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")


def visible_clause(account_id: str):
    """SQL condition: the image is visible to (launchable by) ``account_id``."""
    shared = select(ImageLaunchPermission.image_id).where(
        ImageLaunchPermission.account_id == account_id)
    return or_(Image.account_id == account_id, Image.is_public.is_(True), Image.id.in_(shared))


def visible_image(session, account_id: str, image_id: str,
                  include_deregistered: bool = False) -> Image:
    """The image if ``account_id`` may see it; InvalidAMIID.Malformed/NotFound otherwise (also
    for a deregistered image unless ``include_deregistered``)."""
    wanted = normalize_id(image_id)
    row = session.scalar(select(Image).where(Image.id == wanted, visible_clause(account_id)))
    if row is None or (row.state == "deregistered" and not include_deregistered):
        raise _not_found(image_id)
    return row


def owned_image(session, account_id: str, image_id: str) -> Image:
    """The image if ``account_id`` owns it; NotFound when invisible, AuthFailure when seen but
    owned by another account."""
    row = visible_image(session, account_id, image_id)
    if row.account_id != account_id:
        raise AuthFailure(f"Not authorized for image:{row.id}")
    return row


def launchable_image(session, account_id: str, image_id: str) -> Image:
    """The image ``account_id`` may launch; InvalidAMIID.NotFound when it cannot be seen,
    InvalidAMIID.Unavailable when it is not in the available state (deregistered, say)."""
    row = visible_image(session, account_id, image_id, include_deregistered=True)
    if row.state != "available":
        raise ClientError("InvalidAMIID.Unavailable",
                          f"The image id '[{row.id}]' is not available ({row.state})")
    return row


# -- RegisterImage ----------------------------------------------------------------------------

def split_location(location: str) -> tuple[str, str]:
    """``bucket/key`` (a leading ``/`` is allowed) -> (bucket, key)."""
    bucket, _, key = (location or "").strip().lstrip("/").partition("/")
    if not bucket or not key:
        raise InvalidParameterValue(f"Value ({location}) for parameter ImageLocation is "
                                    "invalid. Expecting bucket/key.")
    return bucket, key


def _reader(ctx):
    factory = getattr(ctx.component, "object_reader", None)
    if factory is not None:
        return factory(ctx)
    try:
        return PresignedReader.for_request(ctx)
    except ObjectForbidden as exc:
        raise AuthFailure(str(exc)) from None


@lru_cache(maxsize=4)
def _load_cloud_key(path: str, mtime: float):
    return certificates.load_private_key(Path(path).read_bytes())


def cloud_key(ctx):
    """The cloud's RSA private key (the component's own, else DIR/keys/cloud-pk.pem)."""
    own = getattr(ctx.component, "cloud_private_key", None)
    if own is not None:
        return own() if callable(own) else own
    path = ctx.settings.path("keys", certificates.KEY_NAME)
    try:
        return _load_cloud_key(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        raise ClientError("InvalidManifest", "The cloud has no certificate to open bundles "
                          "with (run eucalyptus init)") from None


async def _read_location(ctx, bucket: str, key: str, manifest: bool):
    """The manifest's bytes, or (size, ETag, first bytes) of a disk object."""
    reader = _reader(ctx)
    try:
        if manifest:
            return await reader.get(bucket, key)
        size, etag = await reader.head(bucket, key)
        header = await reader.first_bytes(bucket, key, disk_format.HEADER_BYTES) if size else b""
        return size, etag, header
    except ObjectMissing:
        raise ClientError("InvalidManifest", f"Unable to read the manifest {bucket}/{key}: "
                          "it does not exist") from None
    except ObjectForbidden:
        raise AuthFailure(f"Not authorized to read the manifest {bucket}/{key}") from None


def _check_boot_image(session, account_id: str, image_id: str | None, kind: str) -> str | None:
    if not image_id:
        return None
    row = visible_image(session, account_id, image_id)
    if row.image_type != kind:
        raise InvalidParameterValue(f"Value ({image_id}) for parameter {kind}Id is invalid: "
                                    f"it is a {row.image_type} image, not a {kind}")
    return row.id


def check_signature(ctx, raw: bytes | str, man: mf.Manifest, location: str) -> None:
    """InvalidManifest unless the manifest is signed by an active signing certificate of a user
    of the caller's account or by the cloud's key."""
    from eucalyptus.services.iam.signing_certificates import certificates_of_account
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    keys = [cert.public_key() for cert in certificates_of_account(ctx.db, ctx.account_id)]
    keys.append(cloud_key(ctx).public_key())
    if not man.signature or not any(mf.verify(text, man.signature, k) for k in keys):
        raise ClientError("InvalidManifest", f"The manifest {location} failed signature "
                          "verification: it is not signed by a signing certificate of this "
                          "account (see iam upload-signing-certificate)")


def _is_public_by_default(session) -> bool:
    prop = session.get(CloudProperty, PUBLIC_PROPERTY)
    return prop is not None and prop.value.strip().lower() == "true"


@operation
async def register_image(ctx, name: str | None = None, image_location: str | None = None,
                         description: str | None = None, architecture: str | None = None,
                         kernel_id: str | None = None, ramdisk_id: str | None = None,
                         root_device_name: str | None = None,
                         virtualization_type: str | None = None,
                         block_device_mappings: list[dict] | None = None, **_) -> dict:
    """RegisterImage from a bundle manifest or a disk object, or of an EBS-backed image from
    its block device mappings (``ebs_images``); returns the new ImageId."""
    from eucalyptus.services.ec2 import ebs_images
    if block_device_mappings and not image_location:
        return ebs_images.register_ebs_image(
            ctx, name, description, architecture, kernel_id, ramdisk_id, root_device_name,
            virtualization_type, block_device_mappings)
    if not name:
        raise MissingParameter("The request must contain the parameter name")
    if not _NAME.fullmatch(name):
        raise ClientError("InvalidAMIName.Malformed", f"AMI name {name} is invalid: 3 to 128 "
                          "letters, digits, spaces and ( ) [ ] . / - ' @ _")
    if not image_location:
        raise MissingParameter("The request must contain the parameter ImageLocation")
    if architecture is not None and architecture not in ARCHITECTURES:
        raise InvalidParameterValue(f"Value ({architecture}) for parameter architecture is "
                                    f"invalid. Valid values: {', '.join(ARCHITECTURES)}")
    if virtualization_type not in (None, "hvm", "paravirtual"):
        raise InvalidParameterValue(f"Value ({virtualization_type}) for parameter "
                                    "virtualizationType is invalid")
    bucket, key = split_location(image_location)
    taken = ctx.db.scalar(select(Image).where(Image.account_id == ctx.account_id,
                                              Image.name == name))
    if taken is not None and taken.state == "deregistered":
        ctx.db.delete(taken)             # a deregistered image gives its name back
        ctx.db.flush()
        taken = None
    if taken is not None:
        raise ClientError("InvalidAMIName.Duplicate",
                          f"AMI name {name} is already in use by AMI {taken.id}")
    row = Image(account_id=ctx.account_id, name=name, description=description or "",
                location=f"{bucket}/{key}", registered_by=ctx.principal.access_key_id,
                is_public=_is_public_by_default(ctx.db),
                root_device_name=root_device_name or "/dev/sda1")
    if key.endswith(".manifest.xml"):
        raw = await _read_location(ctx, bucket, key, manifest=True)
        try:
            man = mf.parse(raw)
            check_signature(ctx, raw, man, f"{bucket}/{key}")
            mf.bundle_key(cloud_key(ctx), man, "ec2")
        except mf.ManifestError as exc:
            raise ClientError("InvalidManifest", f"The manifest {bucket}/{key} is not usable: "
                              f"{exc}") from None
        row.source, row.image_type = "bundle", man.image_type
        row.architecture = architecture or man.architecture
        row.size_bytes, row.digest = man.size, man.digest
        kernel_id = kernel_id or man.kernel_id
        ramdisk_id = ramdisk_id or man.ramdisk_id
    else:
        row.size_bytes, row.digest, header = await _read_location(ctx, bucket, key,
                                                                  manifest=False)
        if row.size_bytes == 0:
            raise InvalidParameterValue(f"The disk image {bucket}/{key} is empty")
        unsafe = disk_format.unsafe_qcow2(header)
        if unsafe:
            raise InvalidParameterValue(f"The disk image {bucket}/{key} cannot be used: "
                                        f"{unsafe}")
        row.source, row.image_type = "object", "machine"
        row.architecture = architecture or "x86_64"
    if row.image_type != "machine" and (kernel_id or ramdisk_id):
        raise InvalidParameterCombination(f"A {row.image_type} image cannot name a kernel or "
                                          "ramdisk")
    row.kernel_id = _check_boot_image(ctx.db, ctx.account_id, kernel_id, "kernel")
    row.ramdisk_id = _check_boot_image(ctx.db, ctx.account_id, ramdisk_id, "ramdisk")
    if row.ramdisk_id and not row.kernel_id:
        raise InvalidParameterCombination("A ramdisk needs a kernel")
    if row.image_type == "machine":
        row.virtualization_type = virtualization_type or (
            "paravirtual" if row.kernel_id else "hvm")
    else:
        row.virtualization_type = "paravirtual"
    row.id = ids.ec2_id(ID_KIND[row.image_type])
    ctx.db.add(row)
    ctx.db.flush()
    if block_device_mappings:
        ebs_images.record_mappings(ctx, row, ebs_images.parse_mappings(block_device_mappings))
        ctx.db.flush()
    return {"ImageId": row.id}


# -- DescribeImages ---------------------------------------------------------------------------

def _timestamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _tags(session, account_id: str, image_ids: list[str]) -> dict[str, list[dict]]:
    """Tags of the images as the tags service keeps them, when the cloud has one."""
    try:
        from eucalyptus.services.ec2 import tags as tag_service
    except ImportError:
        return {}
    reader = getattr(tag_service, "tags_of", None)
    return reader(session, account_id, image_ids) if reader else {}


def image_item(row: Image, owner_alias: str | None, tags: list[dict] | None = None) -> dict:
    """One image in DescribeImages' shape."""
    item = {
        "ImageId": row.id, "ImageLocation": row.location, "State": row.state,
        "OwnerId": row.account_id, "CreationDate": _timestamp(row.created_at),
        "Public": row.is_public, "Architecture": row.architecture,
        "ImageType": row.image_type, "Name": row.name, "RootDeviceType": "instance-store",
        "RootDeviceName": row.root_device_name, "VirtualizationType": row.virtualization_type,
        "Hypervisor": "xen", "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
        "BlockDeviceMappings": [], "Tags": list(tags or []),
    }
    if row.description:
        item["Description"] = row.description
    if row.kernel_id:
        item["KernelId"] = row.kernel_id
    if row.ramdisk_id:
        item["RamdiskId"] = row.ramdisk_id
    if owner_alias:
        item["ImageOwnerAlias"] = owner_alias
    return item


def _owner_filter(ctx, owners: list[str]):
    cloud = ctx.db.scalar(select(Account.id).where(Account.name == CLOUD_ACCOUNT))
    accounts = set()
    for owner in owners:
        if owner == "self":
            accounts.add(ctx.account_id)
        elif owner in OWNER_ALIASES:
            if cloud:
                accounts.add(cloud)
        elif re.fullmatch(r"\d{12}", owner):
            accounts.add(owner)
        else:
            raise InvalidParameterValue(f"Invalid owner: '{owner}'. Expecting self, an "
                                        "account id or an owner alias (amazon, eucalyptus)")
    return Image.account_id.in_(accounts)


def _executable_filter(ctx, users: list[str]):
    clauses = []
    for user in users:
        if user == "all":
            clauses.append(Image.is_public.is_(True))
            continue
        account = ctx.account_id if user == "self" else user
        if not re.fullmatch(r"\d{12}", account):
            raise InvalidParameterValue(f"Invalid user id: '{user}'. Expecting self, all or "
                                        "an account id")
        shared = select(ImageLaunchPermission.image_id).where(
            ImageLaunchPermission.account_id == account)
        clauses.append(or_(Image.account_id == account, Image.id.in_(shared)))
    return or_(*clauses)


@operation
def describe_images(ctx, image_ids: list[str] | None = None, owners: list[str] | None = None,
                    executable_users: list[str] | None = None,
                    filters: list[dict] | None = None, max_results: int | None = None,
                    next_token: str | None = None, **_) -> dict:
    """DescribeImages: the images visible to the caller, narrowed by ImageIds, Owners,
    ExecutableUsers and filters. A named id the caller cannot see is InvalidAMIID.NotFound."""
    filter_engine.validate(filters, IMAGE_FILTERS)
    if image_ids and max_results is not None:
        raise InvalidParameterCombination("The parameter ImageIds cannot be used with the "
                                          "parameter MaxResults")
    query = select(Image).where(visible_clause(ctx.account_id), Image.state != "deregistered")
    wanted = [normalize_id(i) for i in image_ids or []]
    if wanted:
        query = query.where(Image.id.in_(wanted))
    if owners:
        query = query.where(_owner_filter(ctx, owners))
    if executable_users:
        query = query.where(_executable_filter(ctx, executable_users))
    rows = ctx.db.scalars(query).all()
    found = {r.id for r in rows}
    if wanted and not owners and not executable_users:
        missing = [i for i, w in zip(image_ids, wanted) if w not in found]
        if missing:
            raise ClientError("InvalidAMIID.NotFound",
                              f"The image id '[{', '.join(missing)}]' does not exist")
    cloud = ctx.db.scalar(select(Account.id).where(Account.name == CLOUD_ACCOUNT))
    tags = _tags(ctx.db, ctx.account_id, sorted(found))
    items = [image_item(r, CLOUD_ACCOUNT if r.account_id == cloud else None, tags.get(r.id))
             for r in rows]
    from eucalyptus.services.ec2 import ebs_images
    ebs_images.decorate(ctx.db, items)
    items = filter_engine.apply(items, filters, IMAGE_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, key=lambda i: i["ImageId"],
                               scope="DescribeImages")
    return page.ec2_output("Images")


# -- DeregisterImage --------------------------------------------------------------------------

@operation
def deregister_image(ctx, image_id: str, **_) -> dict:
    """DeregisterImage: the owner retires the image (see the module docstring); the bundle
    stays in Walrus. Instances already running are not affected."""
    row = owned_image(ctx.db, ctx.account_id, image_id)
    for grant in ctx.db.scalars(select(ImageLaunchPermission).where(
            ImageLaunchPermission.image_id == row.id)).all():
        ctx.db.delete(grant)
    row.state, row.is_public = "deregistered", False
    ctx.db.flush()
    return {"Return": True}

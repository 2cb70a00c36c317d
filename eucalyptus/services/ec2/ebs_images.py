"""EBS-backed images: block device mappings of RegisterImage, CreateImage and DescribeImages.

An image is EBS-backed when the mapping of its root device name has a snapshot: its
RootDeviceType is "ebs", its ImageLocation ``<owner account>/<name>``, and RunInstances boots
it from a new volume made from that snapshot (``ebs_instances``).

- RegisterImage with BlockDeviceMappings and no ImageLocation registers an EBS-backed image
  (``register_ebs_image``): the root device (RootDeviceName, /dev/sda1 by default) must map a
  snapshot. Every Ebs mapping names a completed snapshot the caller may see
  (InvalidSnapshot.NotFound, IncorrectState) or, for a non-root device, only a VolumeSize (an
  empty volume); VolumeSize is 1-1024 GiB and not smaller than the snapshot;
  DeleteOnTermination defaults to true. A bad mapping is InvalidBlockDeviceMapping.
  Mappings given with an ImageLocation are kept as the bundle image's mapping.
- CreateImage(InstanceId, Name) of a running or stopped EBS-backed instance snapshots every
  volume attached to it (the storage controller takes a point-in-time copy at once; the guest
  is not rebooted, whatever NoReboot says) and registers a new image "pending" with the
  snapshots as its mapping (DeleteOnTermination as on the instance's attachments); the image
  becomes "available" when every snapshot has completed, "failed" when one fails
  (``settle_pending``, run by ``ebs_instances.EbsSync``). NoDevice in its BlockDeviceMappings
  leaves a non-root device out. An instance-store instance is UnsupportedOperation.
- ``decorate(session, items)`` gives DescribeImages items their RootDeviceType and
  BlockDeviceMappings. A snapshot an image maps cannot be deleted (InvalidSnapshot.InUse).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from eucalyptus import ids
from eucalyptus.aws.dispatch import operation
from eucalyptus.clc import storage_sync
from eucalyptus.db.ebs import ImageBlockDevice
from eucalyptus.db.images import Image
from eucalyptus.db.storage import Snapshot, Volume
from eucalyptus.errors import (ClientError, InvalidParameterCombination, InvalidParameterValue,
                               MissingParameter, ServiceError)
from eucalyptus.sc.messages import SnapshotCreate, SnapshotInfo
from eucalyptus.services.ec2 import images, snapshots, tags
from eucalyptus.services.ec2.volumes import MAX_GIB, MIN_GIB, VOLUME_TYPES

DEVICE = re.compile(r"(?:/dev/)?(?:sd|xvd|vd|hd)[a-z]{1,2}[0-9]{0,2}")
VIRTUAL = re.compile(r"ephemeral[0-9]{1,2}")
DEFAULT_ROOT = "/dev/sda1"


def bad_mapping(message: str) -> ClientError:
    return ClientError("InvalidBlockDeviceMapping", message)


@dataclass
class Mapping:
    """One requested mapping; ``snapshot_id``/``volume_size``/``delete_on_termination``/
    ``volume_type`` are None when not given (a launch override keeps the image's value)."""
    device_name: str
    snapshot_id: str | None = None
    volume_size: int | None = None
    delete_on_termination: bool | None = None
    volume_type: str | None = None
    virtual_name: str = ""
    no_device: bool = False

    @property
    def is_ebs(self) -> bool:
        return not self.no_device and not self.virtual_name


def parse_mappings(entries: list[dict] | None) -> list[Mapping]:
    """BlockDeviceMappings as the EC2 model shapes them, checked for form only."""
    out: dict[str, Mapping] = {}
    for entry in entries or []:
        name = entry.get("DeviceName")
        if not name:
            raise MissingParameter("The request must contain the parameter "
                                   "BlockDeviceMapping.DeviceName")
        if not DEVICE.fullmatch(name):
            raise bad_mapping(f"Invalid device name {name}")
        if name in out:
            raise bad_mapping(f"The device name {name} is mapped more than once")
        ebs, virtual = entry.get("Ebs"), entry.get("VirtualName")
        no_device = "NoDevice" in entry
        if sum(bool(x) for x in (ebs, virtual, no_device)) > 1:
            raise bad_mapping(f"The mapping of {name} may give only one of Ebs, VirtualName "
                              "and NoDevice")
        m = Mapping(name, no_device=no_device)
        if virtual:
            if not VIRTUAL.fullmatch(virtual):
                raise bad_mapping(f"Invalid virtual name {virtual} for {name}")
            m.virtual_name = virtual
        elif ebs is not None:
            if ebs.get("Encrypted") or ebs.get("KmsKeyId"):
                raise InvalidParameterValue("Encrypted volumes are not supported by this cloud")
            m.snapshot_id = ebs.get("SnapshotId") or None
            size = ebs.get("VolumeSize")
            if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                     or not MIN_GIB <= size <= MAX_GIB):
                raise bad_mapping(f"Volume of size {size}GiB for {name} is invalid: volumes "
                                  f"are {MIN_GIB} to {MAX_GIB} GiB")
            m.volume_size = size
            m.delete_on_termination = ebs.get("DeleteOnTermination")
            vtype = ebs.get("VolumeType")
            if vtype is not None and vtype not in VOLUME_TYPES:
                raise InvalidParameterValue(f"Value ({vtype}) for parameter volumeType is "
                                            f"invalid. Valid values: {', '.join(VOLUME_TYPES)}")
            m.volume_type = vtype
        elif not no_device:
            raise bad_mapping(f"The mapping of {name} gives none of Ebs, VirtualName and "
                              "NoDevice")
        out[name] = m
    return list(out.values())


def snapshot_size(session, account_id: str, mapping: Mapping, visible: bool = True) -> int:
    """The GiB of the mapping's snapshot (completed, and visible to ``account_id`` when
    ``visible``); the mapping's size must not be smaller."""
    if visible:
        snap = snapshots.visible_snapshot(session, account_id, mapping.snapshot_id)
    else:
        snap = session.get(Snapshot, mapping.snapshot_id)
        if snap is None:
            raise snapshots.snapshot_not_found([mapping.snapshot_id])
    if snap.state != "completed":
        raise ClientError("IncorrectState", f"Snapshot '{snap.id}' is in state '{snap.state}'")
    if mapping.volume_size is not None and mapping.volume_size < snap.volume_size:
        raise bad_mapping(f"Volume of size {mapping.volume_size}GiB for {mapping.device_name} "
                          f"is smaller than snapshot '{snap.id}' ({snap.volume_size}GiB)")
    return snap.volume_size


def image_mappings(session, image_id: str) -> list[ImageBlockDevice]:
    return list(session.scalars(select(ImageBlockDevice).where(
        ImageBlockDevice.image_id == image_id).order_by(ImageBlockDevice.device_name)))


def is_ebs_image(session, image: Image) -> bool:
    return session.scalar(select(ImageBlockDevice.snapshot_id).where(
        ImageBlockDevice.image_id == image.id,
        ImageBlockDevice.device_name == image.root_device_name)) not in (None, "")


def _record(session, image: Image, mapping: Mapping, size: int) -> None:
    session.add(ImageBlockDevice(
        image_id=image.id, device_name=mapping.device_name, account_id=image.account_id,
        snapshot_id=mapping.snapshot_id or "", volume_size=size,
        volume_type=mapping.volume_type or "standard",
        delete_on_termination=(True if mapping.delete_on_termination is None
                               else bool(mapping.delete_on_termination)),
        virtual_name=mapping.virtual_name, no_device=mapping.no_device))


def record_mappings(ctx, image: Image, mappings: list[Mapping]) -> dict[str, int]:
    """Check ``mappings`` for the caller and store them as ``image``'s; the GiB of each
    EBS device."""
    sizes = {}
    for m in mappings:
        size = 0
        if m.is_ebs:
            if m.snapshot_id:
                size = m.volume_size or snapshot_size(ctx.db, ctx.account_id, m)
                if m.volume_size:
                    snapshot_size(ctx.db, ctx.account_id, m)
            elif m.volume_size:
                size = m.volume_size
            else:
                raise bad_mapping(f"The mapping of {m.device_name} needs a SnapshotId or a "
                                  "VolumeSize")
            sizes[m.device_name] = size
        _record(ctx.db, image, m, size)
    return sizes


# -- RegisterImage ----------------------------------------------------------------------------

def _check_name(ctx, name: str | None) -> None:
    if not name:
        raise MissingParameter("The request must contain the parameter name")
    if not images._NAME.fullmatch(name):
        raise ClientError("InvalidAMIName.Malformed", f"AMI name {name} is invalid: 3 to 128 "
                          "letters, digits, spaces and ( ) [ ] . / - ' @ _")
    taken = ctx.db.scalar(select(Image).where(Image.account_id == ctx.account_id,
                                              Image.name == name))
    if taken is not None and taken.state == "deregistered":
        ctx.db.delete(taken)             # a deregistered image gives its name back
        ctx.db.flush()
    elif taken is not None:
        raise ClientError("InvalidAMIName.Duplicate",
                          f"AMI name {name} is already in use by AMI {taken.id}")


def register_ebs_image(ctx, name: str | None, description: str | None,
                       architecture: str | None, kernel_id: str | None,
                       ramdisk_id: str | None, root_device_name: str | None,
                       virtualization_type: str | None, block_device_mappings: list[dict]) -> dict:
    """RegisterImage of an EBS-backed image (see the module docstring)."""
    _check_name(ctx, name)
    if architecture is not None and architecture not in images.ARCHITECTURES:
        raise InvalidParameterValue(f"Value ({architecture}) for parameter architecture is "
                                    f"invalid. Valid values: {', '.join(images.ARCHITECTURES)}")
    if virtualization_type not in (None, "hvm", "paravirtual"):
        raise InvalidParameterValue(f"Value ({virtualization_type}) for parameter "
                                    "virtualizationType is invalid")
    root = root_device_name or DEFAULT_ROOT
    if not DEVICE.fullmatch(root):
        raise InvalidParameterValue(f"Value ({root}) for parameter rootDeviceName is invalid")
    mappings = parse_mappings(block_device_mappings)
    root_map = next((m for m in mappings if m.device_name == root), None)
    if root_map is None or not root_map.is_ebs or not root_map.snapshot_id:
        raise bad_mapping(f"The root device {root} must map an EBS snapshot")
    row = Image(account_id=ctx.account_id, name=name, description=description or "",
                location=f"{ctx.account_id}/{name}", registered_by=ctx.principal.access_key_id,
                is_public=images._is_public_by_default(ctx.db), root_device_name=root,
                source="ebs", image_type="machine", architecture=architecture or "x86_64")
    row.kernel_id = images._check_boot_image(ctx.db, ctx.account_id, kernel_id, "kernel")
    row.ramdisk_id = images._check_boot_image(ctx.db, ctx.account_id, ramdisk_id, "ramdisk")
    if row.ramdisk_id and not row.kernel_id:
        raise InvalidParameterCombination("A ramdisk needs a kernel")
    row.virtualization_type = virtualization_type or ("paravirtual" if row.kernel_id else "hvm")
    row.id = ids.ec2_id("image")
    ctx.db.add(row)
    ctx.db.flush()
    row.size_bytes = record_mappings(ctx, row, mappings)[root] << 30
    ctx.db.flush()
    return {"ImageId": row.id}


# -- CreateImage ------------------------------------------------------------------------------

@operation
async def create_image(ctx, instance_id: str | None = None, name: str | None = None,
                       description: str | None = None, no_reboot: bool | None = None,
                       block_device_mappings: list[dict] | None = None,
                       tag_specifications: list[dict] | None = None, **_) -> dict:
    """CreateImage (see the module docstring)."""
    from eucalyptus.services.ec2.ebs_instances import root_device_of
    from eucalyptus.services.ec2.instances import owned_instances
    if not instance_id:
        raise MissingParameter("The request must contain the parameter InstanceId")
    (instance,) = owned_instances(ctx.db, ctx.account_id, [instance_id])
    _check_name(ctx, name)
    if description is not None and len(description) > 255:
        raise InvalidParameterValue("The description is limited to 255 characters")
    root = root_device_of(ctx.db, instance.id)
    if root is None:
        raise ClientError("UnsupportedOperation", f"The instance '{instance.id}' does not have "
                          "an 'ebs' root device type; only EBS-backed instances make images")
    if instance.state not in ("running", "stopped"):
        raise ClientError("IncorrectInstanceState", f"The instance '{instance.id}' is not in "
                          "the 'running' or 'stopped' state.")
    left_out = {m.device_name for m in parse_mappings(block_device_mappings) if m.no_device}
    if instance.root_device_name in left_out:
        raise bad_mapping("The root device cannot be left out of the image")
    volumes = [v for v in ctx.db.scalars(select(Volume).where(
        Volume.instance_id == instance.id).order_by(Volume.device))
        if v.device not in left_out]
    if not any(v.id == root.volume_id for v in volumes):
        raise ClientError("IncorrectInstanceState", f"The root volume of '{instance.id}' is "
                          "not attached to it")
    for spec in tag_specifications or []:
        if spec.get("ResourceType") not in ("image", "snapshot"):
            raise InvalidParameterValue(f"'{spec.get('ResourceType')}' is not a valid "
                                        "taggable resource type for this operation.")
    image = Image(id=ids.ec2_id("image"), account_id=ctx.account_id, name=name,
                  description=description or "", location=f"{ctx.account_id}/{name}",
                  registered_by=ctx.principal.access_key_id, source="ebs",
                  image_type="machine", architecture=instance.architecture,
                  kernel_id=instance.kernel_id, ramdisk_id=instance.ramdisk_id,
                  virtualization_type=instance.virtualization_type,
                  root_device_name=instance.root_device_name, state="pending",
                  is_public=False)
    ctx.db.add(image)
    ctx.db.flush()
    made: dict[str, str] = {image.id: "image"}
    infos: list[SnapshotInfo] = []
    try:
        for vol in volumes:       # the SC copies each volume at once, uploads in background
            infos.append(await storage_sync.storage_call(
                ctx.component, "sc/snapshots/create",
                SnapshotCreate(ids.ec2_id("snapshot"), vol.id), SnapshotInfo, zone=vol.zone))
    except BaseException:
        await _forget_snapshots(ctx.component, [i.snapshot_id for i in infos], instance.zone)
        raise
    for vol, info in zip(volumes, infos):
        snap_id = info.snapshot_id
        snap = Snapshot(id=snap_id, account_id=ctx.account_id, volume_id=vol.id,
                        volume_size=vol.size_gib, state="pending", progress=0,
                        description=f"Created by CreateImage({instance.id}) for {image.id} "
                                    f"from {vol.id}")
        storage_sync.apply_snapshot_info(snap, info)
        ctx.db.add(snap)
        made[snap_id] = "snapshot"
        _record(ctx.db, image, Mapping(vol.device, snap_id, vol.size_gib,
                                       bool(vol.delete_on_termination), vol.volume_type),
                vol.size_gib)
        if vol.id == root.volume_id:
            image.size_bytes = vol.size_gib << 30
    ctx.db.flush()
    tags.apply_tag_specifications(ctx.db, ctx.account_id, tag_specifications, made)
    settle_pending(ctx.db, [image.id])
    ctx.db.flush()
    return {"ImageId": image.id}


async def _forget_snapshots(component, snapshot_ids: list[str], zone: str | None = None) -> None:
    from eucalyptus.sc.messages import SnapshotRef
    for snap_id in snapshot_ids:
        try:
            await storage_sync.storage_call(component, "sc/snapshots/delete",
                                            SnapshotRef(snap_id), SnapshotInfo, zone=zone)
        except ServiceError:
            pass


def settle_pending(session, image_ids: list[str] | None = None) -> list[str]:
    """Pending EBS images whose snapshots all completed become "available"; one with a failed
    or vanished snapshot "failed". The ids settled."""
    query = select(Image).where(Image.state == "pending", Image.source == "ebs")
    if image_ids is not None:
        query = query.where(Image.id.in_(image_ids))
    settled = []
    for image in session.scalars(query).all():
        snap_ids = [m.snapshot_id for m in image_mappings(session, image.id) if m.snapshot_id]
        states = dict(session.execute(select(Snapshot.id, Snapshot.state).where(
            Snapshot.id.in_(snap_ids))).all()) if snap_ids else {}
        if any(states.get(s, "error") == "error" for s in snap_ids):
            image.state = "failed"
        elif all(states.get(s) == "completed" for s in snap_ids):
            image.state = "available"
        else:
            continue
        settled.append(image.id)
    return settled


# -- DescribeImages ---------------------------------------------------------------------------

def mapping_item(row: ImageBlockDevice) -> dict:
    if row.no_device:
        return {"DeviceName": row.device_name, "NoDevice": ""}
    if row.virtual_name:
        return {"DeviceName": row.device_name, "VirtualName": row.virtual_name}
    ebs = {"DeleteOnTermination": bool(row.delete_on_termination),
           "VolumeSize": row.volume_size, "VolumeType": row.volume_type, "Encrypted": False}
    if row.snapshot_id:
        ebs["SnapshotId"] = row.snapshot_id
    return {"DeviceName": row.device_name, "Ebs": ebs}


def decorate(session, items: list[dict]) -> None:
    """Set RootDeviceType and BlockDeviceMappings of DescribeImages ``items``."""
    wanted = [i["ImageId"] for i in items]
    if not wanted:
        return
    by_image: dict[str, list[ImageBlockDevice]] = {}
    for row in session.scalars(select(ImageBlockDevice).where(
            ImageBlockDevice.image_id.in_(wanted)).order_by(ImageBlockDevice.device_name)):
        by_image.setdefault(row.image_id, []).append(row)
    for item in items:
        rows = by_image.get(item["ImageId"], [])
        if not rows:
            continue
        item["BlockDeviceMappings"] = [mapping_item(r) for r in rows]
        if any(r.device_name == item["RootDeviceName"] and r.snapshot_id for r in rows):
            item["RootDeviceType"] = "ebs"


def _snapshot_in_use(session, snapshot_id: str) -> str | None:
    image_id = session.scalar(select(ImageBlockDevice.image_id).join(
        Image, Image.id == ImageBlockDevice.image_id).where(
        ImageBlockDevice.snapshot_id == snapshot_id, Image.state != "deregistered").limit(1))
    return f"it is used by image {image_id}" if image_id else None


if _snapshot_in_use not in snapshots.IN_USE_CHECKS:
    snapshots.IN_USE_CHECKS.append(_snapshot_in_use)

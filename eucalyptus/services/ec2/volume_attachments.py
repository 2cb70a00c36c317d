"""AttachVolume and DetachVolume: the path CLC -> SC export -> CC -> NC -> QEMU hot-plug.

AttachVolume checks everything first (volume available in the account, instance running in
the volume's zone, device name free on the instance), records the attachment "attaching" and
commits it (so a second request sees the volume taken), then ``plug``s it: the storage
controller exports the volume over NBD to the instance, and the instance's node hot-plugs the
export into the guest with the volume id as the disk's serial. Once the node reports the disk
plugged the attachment is "attached"; on any failure the export is withdrawn, the volume is
"available" again and the error is raised. The answer says "attaching", as EC2's does.

DetachVolume (InstanceId and Device, when given, must match the attachment; otherwise
InvalidAttachment.NotFound) marks it "detaching", has the node unplug the disk (the guest must
release it; ``Force`` carries on when it does not, or when the node does not answer), ends the
SC's export and makes the volume "available". A volume of a terminated instance is released by
``clc.storage_sync``.
"""
from __future__ import annotations

import logging
import re

from eucalyptus.aws.dispatch import operation
from eucalyptus.clc import storage_sync
from eucalyptus.clc.instance_sync import cluster_call
from eucalyptus.db.compute import Instance
from eucalyptus.db.schema import utcnow
from eucalyptus.db.storage import Volume
from eucalyptus.errors import ClientError, InvalidParameterValue, MissingParameter, ServiceError
from eucalyptus.nc.volumes import AttachedVolume, VolumeAttach, VolumeDetach
from eucalyptus.sc.messages import VolumeExport, VolumeExportRequest
from eucalyptus.services.ec2.instances import owned_instances
from eucalyptus.services.ec2.volumes import attachment_item, owned_volume

log = logging.getLogger("eucalyptus.ec2.volumes")
DEVICE = re.compile(r"/dev/(?:sd|xvd|vd|hd)[a-z]{1,2}[0-9]{0,2}")
ATTACH_TIMEOUT = 90.0


def check_device(device: str | None) -> str:
    if not device:
        raise MissingParameter("The request must contain the parameter device")
    if not DEVICE.fullmatch(device):
        raise InvalidParameterValue(f"Value ({device}) for parameter device is invalid. "
                                    f"{device} is not a valid EBS device name.")
    return device


def device_in_use(session, instance: Instance, device: str) -> bool:
    """Whether ``device`` names the instance's root or a volume attached (or attaching)."""
    if device == instance.root_device_name:
        return True
    from sqlalchemy import select
    return session.scalar(select(Volume.id).where(
        Volume.instance_id == instance.id, Volume.device == device)) is not None


async def plug(component, volume_id: str, instance_id: str, device: str,
               zone: str | None = None) -> None:
    """Export ``volume_id`` to ``instance_id`` and hot-plug it (both of ``zone``); undo the
    export on failure."""
    export = await storage_sync.storage_call(
        component, "sc/volumes/export", VolumeExportRequest(volume_id, instance_id),
        VolumeExport, timeout=30, zone=zone)
    try:
        await cluster_call(component, "cluster/volumes/attach", VolumeAttach(
            instance_id, volume_id, device, export.export_name, export.nbd_host,
            export.nbd_port, export.nbd_socket), AttachedVolume, timeout=ATTACH_TIMEOUT,
            zone=zone)
    except BaseException:
        try:
            await storage_sync.release_attachment(component, volume_id, instance_id, zone)
        except ServiceError as exc:
            log.warning("withdrawing the export of %s: %s", volume_id, exc.message)
        raise


async def unplug(component, volume_id: str, instance_id: str, force: bool,
                 zone: str | None = None) -> None:
    """Unplug ``volume_id`` from the guest of ``instance_id`` and end the SC's export (both
    of ``zone``)."""
    try:
        await cluster_call(component, "cluster/volumes/detach",
                           VolumeDetach(instance_id, volume_id, bool(force)), AttachedVolume,
                           timeout=ATTACH_TIMEOUT, zone=zone)
    except ClientError as exc:
        if exc.code != "InvalidInstanceID.NotFound" and not force:
            raise
        log.info("detaching %s from %s: %s", volume_id, instance_id, exc.message)
    except ServiceError:
        if not force:
            raise
    await storage_sync.release_attachment(component, volume_id, instance_id, zone)


@operation
async def attach_volume(ctx, volume_id: str | None = None, instance_id: str | None = None,
                        device: str | None = None, **_) -> dict:
    """AttachVolume (see the module docstring)."""
    row = owned_volume(ctx.db, ctx.account_id, volume_id)
    if not instance_id:
        raise MissingParameter("The request must contain the parameter InstanceId")
    device = check_device(device)
    (instance,) = owned_instances(ctx.db, ctx.account_id, [instance_id])
    if row.instance_id:
        raise ClientError("VolumeInUse", f"{row.id} is already attached to an instance")
    if row.state != "available":
        raise ClientError("IncorrectState", f"Volume '{row.id}' is in the '{row.state}' "
                                            "state.")
    if instance.state != "running":
        raise ClientError("IncorrectInstanceState",
                          f"The instance '{instance.id}' is not 'running'.")
    if instance.zone != row.zone:
        raise ClientError("InvalidVolume.ZoneMismatch",
                          f"The volume '{row.id}' is not in the same availability zone as "
                          f"instance '{instance.id}'")
    if device_in_use(ctx.db, instance, device):
        raise InvalidParameterValue(f"Attachment point {device} is already in use")
    row.instance_id, row.device, row.attach_state = instance.id, device, "attaching"
    row.attached_at, row.delete_on_termination = utcnow(), False
    answer = attachment_item(row)
    ctx.db.commit()                  # the volume is taken before anything slow starts
    try:
        await plug(ctx.component, row.id, instance.id, device, row.zone)
    except BaseException:
        row.instance_id, row.device, row.attach_state, row.attached_at = None, "", "", None
        ctx.db.commit()
        raise
    row.attach_state = "attached"
    ctx.db.flush()
    return answer


@operation
async def detach_volume(ctx, volume_id: str | None = None, instance_id: str | None = None,
                        device: str | None = None, force: bool | None = None, **_) -> dict:
    """DetachVolume (see the module docstring)."""
    row = owned_volume(ctx.db, ctx.account_id, volume_id)
    if instance_id:
        owned_instances(ctx.db, ctx.account_id, [instance_id])
    if not row.instance_id:
        raise ClientError("IncorrectState", f"Volume '{row.id}' is in the '{row.state}' "
                                            "state.")
    if instance_id and instance_id != row.instance_id:
        raise ClientError("InvalidAttachment.NotFound", f"The volume '{row.id}' is not "
                                                        f"attached to '{instance_id}'")
    if device and device != row.device:
        raise ClientError("InvalidAttachment.NotFound", f"Attachment point {device} of "
                                                        f"'{row.instance_id}' has no volume")
    from eucalyptus.services.ec2.ebs_instances import check_detach
    check_detach(ctx.db, row)
    if row.attach_state == "attaching" and not force:
        raise ClientError("IncorrectState", f"Volume '{row.id}' is still attaching")
    previous = row.attach_state
    attached_to = row.instance_id
    row.attach_state = "detaching"
    answer = attachment_item(row)
    ctx.db.commit()
    try:
        await unplug(ctx.component, row.id, attached_to, bool(force), row.zone)
    except BaseException:
        row.attach_state = previous
        ctx.db.commit()
        raise
    row.instance_id, row.device, row.attach_state, row.attached_at = None, "", "", None
    row.delete_on_termination = False
    ctx.db.flush()
    return answer

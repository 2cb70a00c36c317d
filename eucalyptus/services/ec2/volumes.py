"""EBS volumes: CreateVolume, DeleteVolume, DescribeVolumes, DescribeVolumeStatus,
DescribeVolumeAttribute, ModifyVolumeAttribute. Attach and detach are in
``volume_attachments``.

Records live in ``db.storage.Volume`` (one account each); the storage controller holds the
bytes. CreateVolume asks the SC first and records the volume in the state it answers
("available" for an empty volume, "creating" while a snapshot is restored; ``clc.storage_sync``
follows it from there). DeleteVolume refuses a volume attached to an instance (VolumeInUse)
and one still being made (IncorrectState). The state users see is "in-use" while an instance
holds the volume, the record's own state otherwise.

Importing this module makes ``vol-`` ids taggable (``tags.RESOURCE_KINDS``).
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from eucalyptus import ids
from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.clc import storage_sync
from eucalyptus.db.storage import Snapshot, Volume
from eucalyptus.errors import (ClientError, InvalidParameterCombination, InvalidParameterValue,
                               MissingParameter, NotFound)
from eucalyptus.sc.messages import VolumeCreate, VolumeInfo, VolumeRef
from eucalyptus.services.ec2 import tags

VOLUME_ID = re.compile(r"vol-(?:[0-9a-f]{8}|[0-9a-f]{17})")
MIN_GIB, MAX_GIB = 1, 1024
VOLUME_TYPES = ("standard", "gp2", "gp3", "io1", "io2", "sc1", "st1")
IOPS_TYPES = ("io1", "io2", "gp3")


# -- lookups ----------------------------------------------------------------------------------

def check_volume_ids(volume_ids: list[str] | None) -> list[str]:
    for vid in volume_ids or []:
        if not isinstance(vid, str) or not VOLUME_ID.fullmatch(vid):
            raise ClientError("InvalidVolumeID.Malformed", f'Invalid id: "{vid}"')
    return list(dict.fromkeys(volume_ids or []))


def volume_not_found(volume_ids: list[str]) -> ClientError:
    return NotFound("InvalidVolume.NotFound",
                    f"The volume '{', '.join(volume_ids)}' does not exist.")


def owned_volumes(session, account_id: str, volume_ids: list[str] | None) -> list[Volume]:
    """The account's volumes by id, in the order asked; InvalidVolume.NotFound naming every
    id the account does not have."""
    wanted = check_volume_ids(volume_ids)
    rows = {r.id: r for r in session.scalars(select(Volume).where(
        Volume.account_id == account_id, Volume.id.in_(wanted)))}
    missing = [v for v in wanted if v not in rows]
    if missing:
        raise volume_not_found(missing)
    return [rows[v] for v in wanted]


def owned_volume(session, account_id: str, volume_id: str | None) -> Volume:
    if not volume_id:
        raise MissingParameter("The request must contain the parameter VolumeId")
    return owned_volumes(session, account_id, [volume_id])[0]


def api_state(row: Volume) -> str:
    return "in-use" if row.instance_id else row.state


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def iso(value: dt.datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def attachment_item(row: Volume) -> dict:
    return {"AttachTime": _utc(row.attached_at or row.created_at), "Device": row.device,
            "InstanceId": row.instance_id, "State": row.attach_state or "attached",
            "VolumeId": row.id, "DeleteOnTermination": bool(row.delete_on_termination)}


def volume_item(row: Volume, tag_list: list[dict] | None = None) -> dict:
    """One volume in the Volume shape of EC2's output."""
    item = {"VolumeId": row.id, "Size": row.size_gib, "SnapshotId": row.snapshot_id or "",
            "AvailabilityZone": row.zone, "State": api_state(row),
            "CreateTime": _utc(row.created_at),
            "Attachments": [attachment_item(row)] if row.instance_id else [],
            "VolumeType": row.volume_type, "Encrypted": bool(row.encrypted),
            "MultiAttachEnabled": False, "Tags": list(tag_list or [])}
    if row.iops:
        item["Iops"] = row.iops
    if row.throughput:
        item["Throughput"] = row.throughput
    return item


def _volume_exists(session, account_id: str, rid: str) -> bool:
    return session.scalar(select(Volume.id).where(
        Volume.id == rid, Volume.account_id == account_id)) is not None


tags.RESOURCE_KINDS.setdefault("vol", ("volume", _volume_exists, "InvalidVolume.NotFound"))


# -- CreateVolume -----------------------------------------------------------------------------

def known_zones(ctx) -> set[str]:
    """The availability zones volumes may be made in: those of the cloud's clusters."""
    from eucalyptus.clc import clusters
    return set(clusters.zones(ctx.component))


def _check_zone(ctx, zone: str | None, zone_id_given: str | None = None) -> str:
    if zone and zone_id_given:
        raise InvalidParameterCombination("Specify either AvailabilityZone or "
                                          "AvailabilityZoneId, not both")
    if zone_id_given:
        from eucalyptus.services.ec2.zones import zone_id
        from eucalyptus.services.ec2.regions import region_name
        by_id = {zone_id(region_name(ctx), z): z for z in known_zones(ctx)}
        if zone_id_given not in by_id:
            raise ClientError("InvalidZone.NotFound",
                              f"The zone ID '{zone_id_given}' does not exist.")
        return by_id[zone_id_given]
    if not zone:
        raise MissingParameter("The request must contain the parameter AvailabilityZone")
    if zone not in known_zones(ctx):
        raise ClientError("InvalidZone.NotFound", f"The zone '{zone}' does not exist.")
    return zone


def _check_type(volume_type: str | None, iops: int | None, throughput: int | None) -> str:
    volume_type = volume_type or "standard"
    if volume_type not in VOLUME_TYPES:
        raise InvalidParameterValue(f"Value ({volume_type}) for parameter volumeType is "
                                    f"invalid. Valid values: {', '.join(VOLUME_TYPES)}")
    if iops is not None and volume_type not in IOPS_TYPES:
        raise InvalidParameterCombination(f"The parameter iops is not supported for "
                                          f"{volume_type} volumes.")
    if iops is None and volume_type in ("io1", "io2"):
        raise MissingParameter(f"The request must contain the parameter iops for "
                               f"{volume_type} volumes")
    if iops is not None and not 100 <= iops <= 64000:
        raise InvalidParameterValue(f"Value ({iops}) for parameter iops is invalid. Expected "
                                    "a value between 100 and 64000.")
    if throughput is not None and volume_type != "gp3":
        raise InvalidParameterCombination("The parameter throughput is only supported for "
                                          "gp3 volumes.")
    return volume_type


def _source_snapshot(ctx, snapshot_id: str) -> Snapshot:
    from eucalyptus.services.ec2.snapshots import visible_snapshot
    snap = visible_snapshot(ctx.db, ctx.account_id, snapshot_id)
    if snap.state != "completed":
        raise ClientError("IncorrectState", f"Snapshot '{snap.id}' is in state '{snap.state}'; "
                          "volumes are made from completed snapshots only.")
    return snap


def _size(size, snap: Snapshot | None) -> int:
    if size is None:
        if snap is None:
            raise MissingParameter("The request must contain the parameter size or "
                                   "snapshotId")
        return snap.volume_size
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_GIB <= size <= MAX_GIB:
        raise InvalidParameterValue(f"Volume of size {size}GiB is invalid. Volumes must be "
                                    f"between {MIN_GIB} and {MAX_GIB} GiB.")
    if snap is not None and size < snap.volume_size:
        raise InvalidParameterValue(f"Volume of {size}GiB is too small; minimum is "
                                    f"{snap.volume_size}GiB.")
    return size


@operation
async def create_volume(ctx, availability_zone: str | None = None,
                        availability_zone_id: str | None = None, size: int | None = None,
                        snapshot_id: str | None = None, volume_type: str | None = None,
                        iops: int | None = None, throughput: int | None = None,
                        encrypted: bool | None = None, kms_key_id: str | None = None,
                        multi_attach_enabled: bool | None = None,
                        tag_specifications: list[dict] | None = None, **_) -> dict:
    """CreateVolume: an empty volume of Size GiB or one restored from SnapshotId (see the
    module docstring)."""
    zone = _check_zone(ctx, availability_zone, availability_zone_id)
    if encrypted or kms_key_id:
        raise InvalidParameterValue("Encrypted volumes are not supported by this cloud")
    if multi_attach_enabled:
        raise InvalidParameterValue("Multi-attach volumes are not supported by this cloud")
    vtype = _check_type(volume_type, iops, throughput)
    snap = _source_snapshot(ctx, snapshot_id) if snapshot_id else None
    gib = _size(size, snap)
    for spec in tag_specifications or []:
        if spec.get("ResourceType") != "volume":
            raise InvalidParameterValue(f"'{spec.get('ResourceType')}' is not a valid "
                                        "taggable resource type for this operation.")
    volume_id = ids.ec2_id("volume")
    info = await storage_sync.storage_call(
        ctx.component, "sc/volumes/create",
        VolumeCreate(volume_id, gib, snap.id if snap else ""), VolumeInfo, zone=zone)
    row = Volume(id=volume_id, account_id=ctx.account_id, size_gib=info.size_gib or gib,
                 zone=zone, snapshot_id=snap.id if snap else "", volume_type=vtype,
                 iops=iops, throughput=throughput,
                 state=info.state if info.state in ("available", "error") else "creating",
                 reason=info.reason)
    ctx.db.add(row)
    ctx.db.flush()
    tags.apply_tag_specifications(ctx.db, ctx.account_id, tag_specifications,
                                  {volume_id: "volume"})
    ctx.db.flush()
    item = volume_item(row, tags.tags_of(ctx.db, ctx.account_id, [volume_id]).get(volume_id))
    item.pop("Attachments")
    return item


# -- DeleteVolume -----------------------------------------------------------------------------

@operation
async def delete_volume(ctx, volume_id: str | None = None, **_) -> dict:
    """DeleteVolume: VolumeInUse while attached; IncorrectState while creating."""
    row = owned_volume(ctx.db, ctx.account_id, volume_id)
    if row.instance_id:
        raise ClientError("VolumeInUse", f"Volume {row.id} is currently attached to "
                                         f"{row.instance_id}")
    if row.state == "creating":
        raise ClientError("IncorrectState", f"Volume '{row.id}' is being created")
    info = await storage_sync.storage_call(ctx.component, "sc/volumes/delete",
                                           VolumeRef(row.id), VolumeInfo, zone=row.zone)
    if info.state == "deleted":
        ctx.db.delete(row)
        tags.forget(ctx.db, [row.id])
    else:
        row.state = "deleting"
    ctx.db.flush()
    return {}


# -- DescribeVolumes --------------------------------------------------------------------------

def _created(item: dict) -> str:
    return iso(item["CreateTime"])


def _attached(item: dict) -> list[str]:
    return [iso(a["AttachTime"]) for a in item.get("Attachments", [])]


VOLUME_FILTERS: filter_engine.FilterTable = {
    "volume-id": "VolumeId",
    "status": "State",
    "size": "Size",
    "availability-zone": "AvailabilityZone",
    "snapshot-id": "SnapshotId",
    "create-time": _created,
    "attachment.instance-id": "Attachments.InstanceId",
    "attachment.device": "Attachments.Device",
    "attachment.status": "Attachments.State",
    "attachment.attach-time": _attached,
    "attachment.delete-on-termination": "Attachments.DeleteOnTermination",
    "volume-type": "VolumeType",
    "encrypted": "Encrypted",
    "multi-attach-enabled": "MultiAttachEnabled",
    "fast-restored": lambda item: False,
    **filter_engine.TAG_FILTERS,
}


def _account_items(ctx, volume_ids: list[str] | None) -> list[dict]:
    if volume_ids:
        rows = owned_volumes(ctx.db, ctx.account_id, volume_ids)
    else:
        rows = ctx.db.scalars(select(Volume).where(Volume.account_id == ctx.account_id)).all()
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.id for r in rows])
    return [volume_item(r, tag_map.get(r.id)) for r in rows]


@operation
def describe_volumes(ctx, volume_ids: list[str] | None = None,
                     filters: list[dict] | None = None, max_results: int | None = None,
                     next_token: str | None = None, **_) -> dict:
    """DescribeVolumes: the account's volumes (VolumeIds, filters, MaxResults 5..500 with
    NextToken, not together with VolumeIds)."""
    filter_engine.validate(filters, VOLUME_FILTERS)
    if volume_ids and (max_results is not None or next_token):
        raise InvalidParameterCombination("The parameter volumeSet cannot be used with the "
                                          "parameter maxResults")
    items = filter_engine.apply(_account_items(ctx, volume_ids), filters, VOLUME_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=500,
                               key=lambda v: v["VolumeId"], scope="DescribeVolumes")
    return page.ec2_output("Volumes")


# -- status and attributes --------------------------------------------------------------------

def _status(item: dict) -> dict:
    state = item["State"]
    status = {"available": "ok", "in-use": "ok", "error": "impaired"}.get(
        state, "insufficient-data")
    io = {"ok": "passed", "impaired": "failed"}.get(status, "insufficient-data")
    return {"VolumeId": item["VolumeId"], "AvailabilityZone": item["AvailabilityZone"],
            "VolumeStatus": {"Status": status, "Details": [
                {"Name": "io-enabled", "Status": io},
                {"Name": "io-performance", "Status": "not-applicable"}]},
            "Actions": [], "Events": [],
            "AttachmentStatuses": [{"InstanceId": a["InstanceId"], "IoPerformance": "normal"}
                                   for a in item["Attachments"]]}


STATUS_FILTERS: filter_engine.FilterTable = {
    "volume-id": "VolumeId",
    "availability-zone": "AvailabilityZone",
    "volume-status.status": "VolumeStatus.Status",
    "volume-status.details-name": "VolumeStatus.Details.Name",
    "volume-status.details-status": "VolumeStatus.Details.Status",
    "action.code": "Actions.Code",
    "action.description": "Actions.Description",
    "action.event-id": "Actions.EventId",
    "event.description": "Events.Description",
    "event.event-id": "Events.EventId",
    "event.event-type": "Events.EventType",
    "event.not-after": "Events.NotAfter",
    "event.not-before": "Events.NotBefore",
}


@operation
def describe_volume_status(ctx, volume_ids: list[str] | None = None,
                           filters: list[dict] | None = None, max_results: int | None = None,
                           next_token: str | None = None, **_) -> dict:
    """DescribeVolumeStatus: ok (available, in-use), impaired (error) or insufficient-data
    (creating, deleting) per volume."""
    filter_engine.validate(filters, STATUS_FILTERS)
    items = [_status(i) for i in _account_items(ctx, volume_ids)]
    items = filter_engine.apply(items, filters, STATUS_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda v: v["VolumeId"], scope="DescribeVolumeStatus")
    return page.ec2_output("VolumeStatuses")


VOLUME_ATTRIBUTES = ("autoEnableIO", "productCodes")


@operation
def describe_volume_attribute(ctx, volume_id: str | None = None, attribute: str | None = None,
                              **_) -> dict:
    """DescribeVolumeAttribute: autoEnableIO or productCodes (none here)."""
    if attribute not in VOLUME_ATTRIBUTES:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    f"Valid values: {', '.join(VOLUME_ATTRIBUTES)}")
    row = owned_volume(ctx.db, ctx.account_id, volume_id)
    if attribute == "autoEnableIO":
        return {"VolumeId": row.id, "AutoEnableIO": {"Value": bool(row.auto_enable_io)}}
    return {"VolumeId": row.id, "ProductCodes": []}


@operation
def modify_volume_attribute(ctx, volume_id: str | None = None,
                            auto_enable_io: dict | None = None, **_) -> dict:
    """ModifyVolumeAttribute: AutoEnableIO, the one attribute there is."""
    row = owned_volume(ctx.db, ctx.account_id, volume_id)
    if auto_enable_io is None or auto_enable_io.get("Value") is None:
        raise MissingParameter("The request must contain the parameter AutoEnableIO")
    row.auto_enable_io = bool(auto_enable_io["Value"])
    ctx.db.flush()
    return {}

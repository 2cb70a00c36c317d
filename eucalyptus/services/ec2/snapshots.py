"""EBS snapshots: CreateSnapshot, DeleteSnapshot, DescribeSnapshots.

A snapshot is taken by the storage controller in the background (state "pending" with
Progress "NN%", then "completed" or "error"; ``clc.storage_sync`` follows it), while the
volume stays attached and usable. The SC keeps the data in Walrus, so a volume can be made
from a completed snapshot in any zone.

Visibility: an account sees its own snapshots, those shared with it (createVolumePermission
UserId rows, ``snapshot_attributes``) and public ones (group ``all``). Only the owner deletes
or changes a snapshot: one the caller sees but does not own is AuthFailure, one it cannot
see InvalidSnapshot.NotFound. DeleteSnapshot refuses a snapshot that something still needs
(InvalidSnapshot.InUse): a volume being restored from it, or whatever ``IN_USE_CHECKS``
reports (image block device mappings register a check there).

Importing this module makes ``snap-`` ids taggable (``tags.RESOURCE_KINDS``).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable

from sqlalchemy import delete, or_, select

from eucalyptus import ids
from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.clc import storage_sync
from eucalyptus.db.storage import Snapshot, SnapshotPermission, Volume
from eucalyptus.errors import (ClientError, InvalidParameterCombination, InvalidParameterValue,
                               MissingParameter, NotFound)
from eucalyptus.sc.messages import SnapshotCreate, SnapshotInfo, SnapshotRef
from eucalyptus.services.ec2 import tags
from eucalyptus.services.ec2.volumes import iso, owned_volume

SNAPSHOT_ID = re.compile(r"snap-(?:[0-9a-f]{8}|[0-9a-f]{17})")
MAX_DESCRIPTION = 255

#: ``check(session, snapshot_id) -> str | None``: why the snapshot may not be deleted, if so
IN_USE_CHECKS: list[Callable[[object, str], str | None]] = []


# -- lookups ----------------------------------------------------------------------------------

def check_snapshot_ids(snapshot_ids: list[str] | None) -> list[str]:
    for sid in snapshot_ids or []:
        if not isinstance(sid, str) or not SNAPSHOT_ID.fullmatch(sid):
            raise ClientError("InvalidSnapshotID.Malformed", f'Invalid id: "{sid}"')
    return list(dict.fromkeys(snapshot_ids or []))


def snapshot_not_found(snapshot_ids: list[str]) -> ClientError:
    return NotFound("InvalidSnapshot.NotFound",
                    f"The snapshot '{', '.join(snapshot_ids)}' does not exist.")


def visible_clause(account_id: str):
    shared = select(SnapshotPermission.snapshot_id).where(
        SnapshotPermission.account_id == account_id)
    return or_(Snapshot.account_id == account_id, Snapshot.is_public.is_(True),
               Snapshot.id.in_(shared))


def visible_snapshots(session, account_id: str, snapshot_ids: list[str]) -> list[Snapshot]:
    """Snapshots the account may see, by id; InvalidSnapshot.NotFound for any other."""
    wanted = check_snapshot_ids(snapshot_ids)
    rows = {r.id: r for r in session.scalars(select(Snapshot).where(
        Snapshot.id.in_(wanted), visible_clause(account_id)))}
    missing = [s for s in wanted if s not in rows]
    if missing:
        raise snapshot_not_found(missing)
    return [rows[s] for s in wanted]


def visible_snapshot(session, account_id: str, snapshot_id: str | None) -> Snapshot:
    if not snapshot_id:
        raise MissingParameter("The request must contain the parameter SnapshotId")
    return visible_snapshots(session, account_id, [snapshot_id])[0]


def owned_snapshot(session, account_id: str, snapshot_id: str | None) -> Snapshot:
    row = visible_snapshot(session, account_id, snapshot_id)
    if row.account_id != account_id:
        raise ClientError("AuthFailure", f"Not authorized for snapshot '{row.id}'")
    return row


def snapshot_item(row: Snapshot, tag_list: list[dict] | None = None) -> dict:
    """One snapshot in the Snapshot shape of EC2's output."""
    item = {"SnapshotId": row.id, "VolumeId": row.volume_id, "State": row.state,
            "StartTime": row.started_at.replace(tzinfo=dt.timezone.utc),
            "Progress": f"{row.progress}%", "OwnerId": row.account_id,
            "Description": row.description, "VolumeSize": row.volume_size,
            "Encrypted": bool(row.encrypted), "StorageTier": "standard",
            "Tags": list(tag_list or [])}
    if row.state == "error" and row.reason:
        item["StateMessage"] = row.reason
    return item


def _snapshot_exists(session, account_id: str, rid: str) -> bool:
    return session.scalar(select(Snapshot.id).where(
        Snapshot.id == rid, visible_clause(account_id))) is not None


tags.RESOURCE_KINDS.setdefault("snap", ("snapshot", _snapshot_exists,
                                        "InvalidSnapshot.NotFound"))


# -- CreateSnapshot ---------------------------------------------------------------------------

@operation
async def create_snapshot(ctx, volume_id: str | None = None, description: str | None = None,
                          tag_specifications: list[dict] | None = None, **_) -> dict:
    """CreateSnapshot: a point-in-time copy of one of the account's volumes, pending until
    the storage controller has stored it."""
    volume = owned_volume(ctx.db, ctx.account_id, volume_id)
    if volume.state not in ("available",):
        raise ClientError("IncorrectState", f"Volume '{volume.id}' is in the "
                                            f"'{volume.state}' state.")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidParameterValue(f"The description is limited to {MAX_DESCRIPTION} "
                                    "characters")
    for spec in tag_specifications or []:
        if spec.get("ResourceType") != "snapshot":
            raise InvalidParameterValue(f"'{spec.get('ResourceType')}' is not a valid "
                                        "taggable resource type for this operation.")
    snapshot_id = ids.ec2_id("snapshot")
    info = await storage_sync.storage_call(ctx.component, "sc/snapshots/create",
                                           SnapshotCreate(snapshot_id, volume.id),
                                           SnapshotInfo, zone=volume.zone)
    row = Snapshot(id=snapshot_id, account_id=ctx.account_id, volume_id=volume.id,
                   volume_size=volume.size_gib, description=description or "",
                   state="pending", progress=0)
    storage_sync.apply_snapshot_info(row, info)
    ctx.db.add(row)
    ctx.db.flush()
    tags.apply_tag_specifications(ctx.db, ctx.account_id, tag_specifications,
                                  {snapshot_id: "snapshot"})
    ctx.db.flush()
    return snapshot_item(row, tags.tags_of(ctx.db, ctx.account_id, [snapshot_id])
                         .get(snapshot_id))


# -- DeleteSnapshot ---------------------------------------------------------------------------

def in_use_reason(session, snapshot_id: str) -> str | None:
    restoring = session.scalar(select(Volume.id).where(
        Volume.snapshot_id == snapshot_id, Volume.state == "creating").limit(1))
    if restoring:
        return f"volume {restoring} is being made from it"
    for check in IN_USE_CHECKS:
        why = check(session, snapshot_id)
        if why:
            return why
    return None


@operation
async def delete_snapshot(ctx, snapshot_id: str | None = None, **_) -> dict:
    """DeleteSnapshot: the owner's snapshot and its stored data (InvalidSnapshot.InUse while
    something needs it)."""
    row = owned_snapshot(ctx.db, ctx.account_id, snapshot_id)
    why = in_use_reason(ctx.db, row.id)
    if why:
        raise ClientError("InvalidSnapshot.InUse", f"The snapshot {row.id} is in use: {why}")
    source = ctx.db.get(Volume, row.volume_id)       # the SC that took it, while it exists
    await storage_sync.storage_call(ctx.component, "sc/snapshots/delete", SnapshotRef(row.id),
                                    SnapshotInfo, zone=source.zone if source else None)
    ctx.db.execute(delete(SnapshotPermission).where(SnapshotPermission.snapshot_id == row.id))
    ctx.db.delete(row)
    tags.forget(ctx.db, [row.id])
    ctx.db.flush()
    return {}


# -- DescribeSnapshots ------------------------------------------------------------------------

SNAPSHOT_FILTERS: filter_engine.FilterTable = {
    "snapshot-id": "SnapshotId",
    "volume-id": "VolumeId",
    "status": "State",
    "owner-id": "OwnerId",
    "owner-alias": lambda item: [],
    "progress": "Progress",
    "volume-size": "VolumeSize",
    "start-time": lambda item: iso(item["StartTime"]),
    "description": "Description",
    "encrypted": "Encrypted",
    "storage-tier": "StorageTier",
    **filter_engine.TAG_FILTERS,
}


def _owner_ids(ctx, owners: list[str]) -> set[str]:
    out = set()
    for owner in owners:
        if owner == "self":
            out.add(ctx.account_id)
        elif re.fullmatch(r"\d{12}", owner):
            out.add(owner)
        elif owner not in ("amazon", "aws-marketplace"):
            raise InvalidParameterValue(f"Invalid owner: '{owner}'")
    return out


def _restorable(ctx, rows: list[Snapshot], users: list[str]) -> list[Snapshot]:
    """Rows that any of ``users`` (account ids, ``self``, ``all`` for public) may restore."""
    accounts = {ctx.account_id if u == "self" else u for u in users if u != "all"}
    for account in accounts:
        if not re.fullmatch(r"\d{12}", account):
            raise InvalidParameterValue(f"Invalid user id: '{account}'")
    shared = {(p.snapshot_id, p.account_id) for p in ctx.db.scalars(
        select(SnapshotPermission).where(SnapshotPermission.snapshot_id.in_(
            [r.id for r in rows])))}
    keep = []
    for r in rows:
        if ("all" in users and r.is_public) or any(
                r.is_public or r.account_id == a or (r.id, a) in shared for a in accounts):
            keep.append(r)
    return keep


@operation
def describe_snapshots(ctx, snapshot_ids: list[str] | None = None,
                       owner_ids: list[str] | None = None,
                       restorable_by_user_ids: list[str] | None = None,
                       filters: list[dict] | None = None, max_results: int | None = None,
                       next_token: str | None = None, **_) -> dict:
    """DescribeSnapshots: the snapshots the account may see, narrowed by SnapshotIds,
    OwnerIds (ids, ``self``), RestorableByUserIds (ids, ``self``, ``all``) and filters;
    MaxResults 5..1000 with NextToken (not together with SnapshotIds)."""
    filter_engine.validate(filters, SNAPSHOT_FILTERS)
    if snapshot_ids and (max_results is not None or next_token):
        raise InvalidParameterCombination("The parameter snapshotSet cannot be used with the "
                                          "parameter maxResults")
    if snapshot_ids:
        rows = visible_snapshots(ctx.db, ctx.account_id, snapshot_ids)
    else:
        rows = ctx.db.scalars(select(Snapshot).where(visible_clause(ctx.account_id))).all()
    if owner_ids:
        owners = _owner_ids(ctx, owner_ids)
        rows = [r for r in rows if r.account_id in owners]
    if restorable_by_user_ids:
        rows = _restorable(ctx, rows, restorable_by_user_ids)
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.id for r in rows])
    items = [snapshot_item(r, tag_map.get(r.id)) for r in rows]
    items = filter_engine.apply(items, filters, SNAPSHOT_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda s: s["SnapshotId"], scope="DescribeSnapshots")
    return page.ec2_output("Snapshots")

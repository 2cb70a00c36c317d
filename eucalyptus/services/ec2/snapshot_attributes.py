"""Snapshot attributes: ModifySnapshotAttribute, DescribeSnapshotAttribute,
ResetSnapshotAttribute.

``createVolumePermission`` shares a snapshot with accounts (``UserId``) or makes it public
(``Group`` all); ``productCodes`` is always empty. Only the owner reads or changes them (see
``snapshots.owned_snapshot``). Adding a permission that is there already, or removing one that
is not, is not an error, as in EC2.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.schema import Account
from eucalyptus.db.storage import SnapshotPermission
from eucalyptus.errors import ClientError, InvalidParameterValue, MissingParameter
from eucalyptus.services.ec2.snapshots import owned_snapshot

ATTRIBUTES = ("createVolumePermission", "productCodes")


def _check_attribute(attribute: str | None, allowed=ATTRIBUTES) -> str:
    if attribute not in allowed:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    f"Valid values: {', '.join(allowed)}")
    return attribute


def _changes(permission: dict | None, operation_type: str | None, user_ids: list[str] | None,
             group_names: list[str] | None) -> tuple[list[dict], list[dict]]:
    """(adds, removes) as ``{"UserId"}``/``{"Group"}`` entries from CreateVolumePermission or
    from OperationType with UserIds/GroupNames."""
    adds = list((permission or {}).get("Add") or [])
    removes = list((permission or {}).get("Remove") or [])
    flat = [{"UserId": u} for u in user_ids or []] + [{"Group": g} for g in group_names or []]
    if flat:
        if operation_type == "add":
            adds += flat
        elif operation_type == "remove":
            removes += flat
        else:
            raise MissingParameter("The request must contain the parameter OperationType "
                                   "(add or remove)")
    return adds, removes


def _entry(session, entry: dict) -> tuple[str, str]:
    if entry.get("Group") is not None:
        if entry["Group"] != "all":
            raise InvalidParameterValue(f"Value ({entry['Group']}) for parameter Group is "
                                        "invalid. Only 'all' is supported.")
        return "group", "all"
    user = str(entry.get("UserId") or "")
    if not re.fullmatch(r"\d{12}", user):
        raise ClientError("InvalidUserID.Malformed", f"User ID '{user}' is invalid")
    if session.get(Account, user) is None:
        raise ClientError("InvalidUserID.Malformed", f"User ID '{user}' does not exist")
    return "user", user


@operation
def modify_snapshot_attribute(ctx, snapshot_id: str | None = None,
                              attribute: str | None = None,
                              create_volume_permission: dict | None = None,
                              operation_type: str | None = None,
                              user_ids: list[str] | None = None,
                              group_names: list[str] | None = None, **_) -> dict:
    """ModifySnapshotAttribute: add or remove createVolumePermission entries."""
    row = owned_snapshot(ctx.db, ctx.account_id, snapshot_id)
    if attribute is not None:
        _check_attribute(attribute, ("createVolumePermission",))
    adds, removes = _changes(create_volume_permission, operation_type, user_ids, group_names)
    if not adds and not removes:
        raise MissingParameter("The request must contain the parameter "
                               "createVolumePermission")
    for kind, who in [_entry(ctx.db, e) for e in adds]:
        if kind == "group":
            row.is_public = True
        elif who != row.account_id and ctx.db.get(SnapshotPermission, (row.id, who)) is None:
            ctx.db.add(SnapshotPermission(snapshot_id=row.id, account_id=who))
            ctx.db.flush()
    for kind, who in [_entry(ctx.db, e) for e in removes]:
        if kind == "group":
            row.is_public = False
        else:
            ctx.db.execute(delete(SnapshotPermission).where(
                SnapshotPermission.snapshot_id == row.id, SnapshotPermission.account_id == who))
    ctx.db.flush()
    return {}


def volume_permissions(session, row) -> list[dict]:
    shared = session.scalars(select(SnapshotPermission.account_id).where(
        SnapshotPermission.snapshot_id == row.id).order_by(SnapshotPermission.account_id))
    return ([{"Group": "all"}] if row.is_public else []) + [{"UserId": a} for a in shared]


@operation
def describe_snapshot_attribute(ctx, snapshot_id: str | None = None,
                                attribute: str | None = None, **_) -> dict:
    """DescribeSnapshotAttribute: createVolumePermission or productCodes."""
    _check_attribute(attribute)
    row = owned_snapshot(ctx.db, ctx.account_id, snapshot_id)
    if attribute == "productCodes":
        return {"SnapshotId": row.id, "ProductCodes": []}
    return {"SnapshotId": row.id, "CreateVolumePermissions": volume_permissions(ctx.db, row)}


@operation
def reset_snapshot_attribute(ctx, snapshot_id: str | None = None,
                             attribute: str | None = None, **_) -> dict:
    """ResetSnapshotAttribute: createVolumePermission back to the owner alone."""
    _check_attribute(attribute, ("createVolumePermission",))
    row = owned_snapshot(ctx.db, ctx.account_id, snapshot_id)
    row.is_public = False
    ctx.db.execute(delete(SnapshotPermission).where(SnapshotPermission.snapshot_id == row.id))
    ctx.db.flush()
    return {}

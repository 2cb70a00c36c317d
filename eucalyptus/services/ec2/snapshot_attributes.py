"""Snapshot attributes: ModifySnapshotAttribute, DescribeSnapshotAttribute,
ResetSnapshotAttribute.

``createVolumePermission`` shares a snapshot with accounts (``UserId``) or makes it public
(``Group`` all); ``productCodes`` is always empty. Only the owner reads or changes them (see
``snapshots.owned_snapshot``). Adding a permission that is there already, or removing one that
is not, is not an error, as in EC2 (see ``permissions``).
"""
from __future__ import annotations

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.storage import SnapshotPermission
from eucalyptus.errors import InvalidParameterValue, MissingParameter
from eucalyptus.services.ec2.permissions import (apply_changes, make_private,
                                                 permission_changes, permissions_of)
from eucalyptus.services.ec2.snapshots import owned_snapshot

ATTRIBUTES = ("createVolumePermission", "productCodes")


def _check_attribute(attribute: str | None, allowed=ATTRIBUTES) -> str:
    if attribute not in allowed:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    f"Valid values: {', '.join(allowed)}")
    return attribute


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
    adds, removes = permission_changes(create_volume_permission, operation_type, user_ids,
                                       group_names)
    if not adds and not removes:
        raise MissingParameter("The request must contain the parameter "
                               "createVolumePermission")
    apply_changes(ctx.db, row, SnapshotPermission, "snapshot_id", adds, removes)
    return {}


@operation
def describe_snapshot_attribute(ctx, snapshot_id: str | None = None,
                                attribute: str | None = None, **_) -> dict:
    """DescribeSnapshotAttribute: createVolumePermission or productCodes."""
    _check_attribute(attribute)
    row = owned_snapshot(ctx.db, ctx.account_id, snapshot_id)
    if attribute == "productCodes":
        return {"SnapshotId": row.id, "ProductCodes": []}
    return {"SnapshotId": row.id, "CreateVolumePermissions": permissions_of(
        ctx.db, row, SnapshotPermission, "snapshot_id")}


@operation
def reset_snapshot_attribute(ctx, snapshot_id: str | None = None,
                             attribute: str | None = None, **_) -> dict:
    """ResetSnapshotAttribute: createVolumePermission back to the owner alone."""
    _check_attribute(attribute, ("createVolumePermission",))
    row = owned_snapshot(ctx.db, ctx.account_id, snapshot_id)
    make_private(ctx.db, row, SnapshotPermission, "snapshot_id")
    return {}

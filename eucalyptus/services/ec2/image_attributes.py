"""Image attributes: ModifyImageAttribute, DescribeImageAttribute, ResetImageAttribute.

``launchPermission`` shares an image with accounts (``UserId``) or makes it public (group
``all``); ``description`` is free text. Only the owner changes attributes or reads launch
permissions; an image the caller cannot see is InvalidAMIID.NotFound, one seen but not owned
AuthFailure (see ``images.owned_image``). Removing a permission that is not there is not an
error, as in EC2.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.images import ImageLaunchPermission
from eucalyptus.db.schema import Account
from eucalyptus.errors import (ClientError, InvalidParameterCombination, InvalidParameterValue,
                               MissingParameter)
from eucalyptus.services.ec2.images import owned_image, visible_image

READABLE = ("description", "kernel", "ramdisk", "launchPermission", "productCodes",
            "blockDeviceMapping")


def _permission_changes(launch_permission: dict | None, operation_type: str | None,
                        user_ids: list[str] | None, user_groups: list[str] | None
                        ) -> tuple[list[dict], list[dict]]:
    """(adds, removes) as lists of ``{"UserId": ..}`` / ``{"Group": ..}``, from either the
    LaunchPermission structure or OperationType with UserIds/UserGroups."""
    adds = list((launch_permission or {}).get("Add") or [])
    removes = list((launch_permission or {}).get("Remove") or [])
    flat = [{"UserId": u} for u in user_ids or []] + [{"Group": g} for g in user_groups or []]
    if flat:
        if operation_type == "add":
            adds += flat
        elif operation_type == "remove":
            removes += flat
        else:
            raise MissingParameter("The request must contain the parameter OperationType "
                                   "(add or remove)")
    return adds, removes


def _check_permission(session, entry: dict) -> tuple[str, str]:
    if entry.get("Group") is not None:
        if entry["Group"] != "all":
            raise InvalidParameterValue(f"Value ({entry['Group']}) for parameter Group is "
                                        "invalid. Only 'all' is supported.")
        return "group", "all"
    user = entry.get("UserId")
    if not user or not re.fullmatch(r"\d{12}", str(user)):
        raise ClientError("InvalidUserID.Malformed", f"User ID '{user}' is invalid")
    if session.get(Account, str(user)) is None:
        raise ClientError("InvalidUserID.Malformed", f"User ID '{user}' does not exist")
    return "user", str(user)


@operation
def modify_image_attribute(ctx, image_id: str, attribute: str | None = None,
                           description: dict | None = None,
                           launch_permission: dict | None = None,
                           operation_type: str | None = None, user_ids: list[str] | None = None,
                           user_groups: list[str] | None = None, value: str | None = None,
                           product_codes: list[str] | None = None, **_) -> dict:
    """ModifyImageAttribute: launch permissions (add/remove accounts, group all) or the
    description of an image the caller owns."""
    row = owned_image(ctx.db, ctx.account_id, image_id)
    if product_codes or attribute == "productCodes":
        raise InvalidParameterValue("Product codes are not supported by this cloud")
    wants_description = description is not None or attribute == "description"
    wants_permissions = (launch_permission is not None or user_ids or user_groups
                         or attribute == "launchPermission")
    if wants_description and wants_permissions:
        raise InvalidParameterCombination("Modify one attribute at a time")
    if wants_description:
        text = (description or {}).get("Value") if description is not None else value
        if text is None:
            raise MissingParameter("The request must contain the parameter Description.Value")
        row.description = text
    elif wants_permissions:
        adds, removes = _permission_changes(launch_permission, operation_type, user_ids,
                                            user_groups)
        if not adds and not removes:
            raise MissingParameter("The request must contain the parameter LaunchPermission")
        for kind, who in (_check_permission(ctx.db, e) for e in adds):
            if kind == "group":
                row.is_public = True
            elif who != row.account_id and ctx.db.get(ImageLaunchPermission,
                                                      (row.id, who)) is None:
                ctx.db.add(ImageLaunchPermission(image_id=row.id, account_id=who))
        for kind, who in (_check_permission(ctx.db, e) for e in removes):
            if kind == "group":
                row.is_public = False
            else:
                ctx.db.execute(delete(ImageLaunchPermission).where(
                    ImageLaunchPermission.image_id == row.id,
                    ImageLaunchPermission.account_id == who))
    elif attribute in ("kernel", "ramdisk", "blockDeviceMapping"):
        raise InvalidParameterValue(f"The attribute {attribute} of an image cannot be changed")
    else:
        raise MissingParameter("The request must contain the parameter Attribute "
                               "(description or launchPermission)")
    ctx.db.flush()
    return {}


def launch_permissions(session, image) -> list[dict]:
    shared = session.scalars(select(ImageLaunchPermission.account_id).where(
        ImageLaunchPermission.image_id == image.id).order_by(ImageLaunchPermission.account_id))
    out = [{"Group": "all"}] if image.is_public else []
    return out + [{"UserId": account} for account in shared]


@operation
def describe_image_attribute(ctx, image_id: str, attribute: str, **_) -> dict:
    """DescribeImageAttribute: description, kernel, ramdisk, blockDeviceMapping and
    productCodes for anyone who may see the image; launchPermission for its owner."""
    if attribute not in READABLE:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    f"Valid values: {', '.join(READABLE)}")
    row = (owned_image if attribute == "launchPermission" else visible_image)(
        ctx.db, ctx.account_id, image_id)
    out: dict = {"ImageId": row.id}
    if attribute == "description":
        out["Description"] = {"Value": row.description} if row.description else {}
    elif attribute == "kernel":
        out["KernelId"] = {"Value": row.kernel_id} if row.kernel_id else {}
    elif attribute == "ramdisk":
        out["RamdiskId"] = {"Value": row.ramdisk_id} if row.ramdisk_id else {}
    elif attribute == "launchPermission":
        out["LaunchPermissions"] = launch_permissions(ctx.db, row)
    elif attribute == "productCodes":
        out["ProductCodes"] = []
    else:
        from eucalyptus.services.ec2.ebs_images import image_mappings, mapping_item
        out["BlockDeviceMappings"] = [mapping_item(m) for m in image_mappings(ctx.db, row.id)]
    return out


@operation
def reset_image_attribute(ctx, image_id: str, attribute: str, **_) -> dict:
    """ResetImageAttribute: ``launchPermission`` makes the image private to its owner again
    (no shares, not public); ``description`` clears the description."""
    row = owned_image(ctx.db, ctx.account_id, image_id)
    if attribute == "launchPermission":
        row.is_public = False
        ctx.db.execute(delete(ImageLaunchPermission).where(
            ImageLaunchPermission.image_id == row.id))
    elif attribute == "description":
        row.description = ""
    else:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    "Only launchPermission and description can be reset.")
    ctx.db.flush()
    return {}

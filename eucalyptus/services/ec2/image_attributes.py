"""Image attributes: ModifyImageAttribute, DescribeImageAttribute, ResetImageAttribute.

``launchPermission`` shares an image with accounts (``UserId``) or makes it public (group
``all``); ``description`` is free text. Only the owner changes attributes or reads launch
permissions; an image the caller cannot see is InvalidAMIID.NotFound, one seen but not owned
AuthFailure (see ``images.owned_image``). Removing a permission that is not there is not an
error, as in EC2 (see ``permissions``).
"""
from __future__ import annotations

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.images import ImageLaunchPermission
from eucalyptus.errors import InvalidParameterCombination, InvalidParameterValue, MissingParameter
from eucalyptus.services.ec2.images import owned_image, visible_image
from eucalyptus.services.ec2.permissions import (apply_changes, make_private,
                                                 permission_changes, permissions_of)

READABLE = ("description", "kernel", "ramdisk", "launchPermission", "productCodes",
            "blockDeviceMapping")


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
        adds, removes = permission_changes(launch_permission, operation_type, user_ids,
                                           user_groups)
        if not adds and not removes:
            raise MissingParameter("The request must contain the parameter LaunchPermission")
        apply_changes(ctx.db, row, ImageLaunchPermission, "image_id", adds, removes)
    elif attribute in ("kernel", "ramdisk", "blockDeviceMapping"):
        raise InvalidParameterValue(f"The attribute {attribute} of an image cannot be changed")
    else:
        raise MissingParameter("The request must contain the parameter Attribute "
                               "(description or launchPermission)")
    ctx.db.flush()
    return {}


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
        out["LaunchPermissions"] = permissions_of(ctx.db, row, ImageLaunchPermission,
                                                  "image_id")
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
        make_private(ctx.db, row, ImageLaunchPermission, "image_id")
    elif attribute == "description":
        row.description = ""
    else:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    "Only launchPermission and description can be reset.")
    ctx.db.flush()
    return {}

"""DescribeAccountAttributes: the account's platforms, default VPC and limits.

Limits are cloud properties (``cloud_properties`` rows, set with euctl) named in
``LIMIT_PROPERTIES``; a property that is unset or not a whole number leaves the default.
"""
from __future__ import annotations

from sqlalchemy import func, select

from eucalyptus.aws.dispatch import operation
from eucalyptus.db import schema
from eucalyptus.db.schema import CloudProperty
from eucalyptus.errors import InvalidParameterValue

# attribute name -> (cloud property, default)
LIMIT_PROPERTIES: dict[str, tuple[str, int]] = {
    "max-instances": ("cloud.compute.max_instances", 20),
    "vpc-max-security-groups-per-interface": ("cloud.vpc.max_security_groups_per_interface", 5),
    "max-elastic-ips": ("cloud.network.max_elastic_ips", 5),
    "vpc-max-elastic-ips": ("cloud.vpc.max_elastic_ips", 5),
}

ATTRIBUTE_NAMES = ("supported-platforms", "default-vpc", *LIMIT_PROPERTIES)


def limit(session, attribute: str) -> int:
    """The value of one limit attribute: its cloud property if set to a whole number, else
    the default. Other services (addresses, instances) enforce the same figures."""
    prop, default = LIMIT_PROPERTIES[attribute]
    value = session.get(CloudProperty, prop)
    if value is not None and value.value.strip().isdigit():
        return int(value.value.strip())
    return default


def supported_platforms(ctx) -> list[str]:
    """EC2-Classic-style networking always; VPC as well once the account has a VPC."""
    platforms = ["EC2"]
    vpc = getattr(schema, "Vpc", None)
    if vpc is not None and ctx.db.scalar(
            select(func.count()).select_from(vpc).where(vpc.account_id == ctx.account_id)):
        platforms.append("VPC")
    return platforms


def _values(ctx, name: str) -> list[str]:
    if name == "supported-platforms":
        return supported_platforms(ctx)
    if name == "default-vpc":
        return ["none"]
    return [str(limit(ctx.db, name))]


@operation
def describe_account_attributes(ctx, attribute_names: list[str] | None = None, **_) -> dict:
    """DescribeAccountAttributes: the named attributes (all when none are named), in the order
    asked; an unknown name is InvalidParameterValue."""
    names = list(dict.fromkeys(attribute_names or ATTRIBUTE_NAMES))
    for name in names:
        if name not in ATTRIBUTE_NAMES:
            raise InvalidParameterValue(
                f"Value ({name}) for parameter attributeName is invalid. Unknown attribute.")
    return {"AccountAttributes": [
        {"AttributeName": name,
         "AttributeValues": [{"AttributeValue": v} for v in _values(ctx, name)]}
        for name in names]}

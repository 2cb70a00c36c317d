"""Resource tags: CreateTags, DeleteTags, DescribeTags, and ``tags_of`` for other services.

Tags are kept per account and resource id (``db.compute.ResourceTag``). The kind of resource
comes from the id's prefix (``RESOURCE_KINDS``); CreateTags checks that every resource exists
for the caller (an instance of the account, an image it may see, a key pair it owns) and
raises the kind's NotFound code otherwise, or InvalidID for an id of no known kind. Limits as
EC2: at most 50 tags per resource (TagLimitExceeded), keys 1..128 and values 0..256
characters, and the ``aws:`` prefix reserved.
"""
from __future__ import annotations

import re
from typing import Callable

from sqlalchemy import delete, select

from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.db.compute import Instance, ResourceTag
from eucalyptus.db.images import KeyPair
from eucalyptus.errors import ClientError, InvalidParameterValue, MissingParameter

MAX_TAGS = 50
_ID = re.compile(r"([a-z]+)-[0-9a-f]{8}(?:[0-9a-f]{9})?")


def _instance_exists(session, account_id: str, rid: str) -> bool:
    return session.scalar(select(Instance.id).where(
        Instance.id == rid, Instance.account_id == account_id)) is not None


def _image_exists(session, account_id: str, rid: str) -> bool:
    from eucalyptus.services.ec2 import images
    try:
        images.visible_image(session, account_id, rid)
    except ClientError:
        return False
    return True


def _key_pair_exists(session, account_id: str, rid: str) -> bool:
    return session.scalar(select(KeyPair.id).where(
        KeyPair.id == rid, KeyPair.account_id == account_id)) is not None


def _security_group_exists(session, account_id: str, rid: str) -> bool:
    from eucalyptus.services.ec2.security_groups import group_exists
    return group_exists(session, account_id, rid)


def _security_group_rule_exists(session, account_id: str, rid: str) -> bool:
    from eucalyptus.db.network import SecurityGroupRule
    return session.scalar(select(SecurityGroupRule.id).where(
        SecurityGroupRule.id == rid, SecurityGroupRule.account_id == account_id)) is not None


def _elastic_ip_exists(session, account_id: str, rid: str) -> bool:
    from eucalyptus.db.network import PublicAddress
    return session.scalar(select(PublicAddress.public_ip).where(
        PublicAddress.allocation_id == rid, PublicAddress.account_id == account_id,
        PublicAddress.auto_assigned.is_(False))) is not None


Exists = Callable[[object, str, str], bool]
#: id prefix -> (resource type, existence check, NotFound code)
RESOURCE_KINDS: dict[str, tuple[str, Exists, str]] = {
    "i": ("instance", _instance_exists, "InvalidInstanceID.NotFound"),
    "emi": ("image", _image_exists, "InvalidAMIID.NotFound"),
    "ami": ("image", _image_exists, "InvalidAMIID.NotFound"),
    "eki": ("image", _image_exists, "InvalidAMIID.NotFound"),
    "aki": ("image", _image_exists, "InvalidAMIID.NotFound"),
    "eri": ("image", _image_exists, "InvalidAMIID.NotFound"),
    "ari": ("image", _image_exists, "InvalidAMIID.NotFound"),
    "key": ("key-pair", _key_pair_exists, "InvalidKeyPair.NotFound"),
    "sg": ("security-group", _security_group_exists, "InvalidGroup.NotFound"),
    "sgr": ("security-group-rule", _security_group_rule_exists,
            "InvalidSecurityGroupRuleId.NotFound"),
    "eipalloc": ("elastic-ip", _elastic_ip_exists, "InvalidAllocationID.NotFound"),
}
_ALIAS = {"ami": "emi", "aki": "eki", "ari": "eri"}

TAG_ITEM_FILTERS: filter_engine.FilterTable = {
    "key": "Key",
    "value": "Value",
    "resource-id": "ResourceId",
    "resource-type": "ResourceType",
    "tag:": lambda item, key: [item["Value"]] if item["Key"] == key else [],
}


def resource_kind(resource_id: str) -> tuple[str, Exists, str]:
    """(type, exists, NotFound code) of an id; InvalidID when it names no known kind."""
    m = _ID.fullmatch(resource_id or "")
    if m is None or m.group(1) not in RESOURCE_KINDS:
        raise ClientError("InvalidID", f"The ID '{resource_id}' is not valid")
    return RESOURCE_KINDS[m.group(1)]


def canonical_id(resource_id: str) -> str:
    prefix, _, rest = resource_id.partition("-")
    return f"{_ALIAS.get(prefix, prefix)}-{rest}"


def _check_tag(key, value) -> tuple[str, str]:
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue("Tag keys must be between 1 and 128 characters")
    if len(key) > 128:
        raise InvalidParameterValue(f"Tag key exceeds the maximum length of 128 characters: "
                                    f"{key[:20]}...")
    if key.lower().startswith("aws:"):
        raise InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal "
                                    "use")
    value = "" if value is None else value
    if len(value) > 256:
        raise InvalidParameterValue("Tag value exceeds the maximum length of 256 characters")
    return key, value


def _resources(ctx, resources: list[str] | None) -> list[tuple[str, str]]:
    if not resources:
        raise MissingParameter("The request must contain the parameter resourceIdSet")
    out = []
    for rid in resources:
        kind, exists, missing = resource_kind(rid)
        rid = canonical_id(rid)
        if not exists(ctx.db, ctx.account_id, rid):
            raise ClientError(missing, f"The ID '{rid}' does not exist")
        out.append((rid, kind))
    return out


@operation
def create_tags(ctx, resources: list[str] | None = None, tags: list[dict] | None = None,
                **_) -> dict:
    """CreateTags: add or overwrite tags on resources the caller may see (all or nothing)."""
    if not tags:
        raise MissingParameter("The request must contain the parameter tagSet")
    pairs = [_check_tag(t.get("Key"), t.get("Value")) for t in tags]
    for rid, kind in _resources(ctx, resources):
        existing = {row.key: row for row in ctx.db.scalars(select(ResourceTag).where(
            ResourceTag.account_id == ctx.account_id, ResourceTag.resource_id == rid))}
        new_keys = {k for k, _v in pairs} - set(existing)
        if len(existing) + len(new_keys) > MAX_TAGS:
            raise ClientError("TagLimitExceeded", f"The maximum number of tags ({MAX_TAGS}) "
                              f"for resource {rid} has been reached")
        for key, value in pairs:
            if key in existing:
                existing[key].value = value
            else:
                row = ResourceTag(account_id=ctx.account_id, resource_id=rid, key=key,
                                  resource_type=kind, value=value)
                ctx.db.add(row)
                existing[key] = row
    ctx.db.flush()
    return {}


@operation
def delete_tags(ctx, resources: list[str] | None = None, tags: list[dict] | None = None,
                **_) -> dict:
    """DeleteTags: remove the named tags (all when Tags is absent; a tag given with a Value
    only when the value matches)."""
    if not resources:
        raise MissingParameter("The request must contain the parameter resourceIdSet")
    for rid in resources:
        resource_kind(rid)
    ids = [canonical_id(r) for r in resources]
    base = delete(ResourceTag).where(ResourceTag.account_id == ctx.account_id,
                                     ResourceTag.resource_id.in_(ids))
    if not tags:
        ctx.db.execute(base)
        return {}
    for tag in tags:
        key = tag.get("Key")
        if not key:
            raise InvalidParameterValue("Tag keys must be between 1 and 128 characters")
        stmt = base.where(ResourceTag.key == key)
        if tag.get("Value") is not None:
            stmt = stmt.where(ResourceTag.value == tag["Value"])
        ctx.db.execute(stmt)
    return {}


@operation
def describe_tags(ctx, filters: list[dict] | None = None, max_results: int | None = None,
                  next_token: str | None = None, **_) -> dict:
    """DescribeTags: the caller's tags, filtered (key, value, resource-id, resource-type)."""
    filter_engine.validate(filters, TAG_ITEM_FILTERS)
    rows = ctx.db.scalars(select(ResourceTag).where(ResourceTag.account_id == ctx.account_id))
    items = [{"Key": r.key, "Value": r.value, "ResourceId": r.resource_id,
              "ResourceType": r.resource_type} for r in rows]
    items = filter_engine.apply(items, filters, TAG_ITEM_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda i: (i["ResourceId"], i["Key"]), scope="DescribeTags")
    return page.ec2_output("Tags")


# -- for other services ------------------------------------------------------------------------

def tags_of(session, account_id: str, resource_ids: list[str]) -> dict[str, list[dict]]:
    """``resource id -> [{"Key", "Value"}, ...]`` of ``account_id``'s tags on those ids."""
    out: dict[str, list[dict]] = {}
    if not resource_ids:
        return out
    ids = list(resource_ids)
    for start in range(0, len(ids), 500):
        rows = session.scalars(select(ResourceTag).where(
            ResourceTag.account_id == account_id,
            ResourceTag.resource_id.in_(ids[start:start + 500])).order_by(ResourceTag.key))
        for r in rows:
            out.setdefault(r.resource_id, []).append({"Key": r.key, "Value": r.value})
    return out


def apply_tag_specifications(session, account_id: str, specs: list[dict] | None,
                             resources: dict[str, str]) -> None:
    """Tag new resources (``id -> type``) from a TagSpecifications list."""
    for spec in specs or []:
        kind = spec.get("ResourceType")
        if kind not in set(resources.values()):
            raise InvalidParameterValue(f"'{kind}' is not a valid taggable resource type for "
                                        "this operation.")
        pairs = [_check_tag(t.get("Key"), t.get("Value")) for t in spec.get("Tags") or []]
        for rid, rtype in resources.items():
            if rtype == kind:
                for key, value in pairs:
                    session.merge(ResourceTag(account_id=account_id, resource_id=rid,
                                              key=key, resource_type=kind, value=value))


def forget(session, resource_ids: list[str]) -> int:
    """Delete every account's tags of resources that no longer exist."""
    if not resource_ids:
        return 0
    return session.execute(delete(ResourceTag).where(
        ResourceTag.resource_id.in_(list(resource_ids)))).rowcount or 0


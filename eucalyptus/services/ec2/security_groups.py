"""Security groups: Create/Delete/DescribeSecurityGroups and Authorize/Revoke
SecurityGroupIngress/Egress (the rules themselves are parsed and shaped in
``security_group_rules``).

Every account has ``default`` (made on first need by ``ensure_default`` with the stable id
``instances.default_group_id`` gives); it cannot be deleted. Every new group, ``default``
included, holds the egress rule "all protocols to 0.0.0.0/0". An account sees and changes
only its own groups, but any account's group may be the source of a rule (GroupId, or
GroupName with the owner's UserId). A group still used by a live instance, or named as the
source of another group's rule, cannot be deleted (DependencyViolation).

Changes are pushed to the cluster after the request commits (``clc.network_sync.changed``).
In the STATIC and SYSTEM network modes CreateSecurityGroup, Authorize* and Revoke* answer
UnsupportedOperation; DescribeSecurityGroups still lists ``default``.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from eucalyptus import ids
from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.clc import network_sync
from eucalyptus.db.compute import Instance, Reservation
from eucalyptus.db.network import SecurityGroup, SecurityGroupRule
from eucalyptus.db.schema import Account
from eucalyptus.errors import ClientError, InvalidParameterValue, MissingParameter
from eucalyptus.services.ec2 import security_group_rules as rules
from eucalyptus.services.ec2 import tags

DEFAULT = "default"
MAX_NAME = 255
_GROUP_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})")
ALL_EGRESS = rules.Permission("-1", -1, -1, cidr="0.0.0.0/0")


# -- modes ------------------------------------------------------------------------------------

def managed(settings) -> bool:
    """Whether the network mode has security groups and public addresses."""
    mode = getattr(settings, "vnet_mode", None) or "MANAGED-NOVLAN"
    return mode in network_sync.MANAGED_MODES


def require_managed(ctx, action: str) -> None:
    """UnsupportedOperation (400) naming the mode when it has no security groups/addresses."""
    if not managed(ctx.settings):
        raise ClientError("UnsupportedOperation", f"{action} is not supported in network "
                                                  f"mode {ctx.settings.vnet_mode}")


# -- lookups ----------------------------------------------------------------------------------

def not_found(what: str) -> ClientError:
    return ClientError("InvalidGroup.NotFound", f"The security group '{what}' does not exist")


def check_group_id(group_id: str) -> str:
    if not isinstance(group_id, str) or not _GROUP_ID.fullmatch(group_id):
        raise ClientError("InvalidGroupId.Malformed", f"Invalid id: \"{group_id}\"")
    return group_id


def _add_rule(session, group: SecurityGroup, perm: rules.Permission, egress: bool
              ) -> SecurityGroupRule:
    row = SecurityGroupRule(id=rules.new_rule_id(), group_id=group.id,
                            account_id=group.account_id, is_egress=egress,
                            protocol=perm.protocol, from_port=perm.from_port,
                            to_port=perm.to_port, cidr=perm.cidr,
                            source_group_id=perm.group_id or None,
                            description=perm.description)
    session.add(row)
    return row


def _new_group(session, group_id: str, account_id: str, name: str, description: str
               ) -> SecurityGroup:
    group = SecurityGroup(id=group_id, account_id=account_id, name=name,
                          description=description)
    session.add(group)
    session.flush()
    _add_rule(session, group, ALL_EGRESS, egress=True)
    session.flush()
    return group


def ensure_default(session, account_id: str, component=None) -> SecurityGroup:
    """The account's ``default`` group, made now if it does not exist yet."""
    from eucalyptus.services.ec2.instances import default_group_id
    gid = default_group_id(account_id)
    group = session.get(SecurityGroup, gid)
    if group is not None:
        return group
    try:
        with session.begin_nested():
            group = _new_group(session, gid, account_id, DEFAULT, "default group")
    except IntegrityError:                       # made meanwhile by another request
        group = session.get(SecurityGroup, gid)
    if component is not None:
        network_sync.changed(session, component, groups=[gid])
    return group


def own_group(session, account_id: str, group_id: str | None, group_name: str | None,
              component=None) -> SecurityGroup:
    """The caller's group by id (preferred) or name; InvalidGroup.NotFound otherwise."""
    if group_id:
        check_group_id(group_id)
        ensure_default(session, account_id, component)
        group = session.get(SecurityGroup, group_id)
        if group is None or group.account_id != account_id:
            raise not_found(group_id)
        return group
    if not group_name:
        raise MissingParameter("The request must contain the parameter groupName or groupId")
    if group_name == DEFAULT:
        return ensure_default(session, account_id, component)
    group = session.scalar(select(SecurityGroup).where(
        SecurityGroup.account_id == account_id, SecurityGroup.name == group_name))
    if group is None:
        raise not_found(group_name)
    return group


def source_group(session, account_id: str, group_id: str | None, group_name: str | None,
                 user_id: str | None, component=None) -> SecurityGroup:
    """A group named as a rule's source: any account's, by GroupId, or by GroupName within
    ``user_id``'s account (the caller's by default)."""
    owner = user_id or account_id
    if group_id:
        check_group_id(group_id)
        group = session.get(SecurityGroup, group_id)
        if group is None and group_id == _default_id(owner):
            group = _default_if_account(session, owner, component)
        if group is None or (user_id and group.account_id != user_id):
            raise not_found(group_id)
        return group
    if group_name == DEFAULT:
        group = _default_if_account(session, owner, component)
    else:
        group = session.scalar(select(SecurityGroup).where(
            SecurityGroup.account_id == owner, SecurityGroup.name == group_name))
    if group is None:
        raise not_found(group_name or "")
    return group


def _default_id(account_id: str) -> str:
    from eucalyptus.services.ec2.instances import default_group_id
    return default_group_id(account_id)


def _default_if_account(session, account_id: str, component) -> SecurityGroup | None:
    if session.get(Account, account_id) is None:
        return None
    return ensure_default(session, account_id, component)


def groups_for_launch(session, account_id: str, names: list[str] | None,
                      group_ids: list[str] | None, component=None) -> list[list[str]]:
    """[[id, name], ...] of the groups a launch asks for (names first, then ids, without
    repeats), or the account's ``default``; InvalidGroup.NotFound for others."""
    chosen: dict[str, str] = {}
    for name in names or []:
        g = own_group(session, account_id, None, name, component)
        chosen.setdefault(g.id, g.name)
    for gid in group_ids or []:
        g = own_group(session, account_id, gid, None, component)
        chosen.setdefault(g.id, g.name)
    if not chosen:
        g = ensure_default(session, account_id, component)
        chosen[g.id] = g.name
    return [[gid, name] for gid, name in chosen.items()]


def group_exists(session, account_id: str, group_id: str) -> bool:
    """Whether ``group_id`` is one of the account's groups (for tags)."""
    if group_id == _default_id(account_id):
        return _default_if_account(session, account_id, None) is not None
    group = session.get(SecurityGroup, group_id)
    return group is not None and group.account_id == account_id


# -- Create / Delete ----------------------------------------------------------------------------

def _check_text(value, what: str, parameter: str) -> str:
    if value is None or value == "":
        raise MissingParameter(f"The request must contain the parameter {parameter}")
    if len(value) > MAX_NAME:
        raise InvalidParameterValue(f"Invalid value '{value[:20]}...' for {what}. Length "
                                    f"exceeds maximum of {MAX_NAME} characters.")
    return value


@operation
def create_security_group(ctx, group_name: str | None = None, description: str | None = None,
                          vpc_id: str | None = None,
                          tag_specifications: list[dict] | None = None, **_) -> dict:
    """CreateSecurityGroup: a new group of the caller with the default egress rule."""
    require_managed(ctx, "CreateSecurityGroup")
    name = _check_text(group_name, "GroupName", "GroupName")
    text = _check_text(description, "GroupDescription", "GroupDescription")
    if name.lower().startswith("sg-"):
        raise InvalidParameterValue("Group names may not be in the format sg-*")
    ensure_default(ctx.db, ctx.account_id, ctx.component)
    taken = ctx.db.scalar(select(SecurityGroup.id).where(
        SecurityGroup.account_id == ctx.account_id, SecurityGroup.name == name))
    if taken is not None:
        raise ClientError("InvalidGroup.Duplicate", f"The security group '{name}' already "
                                                    "exists")
    group = _new_group(ctx.db, ids.ec2_id("security-group"), ctx.account_id, name, text)
    tags.apply_tag_specifications(ctx.db, ctx.account_id, tag_specifications,
                                  {group.id: "security-group"})
    ctx.db.flush()
    network_sync.changed(ctx.db, ctx.component, groups=[group.id])
    out = {"GroupId": group.id}
    made = tags.tags_of(ctx.db, ctx.account_id, [group.id]).get(group.id)
    if made:
        out["Tags"] = made
    return out


def _in_use(session, group: SecurityGroup) -> bool:
    return session.scalar(select(Instance.id).join(
        Reservation, Reservation.id == Instance.reservation_id).where(
        Instance.account_id == group.account_id, Instance.state != "terminated",
        Reservation.security_groups.like(f'%"{group.id}"%')).limit(1)) is not None


@operation
def delete_security_group(ctx, group_id: str | None = None, group_name: str | None = None,
                          **_) -> dict:
    """DeleteSecurityGroup by id or name (see the module docstring for the refusals)."""
    group = own_group(ctx.db, ctx.account_id, group_id, group_name, ctx.component)
    if group.name == DEFAULT:
        raise ClientError("CannotDelete", "The security group 'default' cannot be deleted")
    if _in_use(ctx.db, group):
        raise ClientError("DependencyViolation", f"resource {group.id} has a dependent object: "
                                                 "it is in use by an instance")
    referenced = ctx.db.scalar(select(SecurityGroupRule.group_id).where(
        SecurityGroupRule.source_group_id == group.id,
        SecurityGroupRule.group_id != group.id).limit(1))
    if referenced is not None:
        raise ClientError("DependencyViolation", f"resource {group.id} has a dependent object: "
                                                 f"a rule of {referenced} names it")
    rule_ids = list(ctx.db.scalars(select(SecurityGroupRule.id).where(
        SecurityGroupRule.group_id == group.id)))
    ctx.db.execute(delete(SecurityGroupRule).where(SecurityGroupRule.group_id == group.id))
    ctx.db.delete(group)
    ctx.db.flush()
    tags.forget(ctx.db, [group.id, *rule_ids])
    network_sync.changed(ctx.db, ctx.component, deleted_groups=[group.id])
    return {"Return": True, "GroupId": group.id}


# -- Describe -----------------------------------------------------------------------------------

def _permission_filters(prefix: str, member: str) -> filter_engine.FilterTable:
    return {
        f"{prefix}ip-permission.cidr": f"{member}.IpRanges.CidrIp",
        f"{prefix}ip-permission.from-port": f"{member}.FromPort",
        f"{prefix}ip-permission.to-port": f"{member}.ToPort",
        f"{prefix}ip-permission.protocol": f"{member}.IpProtocol",
        f"{prefix}ip-permission.group-id": f"{member}.UserIdGroupPairs.GroupId",
        f"{prefix}ip-permission.group-name": f"{member}.UserIdGroupPairs.GroupName",
        f"{prefix}ip-permission.user-id": f"{member}.UserIdGroupPairs.UserId",
    }


GROUP_FILTERS: filter_engine.FilterTable = {
    "description": "Description",
    "group-id": "GroupId",
    "group-name": "GroupName",
    "owner-id": "OwnerId",
    "vpc-id": "VpcId",
    **_permission_filters("", "IpPermissions"),
    **_permission_filters("egress.", "IpPermissionsEgress"),
    **filter_engine.TAG_FILTERS,
}


def group_items(session, account_id: str, groups: list[SecurityGroup]) -> list[dict]:
    """The groups in EC2's SecurityGroup shape, with their rules and tags."""
    wanted = [g.id for g in groups]
    all_rules = session.scalars(select(SecurityGroupRule).where(
        SecurityGroupRule.group_id.in_(wanted)).order_by(
        SecurityGroupRule.created_at, SecurityGroupRule.id)).all() if wanted else []
    by_group: dict[str, list[SecurityGroupRule]] = {}
    for r in all_rules:
        by_group.setdefault(r.group_id, []).append(r)
    names = rules.source_groups(session, all_rules)
    tag_map = tags.tags_of(session, account_id, wanted)
    out = []
    for g in groups:
        mine = by_group.get(g.id, [])
        out.append({"GroupId": g.id, "GroupName": g.name, "Description": g.description,
                    "OwnerId": g.account_id,
                    "IpPermissions": rules.ip_permissions(
                        [r for r in mine if not r.is_egress], names),
                    "IpPermissionsEgress": rules.ip_permissions(
                        [r for r in mine if r.is_egress], names),
                    "Tags": tag_map.get(g.id, [])})
    return out


@operation
def describe_security_groups(ctx, group_names: list[str] | None = None,
                             group_ids: list[str] | None = None,
                             filters: list[dict] | None = None, max_results: int | None = None,
                             next_token: str | None = None, **_) -> dict:
    """DescribeSecurityGroups: the caller's groups (by GroupNames/GroupIds, filtered)."""
    filter_engine.validate(filters, GROUP_FILTERS)
    ensure_default(ctx.db, ctx.account_id, ctx.component)
    if group_names or group_ids:
        chosen: dict[str, SecurityGroup] = {}
        for name in group_names or []:
            g = own_group(ctx.db, ctx.account_id, None, name)
            chosen.setdefault(g.id, g)
        for gid in group_ids or []:
            g = own_group(ctx.db, ctx.account_id, gid, None)
            chosen.setdefault(g.id, g)
        groups = list(chosen.values())
    else:
        groups = list(ctx.db.scalars(select(SecurityGroup).where(
            SecurityGroup.account_id == ctx.account_id).order_by(SecurityGroup.name)))
    items = filter_engine.apply(group_items(ctx.db, ctx.account_id, groups), filters,
                                GROUP_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda i: i["GroupId"], scope="DescribeSecurityGroups")
    return page.ec2_output("SecurityGroups")


# -- Authorize / Revoke -------------------------------------------------------------------------

def _requested(ctx, kw: dict) -> list[rules.Permission]:
    def resolve(session, account_id, gid, name, user_id):
        return source_group(session, account_id, gid, name, user_id, ctx.component)
    return rules.permissions_from_request(
        ctx.db, ctx.account_id, resolve, kw.get("ip_permissions"), kw.get("ip_protocol"),
        kw.get("from_port"), kw.get("to_port"), kw.get("cidr_ip"),
        kw.get("source_security_group_name"), kw.get("source_security_group_owner_id"))


def _existing(session, group: SecurityGroup, egress: bool) -> dict[tuple, SecurityGroupRule]:
    return {rules.rule_key(r): r for r in session.scalars(select(SecurityGroupRule).where(
        SecurityGroupRule.group_id == group.id, SecurityGroupRule.is_egress == egress))}


def _authorize(ctx, egress: bool, kw: dict) -> dict:
    action = "AuthorizeSecurityGroup" + ("Egress" if egress else "Ingress")
    require_managed(ctx, action)
    group = own_group(ctx.db, ctx.account_id, kw.get("group_id"), kw.get("group_name"),
                      ctx.component)
    wanted = _requested(ctx, kw)
    have = _existing(ctx.db, group, egress)
    for perm in wanted:
        if perm.key in have:
            raise ClientError("InvalidPermission.Duplicate",
                              f'the specified rule "{perm.text()}" already exists')
    made = [_add_rule(ctx.db, group, perm, egress) for perm in wanted]
    ctx.db.flush()
    tags.apply_tag_specifications(ctx.db, ctx.account_id, kw.get("tag_specifications"),
                                  {r.id: "security-group-rule" for r in made})
    network_sync.changed(ctx.db, ctx.component, groups=[group.id])
    names = rules.source_groups(ctx.db, made)
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.id for r in made])
    return {"Return": True,
            "SecurityGroupRules": [rules.rule_item(r, names, tag_map.get(r.id)) for r in made]}


def _revoke(ctx, egress: bool, kw: dict) -> dict:
    action = "RevokeSecurityGroup" + ("Egress" if egress else "Ingress")
    require_managed(ctx, action)
    group = own_group(ctx.db, ctx.account_id, kw.get("group_id"), kw.get("group_name"),
                      ctx.component)
    have = _existing(ctx.db, group, egress)
    rule_ids = kw.get("security_group_rule_ids") or []
    if rule_ids:
        by_id = {r.id: r for r in have.values()}
        gone = []
        for rid in rule_ids:
            if rid not in by_id:
                raise ClientError("InvalidSecurityGroupRuleId.NotFound",
                                  f"The security group rule ID '{rid}' does not exist")
            gone.append(by_id[rid])
    else:
        gone = []
        for perm in _requested(ctx, kw):
            row = have.get(perm.key)
            if row is None:
                raise ClientError("InvalidPermission.NotFound",
                                  f'The specified rule "{perm.text()}" does not exist in this '
                                  "security group.")
            gone.append(row)
    for row in dict.fromkeys(gone):
        ctx.db.delete(row)
    ctx.db.flush()
    tags.forget(ctx.db, [r.id for r in gone])
    network_sync.changed(ctx.db, ctx.component, groups=[group.id])
    return {"Return": True}


@operation
def authorize_security_group_ingress(ctx, **kw) -> dict:
    """AuthorizeSecurityGroupIngress (IpPermissions or the legacy flat parameters)."""
    return _authorize(ctx, False, kw)


@operation
def authorize_security_group_egress(ctx, **kw) -> dict:
    """AuthorizeSecurityGroupEgress (IpPermissions or the legacy flat parameters)."""
    return _authorize(ctx, True, kw)


@operation
def revoke_security_group_ingress(ctx, **kw) -> dict:
    """RevokeSecurityGroupIngress: every named rule must exist (InvalidPermission.NotFound)."""
    return _revoke(ctx, False, kw)


@operation
def revoke_security_group_egress(ctx, **kw) -> dict:
    """RevokeSecurityGroupEgress: every named rule must exist (InvalidPermission.NotFound)."""
    return _revoke(ctx, True, kw)

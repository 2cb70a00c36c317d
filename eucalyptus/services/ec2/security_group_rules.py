"""Security-group rules: parsing what Authorize/Revoke send, and the shapes EC2 answers with.

``permissions_from_request(...)`` turns the IpPermissions list, or the legacy flat parameters
(IpProtocol/FromPort/ToPort/CidrIp/SourceSecurityGroupName/SourceSecurityGroupOwnerId that
euca2ools and EC2-classic clients send), into a list of :class:`Permission` — one per source,
as EC2's security-group rules are — with AWS's validation:

- IpProtocol: tcp, udp, icmp, -1/all, or a protocol number 0..255 (6, 17 and 1 become tcp,
  udp and icmp); anything else is InvalidParameterValue.
- tcp/udp need FromPort and ToPort, 0..65535 with FromPort <= ToPort (-1/-1 means every port);
  icmp takes the type in FromPort and the code in ToPort, -1..255 each (-1 any; a code needs a
  type); other protocols have no ports (stored as -1).
- Each CidrIp must be an IPv4 network (stored normalised); each group pair names a group by
  GroupId, or by GroupName with UserId (default: the caller's account) — another account's
  group is fine — and a group that does not exist is InvalidGroup.NotFound.
- The legacy form with only a source group and no protocol means tcp, udp and icmp from that
  group (EC2-classic); with neither a CIDR nor a group the source is 0.0.0.0/0.

``DescribeSecurityGroupRules`` is here too, over the caller's groups.
"""
from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.db.network import SecurityGroup, SecurityGroupRule
from eucalyptus.errors import (ClientError, InvalidParameterCombination, InvalidParameterValue,
                               MissingParameter)

_NAMES = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "-1": "-1", "all": "-1",
          "6": "tcp", "17": "udp", "1": "icmp"}
_NO_PORTS = ("-1",)
MAX_DESCRIPTION = 255


@dataclass(frozen=True)
class Permission:
    """One rule as asked: protocol, ports, ONE source (``cidr`` or ``group_id``)."""
    protocol: str
    from_port: int
    to_port: int
    cidr: str = ""
    group_id: str = ""
    description: str = ""

    @property
    def key(self) -> tuple:
        """What makes two rules the same (the description does not)."""
        return (self.protocol, self.from_port, self.to_port, self.cidr, self.group_id)

    def text(self) -> str:
        peer = self.cidr or self.group_id
        return (f"peer: {peer}, {self.protocol.upper() if self.protocol != '-1' else 'ALL'}, "
                f"from port: {self.from_port}, to port: {self.to_port}, ALLOW")


def rule_key(row: SecurityGroupRule) -> tuple:
    return (row.protocol, row.from_port, row.to_port, row.cidr or "", row.source_group_id or "")


def new_rule_id() -> str:
    return "sgr-" + secrets.token_hex(9)[:17]


# -- validation ---------------------------------------------------------------------------------

def protocol_of(value) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text in _NAMES:
        return _NAMES[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return str(int(text))
    raise InvalidParameterValue(f"Invalid value '{value}' for IP protocol. Unknown protocol.")


def _int(value, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Invalid value '{value}' for {name}.") from None


def ports_of(protocol: str, from_port, to_port) -> tuple[int, int]:
    """(from, to) as stored for ``protocol`` (see the module docstring)."""
    low, high = _int(from_port, "fromPort"), _int(to_port, "toPort")
    if protocol in ("tcp", "udp"):
        if low is None or high is None:
            raise InvalidParameterValue("Invalid value for portRange. Must specify both from "
                                        "and to ports with TCP/UDP.")
        if (low, high) == (-1, -1):
            return 0, 65535
        if not (0 <= low <= 65535 and 0 <= high <= 65535):
            raise InvalidParameterValue(f"Invalid value '{low}-{high}' for portRange. Ports "
                                        "must be between 0 and 65535.")
        if low > high:
            raise InvalidParameterValue(f"Invalid value '{low}-{high}' for portRange. The "
                                        "from port must not be greater than the to port.")
        return low, high
    if protocol == "icmp":
        kind = -1 if low is None else low
        code = -1 if high is None else high
        if not (-1 <= kind <= 255 and -1 <= code <= 255):
            raise InvalidParameterValue(f"Invalid value '{kind}:{code}' for icmpTypeCode. "
                                        "ICMP type and code must be between -1 and 255.")
        if kind == -1 and code != -1:
            raise InvalidParameterValue(f"Invalid value '{kind}:{code}' for icmpTypeCode. "
                                        "An ICMP code needs an ICMP type.")
        return kind, code
    return -1, -1


def cidr_of(value) -> str:
    if not isinstance(value, str) or not value:
        raise MissingParameter("The request must contain the parameter cidrIp")
    try:
        network = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        raise InvalidParameterValue(f"CIDR block {value} is malformed") from None
    if "/" not in value:
        raise InvalidParameterValue(f"CIDR block {value} is malformed")
    return str(network)


def _description(value) -> str:
    text = value or ""
    if len(text) > MAX_DESCRIPTION:
        raise InvalidParameterValue("Rule descriptions are limited to 255 characters")
    return text


#: (session, caller account, GroupId, GroupName, UserId) -> the group, or InvalidGroup.NotFound
GroupResolver = Callable[[object, str, str | None, str | None, str | None], SecurityGroup]


def _one_permission(session, account_id: str, perm: dict, resolve: GroupResolver,
                    ) -> list[Permission]:
    if not isinstance(perm, dict):
        raise InvalidParameterValue("Invalid IpPermissions")
    if perm.get("Ipv6Ranges"):
        raise InvalidParameterValue("IPv6 rules are not supported by this cloud")
    if perm.get("PrefixListIds"):
        raise InvalidParameterValue("Prefix lists are not supported by this cloud")
    if perm.get("IpProtocol") in (None, ""):
        raise MissingParameter("The request must contain the parameter ipProtocol")
    protocol = protocol_of(perm["IpProtocol"])
    low, high = ports_of(protocol, perm.get("FromPort"), perm.get("ToPort"))
    out = []
    for item in perm.get("IpRanges") or []:
        out.append(Permission(protocol, low, high, cidr=cidr_of(item.get("CidrIp")),
                              description=_description(item.get("Description"))))
    for pair in perm.get("UserIdGroupPairs") or []:
        if not pair.get("GroupId") and not pair.get("GroupName"):
            raise MissingParameter("A group pair needs a GroupId or a GroupName")
        group = resolve(session, account_id, pair.get("GroupId"), pair.get("GroupName"),
                        pair.get("UserId"))
        out.append(Permission(protocol, low, high, group_id=group.id,
                              description=_description(pair.get("Description"))))
    if not out:
        raise MissingParameter("Each permission needs a source: IpRanges or "
                               "UserIdGroupPairs")
    return out


def permissions_from_request(session, account_id: str, resolve: GroupResolver,
                             ip_permissions: list | None, ip_protocol=None, from_port=None,
                             to_port=None, cidr_ip=None, source_group_name=None,
                             source_group_owner=None) -> list[Permission]:
    """The rules a request asks for, validated, in order and without repeats."""
    flat = any(v not in (None, "") for v in (ip_protocol, from_port, to_port, cidr_ip,
                                               source_group_name, source_group_owner))
    if ip_permissions and flat:
        raise InvalidParameterCombination("The parameter 'ipPermissions' may not be used in "
                                          "combination with 'ipProtocol'")
    if ip_permissions:
        perms = ip_permissions
    elif flat:
        if cidr_ip and source_group_name:
            raise InvalidParameterCombination("CidrIp may not be used together with "
                                              "SourceSecurityGroupName")
        if source_group_name:
            pairs = [{"GroupName": source_group_name, "UserId": source_group_owner}]
            if ip_protocol in (None, ""):
                perms = [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                          "UserIdGroupPairs": pairs},
                         {"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535,
                          "UserIdGroupPairs": pairs},
                         {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
                          "UserIdGroupPairs": pairs}]
            else:
                perms = [{"IpProtocol": ip_protocol, "FromPort": from_port, "ToPort": to_port,
                          "UserIdGroupPairs": pairs}]
        else:
            if source_group_owner:
                raise MissingParameter("The request must contain the parameter "
                                       "SourceSecurityGroupName")
            perms = [{"IpProtocol": ip_protocol, "FromPort": from_port, "ToPort": to_port,
                      "IpRanges": [{"CidrIp": cidr_ip or "0.0.0.0/0"}]}]
    else:
        raise MissingParameter("The request must contain the parameter ipPermissions")
    out: dict[tuple, Permission] = {}
    for perm in perms:
        for p in _one_permission(session, account_id, perm, resolve):
            out.setdefault(p.key, p)
    return list(out.values())


# -- output shapes ------------------------------------------------------------------------------

def _with_ports(protocol: str) -> bool:
    return protocol in ("tcp", "udp", "icmp")


def ip_permissions(rules: list[SecurityGroupRule], groups: dict[str, SecurityGroup]) -> list:
    """Rules as EC2's IpPermissions: one entry per (protocol, ports), CIDRs and groups inside.
    ``groups`` maps source group ids to their rows (for the names and owners)."""
    merged: dict[tuple, dict] = {}
    for row in rules:
        entry = merged.get((row.protocol, row.from_port, row.to_port))
        if entry is None:
            entry = {"IpProtocol": row.protocol, "IpRanges": [], "Ipv6Ranges": [],
                     "PrefixListIds": [], "UserIdGroupPairs": []}
            if _with_ports(row.protocol):
                entry["FromPort"], entry["ToPort"] = row.from_port, row.to_port
            merged[(row.protocol, row.from_port, row.to_port)] = entry
        if row.source_group_id:
            pair = {"GroupId": row.source_group_id}
            source = groups.get(row.source_group_id)
            if source is not None:
                pair.update(UserId=source.account_id, GroupName=source.name)
            if row.description:
                pair["Description"] = row.description
            entry["UserIdGroupPairs"].append(pair)
        else:
            item = {"CidrIp": row.cidr}
            if row.description:
                item["Description"] = row.description
            entry["IpRanges"].append(item)
    return list(merged.values())


def rule_item(row: SecurityGroupRule, groups: dict[str, SecurityGroup],
              tags: list[dict] | None = None) -> dict:
    """One rule in EC2's SecurityGroupRule shape."""
    item = {"SecurityGroupRuleId": row.id, "GroupId": row.group_id,
            "GroupOwnerId": row.account_id, "IsEgress": bool(row.is_egress),
            "IpProtocol": row.protocol, "FromPort": row.from_port, "ToPort": row.to_port,
            "Tags": list(tags or [])}
    if row.source_group_id:
        source = groups.get(row.source_group_id)
        item["ReferencedGroupInfo"] = {"GroupId": row.source_group_id,
                                       "UserId": source.account_id if source else ""}
    else:
        item["CidrIpv4"] = row.cidr
    if row.description:
        item["Description"] = row.description
    return item


def source_groups(session, rules: list[SecurityGroupRule]) -> dict[str, SecurityGroup]:
    wanted = {r.source_group_id for r in rules if r.source_group_id}
    if not wanted:
        return {}
    return {g.id: g for g in session.scalars(select(SecurityGroup).where(
        SecurityGroup.id.in_(wanted)))}


# -- DescribeSecurityGroupRules -----------------------------------------------------------------

RULE_FILTERS: filter_engine.FilterTable = {
    "group-id": "GroupId",
    "security-group-rule-id": "SecurityGroupRuleId",
    **filter_engine.TAG_FILTERS,
}


@operation
def describe_security_group_rules(ctx, security_group_rule_ids: list[str] | None = None,
                                  filters: list[dict] | None = None,
                                  max_results: int | None = None,
                                  next_token: str | None = None, **_) -> dict:
    """DescribeSecurityGroupRules: the rules of the caller's groups (filters group-id,
    security-group-rule-id, tags); an unknown rule id is InvalidSecurityGroupRuleId.NotFound."""
    from eucalyptus.services.ec2 import security_groups, tags
    filter_engine.validate(filters, RULE_FILTERS)
    security_groups.ensure_default(ctx.db, ctx.account_id)
    query = select(SecurityGroupRule).where(SecurityGroupRule.account_id == ctx.account_id)
    if security_group_rule_ids:
        query = query.where(SecurityGroupRule.id.in_(security_group_rule_ids))
    rows = ctx.db.scalars(query.order_by(SecurityGroupRule.created_at,
                                         SecurityGroupRule.id)).all()
    missing = sorted(set(security_group_rule_ids or []) - {r.id for r in rows})
    if missing:
        raise ClientError("InvalidSecurityGroupRuleId.NotFound",
                          f"The security group rule ID '{missing[0]}' does not exist")
    names = source_groups(ctx.db, rows)
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.id for r in rows])
    items = [rule_item(r, names, tag_map.get(r.id)) for r in rows]
    items = filter_engine.apply(items, filters, RULE_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda i: i["SecurityGroupRuleId"],
                               scope="DescribeSecurityGroupRules")
    return page.ec2_output("SecurityGroupRules")

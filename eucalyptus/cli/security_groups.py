"""euca-create-group, euca-delete-group, euca-describe-groups, euca-authorize, euca-revoke.

Records (euca2ools')::

    GROUP       <id>  <name>  <description>                        (create)
    RETURN      true                                               (delete)
    GROUP       <id>  <owner>  <name>  <description>  <vpc>        (describe, then per rule:)
    PERMISSION  <owner>  <name>  ALLOWS  <proto>  <from>  <to>  FROM  CIDR  <cidr>  ingress
    PERMISSION  <owner>  <name>  ALLOWS  <proto>  <from>  <to>  FROM  USER  <account>  ID  <sg>
                ingress                                  (TO ... egress for egress rules)
    TAG         security-group  <id>  <key>  <value>
    GROUP       <group>                                            (authorize / revoke, then)
    PERMISSION  <group>  ALLOWS  <proto>  <from>  <to>  [USER <account>] [GRPID|GRPNAME <g>]
                [FROM CIDR <cidr>]

``euca-authorize GROUP -P tcp|udp|icmp|<number> -p PORT|FROM-TO|SERVICE -t TYPE:CODE
-s CIDR | -o GROUP [-u ACCOUNT] [--egress]``: a group given as ``sg-...`` is an id, else a
name; the source defaults to 0.0.0.0/0; tcp and udp need ``-p`` (``-1`` means every port);
icmp takes ``-t`` (default ``-1:-1``). Values starting with ``-`` (``-t -1:-1``) are fine.
"""
from __future__ import annotations

import argparse
import re
import socket
from typing import Any, Iterable, Sequence

from eucalyptus.cli.command import Command, Record, arg, filter_arg
from eucalyptus.cli.connection import CommandError

_GROUP_ID = re.compile(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_VALUE_FLAGS = ("-t", "--icmp-type-code", "-p", "--port-range")


def group_param(text: str, id_member: str = "GroupId", name_member: str = "GroupName"
                ) -> dict[str, str]:
    """``{"GroupId": ...}`` for an ``sg-`` id, ``{"GroupName": ...}`` otherwise."""
    return {id_member: text} if _GROUP_ID.fullmatch(text) else {name_member: text}


# -- create / delete / describe ---------------------------------------------------------------

def _describe_build(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in args.groups:
        key = "GroupIds" if _GROUP_ID.fullmatch(group) else "GroupNames"
        out.setdefault(key, []).append(group)
    return out


def _permission_records(group: dict, perm: dict, egress: bool) -> Iterable[Record]:
    base = ("PERMISSION", group.get("OwnerId"), group.get("GroupName"), "ALLOWS",
            perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort"))
    way, direction = ("TO", "egress") if egress else ("FROM", "ingress")
    for item in perm.get("IpRanges", []):
        yield (*base, way, "CIDR", item.get("CidrIp"), direction)
    for pair in perm.get("UserIdGroupPairs", []):
        who = ("ID", pair["GroupId"]) if pair.get("GroupId") else \
            ("GRPNAME", pair.get("GroupName"))
        yield (*base, way, "USER", pair.get("UserId"), *who, direction)


def group_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for group in response.get("SecurityGroups", []):
        yield ("GROUP", group.get("GroupId"), group.get("OwnerId"), group.get("GroupName"),
               group.get("Description"), group.get("VpcId"))
        for perm in group.get("IpPermissions", []):
            yield from _permission_records(group, perm, False)
        for perm in group.get("IpPermissionsEgress", []):
            yield from _permission_records(group, perm, True)
        for tag in group.get("Tags", []):
            yield "TAG", "security-group", group.get("GroupId"), tag["Key"], tag.get("Value")


create_group = Command(
    name="euca-create-group", service="ec2", operation="CreateSecurityGroup",
    help="Create a security group.",
    args=[arg("GroupName", param="GroupName", metavar="NAME"),
          arg("-d", "--description", param="Description", required=True,
              help="description of the group (required)")],
    records=lambda response, args: [("GROUP", response.get("GroupId"), args.GroupName,
                                     args.Description)],
)

delete_group = Command(
    name="euca-delete-group", service="ec2", operation="DeleteSecurityGroup",
    help="Delete a security group (by name or sg- id).",
    args=[arg("group", metavar="GROUP", help="name or id of the group")],
    build=lambda args: group_param(args.group),
    records=lambda response, args: [("RETURN", "true")],
)

describe_groups = Command(
    name="euca-describe-groups", service="ec2", operation="DescribeSecurityGroups",
    help="Show security groups and their rules.",
    args=[arg("groups", nargs="*", metavar="GROUP", help="names or ids to show"),
          filter_arg()],
    build=_describe_build,
    records=group_records,
    json_output=True,
)


# -- authorize / revoke -----------------------------------------------------------------------

def _ports(protocol: str, port_range: str | None, icmp: str | None) -> tuple[Any, Any]:
    if protocol in ("icmp", "1"):
        if port_range:
            raise CommandError(f"argument -p/--port-range: not compatible with protocol "
                               f"{protocol}")
        kind, sep, code = (icmp or "-1:-1").partition(":")
        try:
            return int(kind), int(code) if sep else -1
        except ValueError:
            raise CommandError('argument -t/--icmp-type-code: value must look like '
                               '"8:0"') from None
    if icmp:
        raise CommandError(f"argument -t/--icmp-type-code: not compatible with protocol "
                           f"{protocol}")
    if protocol in ("tcp", "udp", "6", "17"):
        if not port_range:
            raise CommandError(f"argument -p/--port-range is required for protocol {protocol}")
        return _port_range(port_range, protocol)
    return None, None


def _port_range(text: str, protocol: str) -> tuple[int, int]:
    if text == "-1":
        return 0, 65535
    low, sep, high = text.partition("-") if not text.startswith("-") else (text, "", "")
    try:
        return int(low), int(high) if sep else int(low)
    except ValueError:
        pass
    try:
        port = socket.getservbyname(text, {"6": "tcp", "17": "udp"}.get(protocol, protocol))
        return port, port
    except OSError:
        raise CommandError(f"argument -p/--port-range: '{text}' is neither a port, a range "
                           "FROM-TO nor a service name") from None


def _rule_build(args: argparse.Namespace) -> dict[str, Any]:
    if args.cidr and args.source_group:
        raise CommandError("argument -s/--cidr: not allowed with argument -o")
    low, high = _ports(args.protocol, args.port_range, args.icmp_type_code)
    perm: dict[str, Any] = {"IpProtocol": args.protocol}
    if low is not None:
        perm["FromPort"], perm["ToPort"] = low, high
    if args.source_group:
        pair = group_param(args.source_group)
        if args.source_owner:
            pair["UserId"] = args.source_owner
        perm["UserIdGroupPairs"] = [pair]
    else:
        perm["IpRanges"] = [{"CidrIp": args.cidr or "0.0.0.0/0"}]
    return {**group_param(args.group), "IpPermissions": [perm]}


def _rule_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    params = _rule_build(args)
    (perm,) = params["IpPermissions"]
    line: list[Any] = ["PERMISSION", args.group, "ALLOWS", perm["IpProtocol"],
                       perm.get("FromPort"), perm.get("ToPort")]
    for pair in perm.get("UserIdGroupPairs", []):
        if pair.get("UserId"):
            line += ["USER", pair["UserId"]]
        line += ["GRPID", pair["GroupId"]] if "GroupId" in pair else \
            ["GRPNAME", pair["GroupName"]]
    for item in perm.get("IpRanges", []):
        line += ["FROM", "CIDR", item["CidrIp"]]
    return [("GROUP", args.group), tuple(line)]


class RuleCommand(Command):
    """A rule command: ``--egress`` picks the egress operation, and option values that start
    with ``-`` (``-t -1:-1``, ``-p -1``) are taken as values."""

    def __call__(self, argv: Sequence[str] | None = None) -> int:
        import sys
        given = list(sys.argv[1:] if argv is None else argv)
        joined: list[str] = []
        i = 0
        while i < len(given):
            if given[i] in _VALUE_FLAGS and i + 1 < len(given) and given[i + 1].startswith("-"):
                joined.append(f"{given[i]}={given[i + 1]}" if given[i].startswith("--")
                              else f"{given[i]}{given[i + 1]}")
                i += 2
                continue
            joined.append(given[i])
            i += 1
        return super().__call__(joined)

    def execute(self, connection, client, args: argparse.Namespace) -> dict:
        from eucalyptus.cli.command import call
        way = "Egress" if args.egress else "Ingress"
        return call(client, f"{self.operation}{way}", **self.params(args))


def _rule_args() -> list:
    return [arg("group", metavar="GROUP", help="name or id of the group to change"),
            arg("--egress", action="store_true", help="an egress rule (traffic leaving)"),
            arg("-P", "--protocol", default="tcp",
                help="tcp, udp, icmp, all or a protocol number (default tcp)"),
            arg("-p", "--port-range", metavar="RANGE",
                help="port, FROM-TO or service name (tcp/udp; -1 for all)"),
            arg("-t", "--icmp-type-code", metavar="TYPE:CODE",
                help="ICMP type and code (icmp; default -1:-1)"),
            arg("-s", "--cidr", metavar="CIDR", help="source address range (default 0.0.0.0/0)"),
            arg("-o", dest="source_group", metavar="GROUP",
                help="source group (name or id) instead of a CIDR"),
            arg("-u", dest="source_owner", metavar="ACCOUNT",
                help="account owning the -o group (default: yours)")]


authorize = RuleCommand(
    name="euca-authorize", service="ec2", operation="AuthorizeSecurityGroup",
    help="Add a rule to a security group, allowing traffic.",
    args=_rule_args(), build=_rule_build, records=_rule_records,
)

revoke = RuleCommand(
    name="euca-revoke", service="ec2", operation="RevokeSecurityGroup",
    help="Remove a rule from a security group.",
    args=_rule_args(), build=_rule_build, records=_rule_records,
)

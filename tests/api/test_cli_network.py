"""The security-group and address commands (euca-create-group ... euca-describe-addresses)
against the live cloud, printing euca2ools' records. Each test works in a fresh account."""
from __future__ import annotations

import json

from eucalyptus.cli.addresses import (allocate_address, associate_address, describe_addresses,
                                      disassociate_address, release_address)
from eucalyptus.cli.security_groups import (authorize, create_group, delete_group,
                                            describe_groups, revoke)
from tests.api.cli_runner import SQLITE_ONLY, account, cli  # noqa: F401 (fixtures)

pytestmark = SQLITE_ONLY


def rows(lines: list[str]) -> list[list[str]]:
    return [line.split("\t") for line in lines]


def test_group_commands(cli, account):
    me = account.account_id
    (made,) = rows(cli(create_group, "web", "-d", "web servers").ok())
    assert made[0] == "GROUP" and made[1].startswith("sg-") and made[2:] == ["web",
                                                                            "web servers"]
    gid = made[1]
    assert rows(cli(authorize, "web", "-P", "tcp", "-p", "22", "-s", "10.0.0.0/8").ok()) == [
        ["GROUP", "web"], ["PERMISSION", "web", "ALLOWS", "tcp", "22", "22", "FROM", "CIDR",
                           "10.0.0.0/8"]]
    assert rows(cli(authorize, gid, "-P", "icmp", "-t", "-1:-1", "-o", "default").ok())[1] == [
        "PERMISSION", gid, "ALLOWS", "icmp", "-1", "-1", "GRPNAME", "default"]
    cli(authorize, "web", "-P", "udp", "-p", "5000-5010").ok()      # source: 0.0.0.0/0
    cli(authorize, gid, "--egress", "-P", "tcp", "-p", "-1", "-s", "192.168.0.0/16").ok()
    listed = rows(cli(describe_groups, "web").ok())
    assert listed[0] == ["GROUP", gid, me, "web", "web servers", ""]
    perms = {tuple(r[4:]) for r in listed if r[0] == "PERMISSION"}
    assert all(r[1:4] == [me, "web", "ALLOWS"] for r in listed[1:])
    assert perms == {("tcp", "22", "22", "FROM", "CIDR", "10.0.0.0/8", "ingress"),
                     ("icmp", "-1", "-1", "FROM", "USER", me, "ID", _default_id(cli, account),
                      "ingress"),
                     ("udp", "5000", "5010", "FROM", "CIDR", "0.0.0.0/0", "ingress"),
                     ("-1", "", "", "TO", "CIDR", "0.0.0.0/0", "egress"),
                     ("tcp", "0", "65535", "TO", "CIDR", "192.168.0.0/16", "egress")}
    dup = cli(authorize, "web", "-P", "tcp", "-p", "22", "-s", "10.0.0.0/8")
    assert dup.status == 1 and "InvalidPermission.Duplicate" in dup.err
    no_port = cli(authorize, "web", "-P", "tcp")
    assert no_port.status == 1 and "-p/--port-range is required" in no_port.err
    assert cli(revoke, "web", "-P", "tcp", "-p", "22", "-s", "10.0.0.0/8").ok()[0] == \
        "GROUP\tweb"
    missing = cli(revoke, "web", "-P", "tcp", "-p", "22", "-s", "10.0.0.0/8")
    assert missing.status == 1 and "InvalidPermission.NotFound" in missing.err
    names = [r[3] for r in rows(cli(describe_groups).ok()) if r[0] == "GROUP"]
    assert sorted(names) == ["default", "web"]
    document = json.loads("\n".join(cli(describe_groups, "--json").ok()))
    assert {g["GroupName"] for g in document["SecurityGroups"]} == {"default", "web"}
    assert rows(cli(describe_groups, "-F", "group-name=web").ok())[0][3] == "web"
    held = cli(delete_group, "default")
    assert held.status == 1 and "CannotDelete" in held.err
    assert cli(delete_group, gid).ok() == ["RETURN\ttrue"]
    gone = cli(delete_group, "web")
    assert gone.status == 1 and "InvalidGroup.NotFound" in gone.err


def _default_id(cli, account) -> str:
    listed = rows(cli(describe_groups, "default").ok())
    return listed[0][1]


def test_address_commands(cli, account):
    (made,) = rows(cli(allocate_address).ok())
    assert made[0] == "ADDRESS" and made[2] == "standard" and made[3].startswith("eipalloc-")
    ip, alloc = made[1], made[3]
    (vpc,) = rows(cli(allocate_address, "-d", "vpc").ok())
    assert vpc[2] == "vpc"
    listed = rows(cli(describe_addresses).ok())
    assert sorted(r[1] for r in listed) == sorted([ip, vpc[1]])
    assert ["ADDRESS", ip, "", "standard", alloc, "", "", ""] in listed
    assert rows(cli(describe_addresses, alloc).ok()) == [["ADDRESS", ip, "", "standard", alloc,
                                                          "", "", ""]]
    bad = cli(associate_address, ip, "-i", "i-00000000")
    assert bad.status == 1 and "InvalidInstanceID.NotFound" in bad.err
    both = cli(associate_address, ip, "-i", "i-00000000", "-a", alloc)
    assert both.status == 1 and "not allowed with an IP address" in both.err
    assert cli(disassociate_address, ip).ok() == [f"ADDRESS\t{ip}"]
    assert cli(release_address, ip).ok() == [f"ADDRESS\t{ip}"]
    assert cli(release_address, "-a", vpc[3]).ok() == [f"ADDRESS\t{vpc[3]}"]
    again = cli(release_address, ip)
    assert again.status == 1 and "AuthFailure" in again.err
    assert cli(describe_addresses).ok() == []


def test_admin_verbose_addresses(cli, account):
    (made,) = rows(cli(allocate_address).ok())
    cli.act_as(cli.admin)
    listed = {r[1]: r[2] for r in rows(cli(describe_addresses, "verbose").ok())}
    assert listed[made[1]] == f"nobody ({account.account_name})"
    assert "available" in listed.values()
    cli.act_as(account)
    cli(release_address, made[1]).ok()

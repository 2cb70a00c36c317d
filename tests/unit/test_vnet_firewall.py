"""Security groups rendered as nftables text (eucalyptus.cc.vnet.firewall): pure functions."""
from __future__ import annotations

import pytest

from eucalyptus.cc.vnet import firewall
from eucalyptus.cc.vnet.firewall import Member, build, render_changes, render_full
from eucalyptus.cc.vnet.policy_messages import GroupSpec, RuleSpec
from eucalyptus.errors import InvalidParameterValue

WEB, DB, OTHER = "sg-0000000a", "sg-0000000b", "sg-0000000c"
T = "inet euca_filter"


def group(gid, ingress=(), egress=(RuleSpec("-1", cidrs=["0.0.0.0/0"]),), owner="111122223333"):
    return firewall.check_group(GroupSpec(gid, owner, gid, list(ingress), list(egress)))


def chain(rs, name):
    return list(rs.chains[name])


def test_tcp_and_udp_ports_single_range_and_any():
    g = group(WEB, [RuleSpec("tcp", 22, 22, ["10.88.0.2/32"]),
                    RuleSpec("tcp", 1000, 2000, ["10.0.0.0/8"]),
                    RuleSpec("udp", -1, -1, ["192.168.1.0/24"]),
                    RuleSpec("udp", 0, 65535, ["192.168.2.0/24"]),
                    RuleSpec("17", 53, 53, ["192.168.3.0/24"])])
    lines = chain(build({WEB: g}, []), "gi_sg_0000000a")
    assert lines == ["ip saddr @m_sg_0000000a accept",
                     "ip saddr { 10.88.0.2 } tcp dport 22 accept",
                     "ip saddr { 10.0.0.0/8 } tcp dport 1000-2000 accept",
                     "ip saddr { 192.168.1.0/24 } meta l4proto udp accept",
                     "ip saddr { 192.168.2.0/24 } meta l4proto udp accept",
                     "ip saddr { 192.168.3.0/24 } udp dport 53 accept"]


def test_icmp_type_and_code():
    g = group(WEB, [RuleSpec("icmp", -1, -1, ["1.0.0.0/8"]),
                    RuleSpec("icmp", 8, -1, ["2.0.0.0/8"]),
                    RuleSpec("1", 3, 4, ["3.0.0.0/8"]),
                    RuleSpec("icmpv6", 128, -1, ["2001:db8::/32"]),
                    RuleSpec("58", -1, -1, ["2001:db9::/32"])])
    assert chain(build({WEB: g}, []), "gi_sg_0000000a")[1:] == [
        "ip saddr { 1.0.0.0/8 } meta l4proto icmp accept",
        "ip saddr { 2.0.0.0/8 } icmp type 8 accept",
        "ip saddr { 3.0.0.0/8 } icmp type 3 icmp code 4 accept",
        "ip6 saddr { 2001:db8::/32 } icmpv6 type 128 accept",
        "ip6 saddr { 2001:db9::/32 } meta l4proto ipv6-icmp accept"]


def test_all_protocols_numeric_protocols_and_any_source():
    g = group(WEB, [RuleSpec("-1", cidrs=["0.0.0.0/0"]), RuleSpec("all", cidrs=["5.5.5.5"]),
                    RuleSpec("47", cidrs=["6.0.0.0/8"]), RuleSpec("132", 1, 2, ["7.0.0.0/8"])])
    assert chain(build({WEB: g}, []), "gi_sg_0000000a")[1:] == [
        "accept", "ip saddr { 5.5.5.5 } accept",
        "ip saddr { 6.0.0.0/8 } meta l4proto 47 accept",
        "ip saddr { 7.0.0.0/8 } meta l4proto 132 accept"]


def test_cidrs_are_collapsed_and_ipv6_kept_apart():
    g = group(WEB, [RuleSpec("tcp", 80, 80, ["10.1.0.0/16", "10.0.0.0/8", "10.2.3.4",
                                              "2001:db8::/32"])])
    assert chain(build({WEB: g}, []), "gi_sg_0000000a")[1:] == [
        "ip saddr { 10.0.0.0/8 } tcp dport 80 accept",
        "ip6 saddr { 2001:db8::/32 } tcp dport 80 accept"]


def test_group_sources_including_another_accounts_group_get_a_set():
    g = group(WEB, [RuleSpec("tcp", 5432, 5432, groups=[DB, OTHER])])
    theirs = Member("i-000000c1", "10.77.0.9", "10.88.0.60", (OTHER,))
    rs = build({WEB: g}, [theirs])
    assert chain(rs, "gi_sg_0000000a")[1:] == [
        "ip saddr @m_sg_0000000b tcp dport 5432 accept",
        "ip saddr @m_sg_0000000c tcp dport 5432 accept"]
    # the other account's group is unknown here but its members are: private and public ip
    assert rs.sets["m_sg_0000000c"] == {"10.77.0.9", "10.88.0.60"}
    assert rs.sets["m_sg_0000000b"] == frozenset()
    assert "gi_sg_0000000b" not in rs.chains           # no members, no rules: no chain
    assert rs.maps["ingress_of"]["10.77.0.9"] == "ii_i_000000c1"


def test_rules_without_source_match_nothing_and_duplicates_render_once():
    g = group(WEB, [RuleSpec("tcp", 22, 22), RuleSpec("tcp", 80, 80, ["1.2.3.4"]),
                    RuleSpec("tcp", 80, 80, ["1.2.3.4/32"])])
    assert chain(build({WEB: g}, []), "gi_sg_0000000a")[1:] == [
        "ip saddr { 1.2.3.4 } tcp dport 80 accept"]


def test_egress_rules_match_destinations_and_default_is_open():
    g = group(WEB, egress=[RuleSpec("tcp", 443, 443, ["8.8.8.8"])])
    rs = build({WEB: g, DB: group(DB)}, [])
    assert chain(rs, "ge_sg_0000000a") == ["ip daddr @m_sg_0000000a accept",
                                           "ip daddr { 8.8.8.8 } tcp dport 443 accept"]
    assert chain(rs, "ge_sg_0000000b") == ["ip daddr @m_sg_0000000b accept", "accept"]


def test_same_group_members_and_instance_chains():
    a = Member("i-000000a1", "10.77.0.2", "10.88.0.50", (WEB,))
    b = Member("i-000000a2", "10.77.0.3", "", (WEB, DB))
    rs = build({WEB: group(WEB), DB: group(DB)}, [a, b])
    assert rs.sets["m_sg_0000000a"] == {"10.77.0.2", "10.77.0.3", "10.88.0.50"}
    assert rs.sets["m_sg_0000000b"] == {"10.77.0.3"}
    assert chain(rs, "ii_i_000000a2") == ["jump gi_sg_0000000a", "jump gi_sg_0000000b", "drop"]
    assert chain(rs, "ie_i_000000a2") == ["jump ge_sg_0000000a", "jump ge_sg_0000000b", "drop"]
    assert rs.maps == {"ingress_of": {"10.77.0.2": "ii_i_000000a1", "10.77.0.3": "ii_i_000000a2"},
                       "egress_of": {"10.77.0.2": "ie_i_000000a1", "10.77.0.3": "ie_i_000000a2"}}


def test_group_without_rules_and_instance_without_groups():
    lonely = Member("i-000000a1", "10.77.0.2", "", (OTHER,))
    bare = Member("i-000000a2", "10.77.0.3", "", ())
    rs = build({}, [lonely, bare])
    assert chain(rs, "gi_sg_0000000c") == ["ip saddr @m_sg_0000000c accept"]
    assert chain(rs, "ge_sg_0000000c") == ["ip daddr @m_sg_0000000c accept"]
    assert chain(rs, "ii_i_000000a2") == ["drop"]          # no group: no ingress at all
    assert "ie_i_000000a2" not in rs.chains and "10.77.0.3" not in rs.maps["egress_of"]


def test_full_render_declares_before_use_and_never_closes_a_brace_after_a_rule():
    a = Member("i-000000a1", "10.77.0.2", "", (WEB,))
    text = render_full(build({WEB: group(WEB, [RuleSpec("tcp", 22, 22, ["0.0.0.0/0"])])}, [a]))
    lines = text.splitlines()
    assert lines[:3] == [f"add table {T}", f"delete table {T}", f"add table {T}"]
    first_rule = next(i for i, line in enumerate(lines) if line.startswith("add rule"))
    assert all(not line.startswith(("add chain", "add set", "add map"))
               or i < first_rule or "hook forward" in line for i, line in enumerate(lines))
    assert f"add rule {T} gi_sg_0000000a tcp dport 22 accept" in lines
    assert f"add element {T} ingress_of {{ 10.77.0.2 : jump ii_i_000000a1 }}" in lines
    assert (f"add chain {T} egress {{ type filter hook forward priority -10; policy accept; }}"
            in lines)
    assert f"add rule {T} ingress ip daddr vmap @ingress_of" in lines
    assert f"add rule {T} egress ip saddr vmap @egress_of" in lines
    assert all(not line.startswith("add rule") or not line.rstrip().endswith("}")
               or "{" in line for line in lines)


def test_a_rule_change_touches_only_that_groups_chain():
    members = [Member(f"i-000000{n:02x}", f"10.77.0.{n}", "", (WEB if n % 2 else DB,))
               for n in range(2, 22)]
    old = build({WEB: group(WEB), DB: group(DB)}, members)
    new = build({WEB: group(WEB, [RuleSpec("tcp", 22, 22, ["10.88.0.0/24"])]), DB: group(DB)},
                members)
    assert render_changes(old, new).splitlines() == [
        f"flush chain {T} gi_sg_0000000a",
        f"add rule {T} gi_sg_0000000a ip saddr @m_sg_0000000a accept",
        f"add rule {T} gi_sg_0000000a ip saddr {{ 10.88.0.0/24 }} tcp dport 22 accept"]
    assert render_changes(new, new) == ""


def test_membership_changes_are_element_updates():
    a = Member("i-000000a1", "10.77.0.2", "", (WEB,))
    b = Member("i-000000a2", "10.77.0.3", "", (WEB,))
    groups = {WEB: group(WEB)}
    old, new = build(groups, [a]), build(groups, [a, b])
    assert render_changes(old, new).splitlines() == [
        f"add chain {T} ii_i_000000a2", f"add chain {T} ie_i_000000a2",
        f"add element {T} m_sg_0000000a {{ 10.77.0.3 }}",
        f"add rule {T} ii_i_000000a2 jump gi_sg_0000000a", f"add rule {T} ii_i_000000a2 drop",
        f"add rule {T} ie_i_000000a2 jump ge_sg_0000000a", f"add rule {T} ie_i_000000a2 drop",
        f"add element {T} ingress_of {{ 10.77.0.3 : jump ii_i_000000a2 }}",
        f"add element {T} egress_of {{ 10.77.0.3 : jump ie_i_000000a2 }}"]
    back = render_changes(new, old).splitlines()
    assert back == [
        f"delete element {T} ingress_of {{ 10.77.0.3 }}",
        f"delete element {T} egress_of {{ 10.77.0.3 }}",
        f"delete element {T} m_sg_0000000a {{ 10.77.0.3 }}",
        f"flush chain {T} ii_i_000000a2", f"flush chain {T} ie_i_000000a2",
        f"delete chain {T} ii_i_000000a2", f"delete chain {T} ie_i_000000a2"]


def test_a_public_address_moving_updates_set_elements_only():
    groups = {WEB: group(WEB)}
    old = build(groups, [Member("i-000000a1", "10.77.0.2", "10.88.0.50", (WEB,)),
                         Member("i-000000a2", "10.77.0.3", "", (WEB,))])
    new = build(groups, [Member("i-000000a1", "10.77.0.2", "", (WEB,)),
                         Member("i-000000a2", "10.77.0.3", "10.88.0.50", (WEB,))])
    assert render_changes(old, new) == ""       # the set holds the address either way


def test_dropping_a_group_removes_its_chains_after_their_references():
    a = Member("i-000000a1", "10.77.0.2", "", (WEB,))
    old = build({WEB: group(WEB), DB: group(DB, [RuleSpec("tcp", 1, 2, groups=[OTHER])])}, [a])
    new = build({WEB: group(WEB)}, [a])
    lines = render_changes(old, new).splitlines()
    assert lines == [f"flush chain {T} gi_sg_0000000b", f"flush chain {T} ge_sg_0000000b",
                     f"delete chain {T} gi_sg_0000000b", f"delete chain {T} ge_sg_0000000b",
                     f"delete set {T} m_sg_0000000b", f"delete set {T} m_sg_0000000c"]


@pytest.mark.parametrize("rule", [
    RuleSpec("tcp", 10, 5, ["1.2.3.4"]), RuleSpec("tcp", 0, 70000, ["1.2.3.4"]),
    RuleSpec("udp", -1, 5, ["1.2.3.4"]), RuleSpec("icmp", 300, -1, ["1.2.3.4"]),
    RuleSpec("gre", cidrs=["1.2.3.4"]), RuleSpec("256", cidrs=["1.2.3.4"]),
    RuleSpec("tcp", 22, 22, ["10.0.0.0/33"]), RuleSpec("tcp", 22, 22, ["x; drop"]),
    RuleSpec("tcp", 22, 22, groups=["sg-1; flush ruleset"]),
])
def test_rules_the_firewall_cannot_enforce_exactly_are_refused(rule):
    with pytest.raises(InvalidParameterValue):
        group(WEB, [rule])


@pytest.mark.parametrize("gid", ["default", "sg-XYZ", "sg-123", "sg-0000000a; flush"])
def test_bad_group_ids_are_refused(gid):
    with pytest.raises(InvalidParameterValue):
        firewall.check_group(GroupSpec(gid, "1", "n"))


def test_protocol_names_are_normalised():
    g = group(WEB, [RuleSpec("TCP", 22, 22, ["1.2.3.4"]), RuleSpec("6", 23, 23, ["1.2.3.4"])])
    assert [r.protocol for r in g.ingress] == ["6", "6"]
    assert firewall.protocol_number("-1") == firewall.protocol_number("all") == -1

"""The cluster's network policy store and its internal API (eucalyptus.cc.vnet.policy), on a
backend that records the nft transactions instead of running them."""
from __future__ import annotations

import asyncio
import json

import pytest

from eucalyptus.cc.vnet.policy import NetworkPolicy
from eucalyptus.cc.vnet.policy_messages import (GroupSpec, PolicyApplied, PublicAddresses,
                                                RuleSpec, SecurityGroups)
from eucalyptus.drivers.network.base import NetworkError
from eucalyptus.errors import InvalidParameterValue, ServiceUnavailable, ValidationError
from eucalyptus.rpc.messages import from_wire, to_wire
from eucalyptus.rpc.server import RpcRoutes

WEB, DB = "sg-0000000a", "sg-0000000b"


class RecordingBackend:
    """Records ``nft -f`` texts; ``refuse`` makes the next N transactions fail."""

    def __init__(self):
        self.applied: list[str] = []
        self.links = {"eucapub0": ["10.88.0.1/24"]}
        self.refuse = 0

    def apply_rules(self, ns, text):
        if self.refuse:
            self.refuse -= 1
            raise NetworkError("nft -f failed: No such file or directory")
        self.applied.append(text)

    def link_names(self, ns):
        return list(self.links)

    def ensure_bridge(self, ns, name, address=""):
        self.links.setdefault(name, [address])

    def addresses_of(self, ns, dev):
        return list(self.links.get(dev, []))

    def add_address(self, ns, dev, address):
        self.links[dev].append(address)

    def remove_address(self, ns, dev, address):
        self.links[dev].remove(address)


def web(ports=(22,)):
    return GroupSpec(WEB, "111122223333", "web",
                     [RuleSpec("tcp", p, p, ["10.88.0.0/24"]) for p in ports],
                     [RuleSpec("-1", cidrs=["0.0.0.0/0"])])


@pytest.fixture
def made(tmp_path):
    backend = RecordingBackend()

    def make(start=True) -> NetworkPolicy:
        policy = NetworkPolicy(backend, "euca-test", tmp_path, private_networks=["10.77.0.0/16"])
        if start:
            asyncio.run(policy.start())
        return policy
    make.backend = backend
    make.dir = tmp_path
    return make


def run(coro):
    return asyncio.run(coro)


def test_start_loads_both_tables_whole(made):
    made()
    assert len(made.backend.applied) == 2
    assert made.backend.applied[0].startswith("add table inet euca_filter\n")
    assert made.backend.applied[1].startswith("add table ip euca_nat\n")


def test_rule_change_is_one_transaction_on_that_group_only(made):
    policy = made()
    run(policy.attached("i-000000a1", "10.77.0.2", [WEB]))
    assert run(policy.put_groups([web()])) == PolicyApplied(1, 0, True)
    made.backend.applied.clear()
    run(policy.put_groups([web((22, 80))]))
    (text,) = made.backend.applied
    assert text.splitlines()[0] == "flush chain inet euca_filter gi_sg_0000000a"
    assert "tcp dport 80 accept" in text and "euca_nat" not in text
    run(policy.put_groups([web((22, 80))]))                  # the same again: nothing to do
    assert len(made.backend.applied) == 1


def test_complete_replaces_and_partial_merges(made):
    policy = made()
    run(policy.put_groups([web(), GroupSpec(DB, "1", "db")]))
    run(policy.put_groups([GroupSpec(DB, "1", "db")]))
    assert set(policy.state.groups) == {WEB, DB}
    assert run(policy.put_groups([GroupSpec(DB, "1", "db")], complete=True)).groups == 1
    assert set(policy.state.groups) == {DB}
    run(policy.delete_groups([DB, "sg-0000ffff"]))
    assert policy.state.groups == {}


def test_addresses_follow_attachment_and_complete_replaces(made):
    policy = made()
    run(policy.put_addresses([("10.88.0.50", "i-000000a1"), ("10.88.0.51", "")]))
    assert "10.88.0.50/32" not in made.backend.links["eucapub0"]   # instance not here yet
    run(policy.attached("i-000000a1", "10.77.0.2", [WEB]))
    assert "10.88.0.50/32" in made.backend.links["eucapub0"]
    assert "add element ip euca_nat dnat_of { 10.88.0.50 : 10.77.0.2 }" in \
        made.backend.applied[-1]
    # the member set of its group now holds the public address too
    assert policy._filter.sets["m_sg_0000000a"] == {"10.77.0.2", "10.88.0.50"}
    made.backend.applied.clear()
    run(policy.put_addresses([("10.88.0.52", "i-000000a1")], complete=True))
    assert set(policy.state.assignments) == {"10.88.0.52"}
    assert made.backend.links["eucapub0"] == ["10.88.0.1/24", "10.88.0.52/32"]
    run(policy.detached("i-000000a1"))
    assert made.backend.links["eucapub0"] == ["10.88.0.1/24"]
    assert policy.state.members == {}
    run(policy.delete_addresses(["10.88.0.52"]))
    assert policy.state.assignments == {}


def test_state_survives_a_restart_and_is_enforced_whole_again(made):
    policy = made()
    run(policy.put_groups([web()]))
    run(policy.attached("i-000000a1", "10.77.0.2", [WEB]))
    run(policy.put_addresses([("10.88.0.50", "i-000000a1")]))
    saved = json.loads((made.dir / "policy.json").read_text())
    assert saved["members"] == {"i-000000a1": {"private_ip": "10.77.0.2", "groups": [WEB]}}
    made.backend.applied.clear()
    again = made()
    assert again.state.groups[WEB] == policy.state.groups[WEB]
    assert again.state.assignments == {"10.88.0.50": "i-000000a1"}
    full_filter, full_nat = made.backend.applied
    assert "add rule inet euca_filter gi_sg_0000000a ip saddr { 10.88.0.0/24 } tcp dport 22 " \
           "accept" in full_filter
    assert "10.88.0.50 : 10.77.0.2" in full_nat


def test_before_start_calls_only_store(made):
    policy = made(start=False)
    assert run(policy.put_groups([web()])).enforced is False
    run(policy.attached("i-000000a1", "10.77.0.2", [WEB]))
    assert made.backend.applied == []
    run(policy.start())
    assert "ii_i_000000a1" in made.backend.applied[0]


def test_a_refused_increment_falls_back_to_the_whole_table(made):
    policy = made()
    made.backend.refuse = 1
    run(policy.put_groups([web()]))
    assert made.backend.applied[-1].startswith("add table inet euca_filter\n")


def test_host_failure_is_service_unavailable_and_the_state_is_kept(made):
    policy = made()
    made.backend.refuse = 2
    with pytest.raises(ServiceUnavailable):
        run(policy.put_groups([web()]))
    assert WEB in policy.state.groups
    run(policy.put_groups([web()]))               # next call reloads the tables whole
    assert made.backend.applied[-2].startswith("add table inet euca_filter\n")


@pytest.mark.parametrize("call", [
    lambda p: p.put_groups([GroupSpec("default", "1", "x")]),
    lambda p: p.put_groups([GroupSpec(WEB, "1", "x", [RuleSpec("tcp", 1, 2, ["nonsense"])])]),
    lambda p: p.put_addresses([("10.88.0.300", "i-000000a1")]),
    lambda p: p.put_addresses([("10.88.0.50", "sg-0000000a")]),
    lambda p: p.attached("i-000000a1", "10.77.0.2", ["sg-bad"]),
])
def test_bad_input_is_refused_before_anything_changes(made, call):
    policy = made()
    before = list(made.backend.applied)
    with pytest.raises(InvalidParameterValue):
        run(call(policy))
    assert made.backend.applied == before and not (made.dir / "policy.json").exists()


def test_routes_serve_the_contract_messages(made):
    policy = made()
    routes = RpcRoutes(made.dir)
    policy.add_routes(routes)
    paths = {path for _, path in routes.routes}
    assert paths == {f"/internal/cluster/network/{p}" for p in
                     ("groups/put", "groups/delete", "addresses/put", "addresses/delete")}
    route = routes.routes[("POST", "/internal/cluster/network/groups/put")]
    assert route.callers == frozenset({"clc", "admin"})
    msg = from_wire(SecurityGroups, {"groups": [to_wire(web())], "complete": True})
    assert to_wire(run(route.handler(msg, "clc"))) == {"groups": 1, "public_ips": 0,
                                                      "enforced": True}
    route = routes.routes[("POST", "/internal/cluster/network/addresses/put")]
    msg = from_wire(PublicAddresses, {"assignments": [{"public_ip": "10.88.0.50",
                                                       "instance_id": ""}]})
    assert run(route.handler(msg, "clc")).public_ips == 1
    with pytest.raises(ValidationError):
        from_wire(SecurityGroups, {"groups": [{"group_id": WEB}]})

"""Elastic IPs with real packets: 1:1 NAT in a cloud namespace, instances and a client in
namespaces of their own (see vnet_policy_world.py)."""
from __future__ import annotations

import pytest

from eucalyptus.cc.vnet.policy import NetworkPolicy
from eucalyptus.cc.vnet.policy_messages import GroupSpec, RuleSpec
from tests.system.vnet_policy_world import PolicyWorld

pytestmark = pytest.mark.system

WEB = "sg-000000d1"
EIP = "10.88.0.50"


@pytest.fixture
def world(netns_backend, loop_thread, tmp_path, root_namespace_unchanged):
    made = PolicyWorld(netns_backend, loop_thread, tmp_path / "vnet")
    made.loop.run(made.policy.put_groups([GroupSpec(
        WEB, "111111111111", "web", [RuleSpec("tcp", 8080, 8080, ["10.88.0.0/24"])],
        [RuleSpec("-1", cidrs=["0.0.0.0/0"])])]))
    yield made
    made.close()


def test_an_elastic_ip_moved_to_another_instance_carries_the_traffic(world):
    world.instance("i-000000e1", 31, [WEB])
    world.instance("i-000000e2", 32, [WEB])
    put = world.policy.put_addresses
    assert world.probe(world.client, EIP, 8080) != "i-000000e1 10.88.0.2"
    took = world.change(put([(EIP, "i-000000e1")]),
                        lambda: world.probe(world.client, EIP, 8080) == "i-000000e1 10.88.0.2")
    assert took < 1.0
    assert f"{EIP}/32" in world.backend.addresses_of(world.ns, "eucapub0")
    took = world.change(put([(EIP, "i-000000e2")]),
                        lambda: world.probe(world.client, EIP, 8080) == "i-000000e2 10.88.0.2")
    assert took < 1.0
    # traffic made inside the cloud's own namespace reaches the instance too
    assert world.probe(world.ns, EIP, 8080).startswith("i-000000e2 ")
    # mapped to nothing: the address leaves the interface and answers no more
    world.loop.run(put([(EIP, "")]))
    assert f"{EIP}/32" not in world.backend.addresses_of(world.ns, "eucapub0")
    assert world.probe(world.client, EIP, 8080, timeout=0.5) in ("timeout", "error [Errno 113] "
                                                                 "No route to host")
    # released altogether, and a second address to the first instance
    world.loop.run(world.policy.delete_addresses([EIP]))
    world.loop.run(put([("10.88.0.51", "i-000000e1")]))
    assert world.probe(world.client, "10.88.0.51", 8080) == "i-000000e1 10.88.0.2"


def test_outbound_traffic_leaves_with_the_public_address(world):
    world.serve(world.client, "client", "0.0.0.0", (9000,))
    world.instance("i-000000e3", 33, [WEB])
    world.instance("i-000000e4", 34, [WEB])
    world.loop.run(world.policy.put_addresses([(EIP, "i-000000e3")]))
    one, two = world.instances["i-000000e3"], world.instances["i-000000e4"]
    assert world.probe(one, "10.88.0.2", 9000) == f"client {EIP}"
    assert world.probe(two, "10.88.0.2", 9000) == "client 10.88.0.1"      # no address of its own
    world.loop.run(world.policy.put_addresses([(EIP, "i-000000e4")]))
    assert world.probe(two, "10.88.0.2", 9000) == f"client {EIP}"
    assert world.probe(one, "10.88.0.2", 9000) == "client 10.88.0.1"


def test_a_restarted_cluster_controller_enforces_what_it_stored(world, tmp_path):
    world.instance("i-000000e5", 35, [WEB])
    world.loop.run(world.policy.put_addresses([(EIP, "i-000000e5")]))
    world.loop.run(world.policy.stop())
    # the namespace loses its tables (as after a host reboot) ...
    world.backend.delete_table(world.ns, "inet", "euca_filter")
    world.backend.delete_table(world.ns, "ip", "euca_nat")
    assert world.probe(world.client, EIP, 8080) in ("refused", "timeout")   # not the guest
    # ... and a new policy object on the same state brings everything back
    again = NetworkPolicy(world.backend, world.ns, tmp_path / "vnet", interface="eucapub0",
                          public_address="10.88.0.1/24", private_networks=["10.66.0.0/24"])
    world.loop.run(again.start())
    assert world.probe(world.client, EIP, 8080) == "i-000000e5 10.88.0.2"
    assert world.probe(world.client, EIP, 22) == "timeout"

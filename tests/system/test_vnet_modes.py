"""Each network mode for real, with fake instances (namespaces whose eth0 is a veth on the
cloud's bridge, configured by busybox udhcpc): leases, gateways, metadata, routing between
security-group networks through the cluster controller, STATIC's fixed pairs and SYSTEM's
foreign DHCP with the address learned from ARP."""
from __future__ import annotations

import secrets
import subprocess
import time

import pytest

from eucalyptus.cc.vnet.manager import InstanceNetwork
from eucalyptus.cc.vnet.policy_messages import GroupSpec, RuleSpec
from eucalyptus.config import load_settings

pytestmark = pytest.mark.system
SG_A, SG_B = "sg-0000000a", "sg-0000000b"


def _open_groups(net, loop_thread) -> None:
    """Both test groups take ICMP from anywhere (and keep the default open egress)."""
    def group(gid):
        return GroupSpec(gid, "000000000001", gid, ingress=[RuleSpec("icmp", cidrs=["0.0.0.0/0"])],
                         egress=[RuleSpec("-1", cidrs=["0.0.0.0/0"])])
    loop_thread.run(net.policy.put_groups([group(SG_A), group(SG_B)]))


def _ping(guest, address: str) -> bool:
    return guest.run(["busybox", "ping", "-c", "1", "-W", "2", address]).returncode == 0


@pytest.mark.parametrize("mode", ["MANAGED-NOVLAN", "MANAGED"])
def test_each_security_group_is_its_own_network_routed_through_the_cluster(
        mode, vnet, loop_thread, fake_instances, netns_backend, root_namespace_unchanged):
    net = vnet(VNET_MODE=mode)
    _open_groups(net, loop_thread)
    a1 = loop_thread.run(net.attach("i-0000a001", groups=[SG_A]))
    a2 = loop_thread.run(net.attach("i-0000a002", groups=[SG_A, SG_B]))   # first group counts
    b1 = loop_thread.run(net.attach("i-0000b001", groups=[SG_B]))
    assert a1.gateway == a2.gateway == "10.66.0.97" and b1.gateway == "10.66.0.129"
    assert a1.prefixlen == b1.prefixlen == 27
    if mode == "MANAGED":
        assert (a1.bridge, a1.vlan, b1.bridge, b1.vlan) == ("eucabr3", 3, "eucabr4", 4)
    else:
        assert a1.bridge == b1.bridge == "eucabr0" and a1.vlan == b1.vlan == 0
    guests = {}
    for att in (a1, a2, b1):
        net.put_metadata(att.instance_id, att.private_ip, {"ami-id": "emi-00000001"})
        guest = guests[att.instance_id] = fake_instances(net.ns, att.mac, bridge=att.bridge)
        lease = guest.dhcp()
        assert lease.returncode == 0, lease.stderr
        assert guest.address() == f"{att.private_ip}/27"
        route = guest.run(["ip", "route", "show", "default"]).stdout
        assert f"via {att.gateway}" in route
        # the metadata service answers from every network, naming the asker
        assert guest.fetch("/latest/meta-data/instance-id")[:2] == (200, att.instance_id)
    ga1, ga2, gb1 = (guests[i] for i in ("i-0000a001", "i-0000a002", "i-0000b001"))
    assert _ping(ga1, a2.private_ip)                     # same network
    assert _ping(ga1, b1.private_ip) and _ping(gb1, a1.private_ip)   # routed by the CC
    assert "redirect" not in ga1.run(["ip", "route", "get", b1.private_ip]).stdout
    # the route between networks is the CC's forward chain, where security groups decide
    loop_thread.run(net.policy.put_groups([GroupSpec(
        SG_B, "000000000001", SG_B, egress=[RuleSpec("-1", cidrs=["0.0.0.0/0"])])]))
    assert not _ping(ga1, b1.private_ip) and _ping(gb1, a1.private_ip)
    # leaving network 4 takes its gateway (and in MANAGED its bridge) away
    loop_thread.run(net.detach("i-0000b001"))
    links = netns_backend.link_names(net.ns)
    gateways = netns_backend.addresses_of(net.ns, "eucabr0")
    if mode == "MANAGED":
        assert "eucabr4" not in links and "eucabr3" in links and "eucabr2" in links
    else:
        assert "10.66.0.129/27" not in gateways and "10.66.0.97/27" in gateways
    # the state survives a restart of the cluster controller: same network for group A
    loop_thread.run(net.stop())
    restarted = InstanceNetwork(net_settings(net), backend=netns_backend)
    loop_thread.run(restarted.start())
    try:
        a3 = loop_thread.run(restarted.attach("i-0000a003", groups=[SG_A]))
        assert a3.gateway == a1.gateway and a3.private_ip not in (a1.private_ip,
                                                                  a2.private_ip)
        assert _ping(ga1, a2.private_ip)
    finally:
        for iid in ("i-0000a001", "i-0000a002", "i-0000a003"):
            loop_thread.run(restarted.detach(iid))
        loop_thread.run(restarted.stop())


def net_settings(net: InstanceNetwork):
    """The settings a network was built from (its state directory tells the data dir)."""
    data = net.addresses.path.parent.parent.parent
    env = {"EUCA_VNET_MODE": net.mode, "EUCA_VNET_SUBNET": "10.66.0.0",
           "EUCA_VNET_NETMASK": "255.255.255.0", "EUCA_VNET_ADDRSPERNET": "32"}
    return load_settings(data, env=env)


def test_static_mode_hands_out_the_macmap_pairs(vnet, loop_thread, fake_instances,
                                                netns_backend):
    net = vnet(VNET_MODE="STATIC", VNET_MACMAP="d0:0d:00:00:5a:01=10.66.0.41 "
                                              "d0:0d:00:00:5a:02=10.66.0.42")
    one = loop_thread.run(net.attach("i-00005a01"))
    two = loop_thread.run(net.attach("i-00005a02"))
    assert {(one.mac, one.private_ip), (two.mac, two.private_ip)} == {
        ("d0:0d:00:00:5a:01", "10.66.0.41"), ("d0:0d:00:00:5a:02", "10.66.0.42")}
    assert (one.gateway, one.prefixlen, one.bridge) == ("10.66.0.1", 24, "eucabr0")
    net.put_metadata(one.instance_id, one.private_ip, {"instance-type": "m1.small"})
    guest = fake_instances(net.ns, one.mac)
    assert guest.dhcp().returncode == 0 and guest.address() == f"{one.private_ip}/24"
    assert guest.fetch("/latest/meta-data/instance-type")[:2] == (200, "m1.small")
    other = fake_instances(net.ns, two.mac)
    assert other.dhcp().returncode == 0 and _ping(other, one.private_ip)
    assert "euca_filter" not in netns_backend.list_rules(net.ns)   # no security groups here
    for iid in (one.instance_id, two.instance_id):
        loop_thread.run(net.detach(iid))


def test_system_mode_bridges_to_a_network_with_its_own_dhcp(
        vnet, loop_thread, fake_instances, netns_backend, tmp_path):
    net = vnet(VNET_MODE="SYSTEM", VNET_BRIDGE="lan0")
    assert net.dhcp.pid() is None and "lan0" in netns_backend.link_names(net.ns)
    assert "euca_metadata" not in netns_backend.list_rules(net.ns)
    # "the existing network": a router namespace on the bridge with its own dnsmasq
    router = f"euca-t-{secrets.token_hex(4)}"
    netns_backend.create_namespace(router)
    runtime = tmp_path / "lan"
    runtime.mkdir()
    pidfile = runtime / "dnsmasq.pid"
    try:
        netns_backend.add_veth(net.ns, f"vr{secrets.token_hex(3)}", router, "lan",
                               bridge="lan0")
        subprocess.run(["ip", "-n", router, "addr", "add", "192.168.50.1/24", "dev", "lan"],
                       check=True)
        subprocess.run(netns_backend.namespace_argv(router, [
            "dnsmasq", "--conf-file=/dev/null", "--port=0", "--interface=lan",
            "--bind-interfaces", "--dhcp-range=192.168.50.100,192.168.50.150,1h",
            f"--dhcp-leasefile={runtime / 'leases'}", f"--pid-file={pidfile}",
            "--user=root"]), check=True)
        att = loop_thread.run(net.attach("i-00005b01"))
        assert (att.private_ip, att.bridge, att.gateway) == ("", "lan0", "")
        guest = fake_instances(net.ns, att.mac, bridge="lan0")
        lease = guest.dhcp()
        assert lease.returncode == 0, lease.stderr
        address = guest.address().split("/")[0]
        assert address.startswith("192.168.50.1")
        assert _ping(guest, "192.168.50.1")              # its first ARP tells the cluster
        deadline = time.monotonic() + 10
        while net.private_ip_of("i-00005b01") != address and time.monotonic() < deadline:
            time.sleep(0.1)
        assert net.private_ip_of("i-00005b01") == address
        assert loop_thread.run(net.detach("i-00005b01")) is True
    finally:
        if pidfile.exists():
            subprocess.run(["kill", pidfile.read_text().strip()])
        netns_backend.delete_namespace(router)

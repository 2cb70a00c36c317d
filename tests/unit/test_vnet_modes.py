"""What each network mode builds: key validation, bridges and gateways, node uplinks, ARP."""
from __future__ import annotations

import asyncio
import struct

import pytest

from eucalyptus import errors
from eucalyptus.cc.vnet.arpwatch import parse_arp
from eucalyptus.cc.vnet.manager import InstanceNetwork
from eucalyptus.cc.vnet.modes import mode_of, unsupported
from eucalyptus.cc.vnet.netns import CloudNamespace
from eucalyptus.config import ConfigError, load_settings
from eucalyptus.drivers.network.uplink import ensure_node_bridge


class Recorder:
    """Records the host operations asked of a network backend (no host is touched)."""

    def __init__(self, existing: set[str] | None = None):
        self.calls: list[tuple] = []
        self.namespaces = set(existing or ())

    def __getattr__(self, name):
        def record(*args, **kw):
            self.calls.append((name, *args))
            if name == "create_namespace":
                self.namespaces.add(args[0])
            if name == "ensure_vlan":
                return f"{args[1]}.{args[2]}"
            return None
        return record

    def namespace_exists(self, ns):
        return ns in self.namespaces

    def named(self, name):
        return [c[1:] for c in self.calls if c[0] == name]


def settings_for(tmp_path, **env):
    return load_settings(tmp_path, env={f"EUCA_{k}": v for k, v in env.items()})


def test_each_mode_and_what_it_serves(tmp_path):
    cases = {"MANAGED": (True, True, True, True), "MANAGED-NOVLAN": (True, False, True, True),
             "STATIC": (False, False, True, True), "SYSTEM": (False, False, False, False)}
    for mode, (policy, vlans, dhcp, meta) in cases.items():
        extra = {"VNET_MACMAP": "d0:0d:00:00:00:01=10.77.0.9"} if mode == "STATIC" else {}
        cfg = mode_of(settings_for(tmp_path, VNET_MODE=mode, **extra))
        assert (cfg.supports_policy, cfg.vlans, cfg.dhcp, cfg.metadata) == (policy, vlans,
                                                                           dhcp, meta), mode
    managed = mode_of(settings_for(tmp_path, VNET_MODE="MANAGED"))
    assert (managed.bridge_of(7), managed.vlan_of(7), managed.dhcp_interfaces) == (
        "eucabr7", 7, "eucabr*")
    novlan = mode_of(settings_for(tmp_path, VNET_BRIDGE="br-priv"))
    assert (novlan.bridge_of(7), novlan.vlan_of(7), novlan.home_index) == ("br-priv", 0, 2)
    assert unsupported("STATIC", "AllocateAddress") == \
        "AllocateAddress is not supported in network mode STATIC"


@pytest.mark.parametrize("env,key", [
    ({"VNET_MODE": "STATIC"}, "VNET_MACMAP"),
    ({"VNET_MODE": "STATIC", "VNET_MACMAP": "d0:0d:00:00:00:01=10.9.0.5"}, "VNET_MACMAP"),
    ({"VNET_MODE": "STATIC", "VNET_MACMAP": "d0:0d:00:00:00:01=10.77.0.1"}, "VNET_MACMAP"),
    ({"VNET_MODE": "MANAGED", "VNET_ADDRSPERNET": "48"}, "VNET_ADDRSPERNET"),
    ({"VNET_MODE": "MANAGED-NOVLAN", "VNET_NETMASK": "255.255.255.192"}, "VNET_NETMASK"),
    ({"VNET_MODE": "MANAGED", "VNET_PRIVINTERFACE": "long-ifname1"}, "VNET_PRIVINTERFACE"),
    ({"VNET_NETMASK": "255.255.255.254"}, "VNET_SUBNET"),
])
def test_bad_combinations_are_config_errors_naming_the_key(tmp_path, env, key):
    with pytest.raises(ConfigError, match=key):
        InstanceNetwork(settings_for(tmp_path, **env))


def test_bad_values_are_refused_by_the_config_itself(tmp_path):
    for env, key in (({"VNET_MACMAP": "d0:0d:00:00:00:01"}, "VNET_MACMAP"),
                     ({"VNET_MACMAP": "d0:0d:00:00:00:01=10.0.0.1 d0:0d:00:00:00:01=10.0.0.2"},
                      "VNET_MACMAP"),
                     ({"VNET_BRIDGE": "has space"}, "VNET_BRIDGE"),
                     ({"VNET_NAMESPACE": "../x"}, "VNET_NAMESPACE")):
        with pytest.raises(ConfigError, match=key):
            settings_for(tmp_path, **env)
    pairs = settings_for(tmp_path, VNET_MACMAP="D0:0D:00:00:00:01=10.0.0.1").vnet_macmap
    assert pairs == (("d0:0d:00:00:00:01", "10.0.0.1"),)


def test_managed_makes_a_vlan_bridge_per_network_with_the_uplink(tmp_path):
    cfg = mode_of(settings_for(tmp_path, VNET_MODE="MANAGED", VNET_PRIVINTERFACE="priv0"))
    rec = Recorder()
    ns = CloudNamespace(rec, "euca-unit", cfg)
    ns.ensure([5])
    assert rec.named("create_namespace") == [("euca-unit",)]
    assert rec.named("ensure_bridge") == [("euca-unit", "eucabr2", "10.77.0.65/27"),
                                          ("euca-unit", "eucabr5", "10.77.0.161/27")]
    assert rec.named("ensure_vlan") == [("euca-unit", "priv0", 2), ("euca-unit", "priv0", 5)]
    assert ("euca-unit", "priv0.5", "eucabr5") in rec.named("set_master")
    assert ("euca-unit", "net.ipv4.ip_forward", "1") in rec.named("set_sysctl")
    assert ("euca-unit", "net.ipv4.conf.all.send_redirects", "0") in rec.named("set_sysctl")
    assert "dnat to 10.77.0.65:" in rec.named("apply_rules")[0][1]      # the home gateway
    ns.remove_network(5)
    ns.remove_network(2)                                                # home: stays
    assert rec.named("delete_link") == [("euca-unit", "priv0.5"), ("euca-unit", "eucabr5")]


def test_novlan_puts_every_gateway_on_one_bridge_and_a_shared_namespace_is_kept(tmp_path):
    cfg = mode_of(settings_for(tmp_path, VNET_PRIVINTERFACE="priv0"))
    rec = Recorder(existing={"front"})
    ns = CloudNamespace(rec, "front", cfg, own=False)
    ns.ensure([3, 4])
    assert rec.named("create_namespace") == []
    assert rec.named("ensure_bridge") == [("front", "eucabr0", "10.77.0.65/27"),
                                          ("front", "eucabr0", "10.77.0.97/27"),
                                          ("front", "eucabr0", "10.77.0.129/27")]
    assert {c[1] for c in rec.named("set_master")} == {"priv0"}
    assert rec.named("ensure_vlan") == []
    ns.remove_network(4)
    assert rec.named("remove_address") == [("front", "eucabr0", "10.77.0.129/27")]
    ns.remove([3])
    assert rec.named("delete_namespace") == []                 # not ours to delete
    assert ("front", "ip", "euca_metadata") in rec.named("delete_table")
    missing = CloudNamespace(Recorder(), "gone", cfg, own=False)
    with pytest.raises(Exception, match="VNET_NAMESPACE"):
        missing.ensure()


def test_static_has_one_network_and_system_only_a_bridge(tmp_path):
    static = mode_of(settings_for(tmp_path, VNET_MODE="STATIC",
                                  VNET_MACMAP="d0:0d:00:00:00:01=10.77.3.4"))
    rec = Recorder()
    CloudNamespace(rec, "euca-unit", static).ensure([0])
    assert rec.named("ensure_bridge") == [("euca-unit", "eucabr0", "10.77.0.1/16")]
    system = mode_of(settings_for(tmp_path, VNET_MODE="SYSTEM", VNET_BRIDGE="lan0",
                                  VNET_PRIVINTERFACE="eth9"))
    rec = Recorder()
    CloudNamespace(rec, "euca-unit", system).ensure()
    assert rec.named("ensure_bridge") == [("euca-unit", "lan0")]
    assert rec.named("set_master") == [("euca-unit", "eth9", "lan0")]
    assert not rec.named("apply_rules") and not rec.named("set_sysctl")


def test_node_uplinks():
    rec = Recorder()
    ensure_node_bridge(rec, "node1", "eucabr7", 7, "priv0")
    ensure_node_bridge(rec, "node1", "eucabr0", 0, "priv0")
    ensure_node_bridge(rec, "node1", "eucabr0")
    assert rec.named("ensure_bridge") == [("node1", "eucabr7"), ("node1", "eucabr0"),
                                          ("node1", "eucabr0")]
    assert rec.named("ensure_vlan") == [("node1", "priv0", 7)]
    assert rec.named("set_master") == [("node1", "priv0.7", "eucabr7"),
                                       ("node1", "priv0", "eucabr0")]


def test_attach_in_each_mode_without_a_host(tmp_path):
    """The allocation each mode makes (the host side is recorded, not done)."""
    async def attach(env, groups=()):
        net = InstanceNetwork(settings_for(tmp_path / env["VNET_MODE"], **env),
                              backend=Recorder())
        net.error = ""                                       # as if started
        net.dhcp.update = lambda *a, **k: None
        return net, await net.attach("i-00000001", groups=list(groups))

    net, att = asyncio.run(attach({"VNET_MODE": "MANAGED"}, ["sg-00000001", "sg-00000002"]))
    assert (att.bridge, att.vlan, att.gateway, att.prefixlen) == ("eucabr3", 3, "10.77.0.97", 27)
    assert att.private_ip == "10.77.0.98" and net.private_ip_of("i-00000001") == att.private_ip
    net, att = asyncio.run(attach({"VNET_MODE": "MANAGED-NOVLAN"}))
    assert (att.bridge, att.vlan, att.private_ip) == ("eucabr0", 0, "10.77.0.66")
    net, att = asyncio.run(attach({"VNET_MODE": "STATIC",
                                   "VNET_MACMAP": "d0:0d:00:00:00:0a=10.77.0.10"}))
    assert (att.mac, att.private_ip, att.gateway, att.vlan) == ("d0:0d:00:00:00:0a",
                                                               "10.77.0.10", "10.77.0.1", 0)
    net, att = asyncio.run(attach({"VNET_MODE": "SYSTEM"}))
    assert (att.private_ip, att.gateway, att.bridge) == ("", "", "eucabr0")
    net.put_metadata("i-00000001", "", {})                   # no metadata service: ignored
    net._learned(att.mac, "192.168.1.50")
    assert net.attachment_of("i-00000001").private_ip == "192.168.1.50"
    with pytest.raises(errors.InvalidParameterValue):
        asyncio.run(InstanceNetwork(settings_for(tmp_path / "x"), backend=Recorder())
                    .detach("bogus"))


def arp_frame(sha: bytes, spa: bytes, tagged: bool = False) -> bytes:
    eth = b"\xff" * 6 + sha + ((b"\x81\x00\x00\x05") if tagged else b"") + b"\x08\x06"
    return eth + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + sha + spa + b"\x00" * 6 + \
        bytes([192, 168, 1, 1])


def test_arp_frames_give_the_sender():
    mac = bytes.fromhex("d00d00000001")
    assert parse_arp(arp_frame(mac, bytes([192, 168, 1, 50]))) == ("d0:0d:00:00:00:01",
                                                                   "192.168.1.50")
    assert parse_arp(arp_frame(mac, bytes([10, 0, 0, 2]), tagged=True))[1] == "10.0.0.2"
    assert parse_arp(arp_frame(mac, bytes(4))) is None                 # a probe
    assert parse_arp(b"\x00" * 10) is None
    ip_frame = bytearray(arp_frame(mac, bytes([1, 2, 3, 4])))
    ip_frame[12:14] = b"\x08\x00"
    assert parse_arp(bytes(ip_frame)) is None

"""The cloud's namespace name, the metadata DNAT rules and the network's configuration."""
from __future__ import annotations

import asyncio

import pytest

from eucalyptus import errors
from eucalyptus.cc.vnet.manager import InstanceNetwork
from eucalyptus.cc.vnet.netns import METADATA_PORT, metadata_ruleset, namespace_name
from eucalyptus.config import ConfigError, load_settings
from eucalyptus.drivers import network
from eucalyptus.drivers.network.base import NetworkError, check_ifname, check_mac, check_ns
from eucalyptus.drivers.network.iproute import IprouteBackend


def test_namespace_name_is_per_data_directory(tmp_path):
    a, b = namespace_name(tmp_path / "a"), namespace_name(tmp_path / "b")
    assert a != b and a.startswith("euca-") and len(a) == len("euca-") + 8
    assert namespace_name(tmp_path / "a" / ".." / "a") == a        # the resolved path counts


def test_metadata_ruleset_replaces_its_own_table_only():
    text = metadata_ruleset("10.77.0.1")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[:2] == ["table ip euca_metadata", "delete table ip euca_metadata"]
    assert (f"ip daddr 169.254.169.254 tcp dport 80 dnat to 10.77.0.1:{METADATA_PORT}"
            in lines)
    # nft rejects a rule followed by "}" on the same line: every rule stands alone
    assert all(not (line.endswith("}") and len(line) > 1) for line in lines)


def test_backend_names_are_checked_before_any_command():
    for bad in ("", "a b", "-x", "x" * 65, "../etc"):
        with pytest.raises(NetworkError):
            check_ns(bad)
    for bad in ("", "sixteen-chars-xx", "a/b"):
        with pytest.raises(NetworkError):
            check_ifname(bad)
    with pytest.raises(NetworkError):
        check_mac("D0:0D:00:00:00:01")
    backend = IprouteBackend()
    with pytest.raises(NetworkError):
        backend.set_sysctl("euca-x", "kernel.hostname", "x")       # not a net.* sysctl
    with pytest.raises(NetworkError):
        backend.delete_table("euca-x", "ip", "bad name")
    assert network.load().__class__ is IprouteBackend
    with pytest.raises(ValueError):
        network.load("nope")


@pytest.mark.parametrize("mode", ["SYSTEM", "MANAGED", "MANAGED-NOVLAN"])
def test_every_mode_but_static_builds_from_the_defaults(tmp_path, mode):
    net = InstanceNetwork(load_settings(tmp_path, env={"EUCA_VNET_MODE": mode}))
    assert net.mode == mode and net.health()["mode"] == mode


def test_static_without_a_macmap_is_a_config_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="VNET_MACMAP"):
        InstanceNetwork(load_settings(tmp_path, env={"EUCA_VNET_MODE": "STATIC"}))


def test_a_subnet_too_small_is_a_config_error(tmp_path):
    settings = load_settings(tmp_path, env={"EUCA_VNET_NETMASK": "255.255.255.254"})
    with pytest.raises(ConfigError, match="VNET_SUBNET"):
        InstanceNetwork(settings)


class Unprivileged(IprouteBackend):
    def unavailable_reason(self) -> str:
        return "network namespaces need root"


def test_without_a_usable_host_the_network_is_unavailable_not_fatal(tmp_path):
    net = InstanceNetwork(load_settings(tmp_path, env={}), backend=Unprivileged())

    async def scenario():
        await net.start()
        assert net.health()["state"] == "unavailable: network namespaces need root"
        assert "unavailable" in net.summary()
        with pytest.raises(errors.ServiceUnavailable, match="need root"):
            await net.attach("i-00000001")
        # an address allocated earlier can still be freed (terminate must not get stuck)
        net.addresses.allocate("i-00000002")
        net.metadata.put("i-00000002", net.addresses.get("i-00000002").private_ip, {})
        assert await net.detach("i-00000002") is True
        assert net.metadata.get("i-00000002") is None
        await net.stop()
    asyncio.run(scenario())
    assert net.addresses.all() == []

"""The instance network for real: the cloud's namespace, bridge, dnsmasq, metadata DNAT.

Each "instance" is a namespace whose eth0 is a veth on the cloud's bridge with the instance's
MAC; it gets its address from dnsmasq with busybox udhcpc and talks to 169.254.169.254.
"""
from __future__ import annotations

import base64

import pytest

from eucalyptus import errors
from eucalyptus.cc.vnet.dhcp import process_alive
from eucalyptus.cc.vnet.manager import InstanceNetwork, remove_cloud_network
from eucalyptus.cc.vnet.metadata import TOKEN_HEADER, TTL_HEADER
from eucalyptus.config import load_settings

pytestmark = pytest.mark.system


@pytest.fixture
def cloud_net(netns_backend, loop_thread, tmp_path):
    """``start() -> InstanceNetwork`` on a private data directory; everything it made is
    removed at the end, whatever the test left attached."""
    data = tmp_path / "data"
    settings = load_settings(data, env={"EUCA_VNET_SUBNET": "10.66.0.0",
                                        "EUCA_VNET_NETMASK": "255.255.255.0"})
    started: list[InstanceNetwork] = []

    def start() -> InstanceNetwork:
        net = InstanceNetwork(settings, backend=netns_backend)
        loop_thread.run(net.start())
        assert net.available, net.error
        started.append(net)
        return net

    yield start
    for net in started:
        loop_thread.run(net.stop())
    remove_cloud_network(data, netns_backend)
    assert not netns_backend.namespace_exists(started[0].ns) if started else True


def test_instances_get_their_lease_and_only_their_own_metadata(
        cloud_net, loop_thread, fake_instances, netns_backend, root_namespace_unchanged):
    net = cloud_net()
    assert netns_backend.get_sysctl(net.ns, "net.ipv4.ip_forward") == "1"
    assert "169.254.169.254" in netns_backend.list_rules(net.ns)
    one = loop_thread.run(net.attach("i-00000a01"))
    two = loop_thread.run(net.attach("i-00000a02", hostname="web2"))
    # no security group: the legacy network 2 of VNET_ADDRSPERNET (32) addresses
    assert (one.netns, one.bridge, one.gateway, one.prefixlen) == (net.ns, "eucabr0",
                                                                  "10.66.0.65", 27)
    assert one.private_ip != two.private_ip and one.mac != two.mac
    for att in (one, two):
        net.put_metadata(att.instance_id, att.private_ip, {
            "ami-id": "emi-0000beef", "public-keys": {"k": f"ssh-ed25519 AAAA {att.instance_id}"},
            "user-data": base64.b64encode(f"data of {att.instance_id}".encode()).decode()})
    guests = {att.instance_id: fake_instances(net.ns, att.mac) for att in (one, two)}
    for att in (one, two):
        guest = guests[att.instance_id]
        lease = guest.dhcp()
        assert lease.returncode == 0, lease.stderr
        assert guest.address() == f"{att.private_ip}/27"
        assert guest.fetch("/latest/meta-data/instance-id")[:2] == (200, att.instance_id)
        assert guest.fetch("/latest/meta-data/local-ipv4")[:2] == (200, att.private_ip)
        assert guest.fetch("/latest/meta-data/mac")[:2] == (200, att.mac)
        assert guest.fetch("/latest/meta-data/public-keys/0/openssh-key")[1].endswith(
            att.instance_id)
        assert guest.fetch("/2009-04-04/user-data")[:2] == (200, f"data of {att.instance_id}")
    # the lease carried the host name
    leases = (net.dhcp.runtime_dir / "leases").read_text()
    assert f"{two.mac} {two.private_ip} web2" in leases
    # a MAC the cloud does not know gets no lease at all (static leases only)
    stranger = fake_instances(net.ns, "d0:0d:99:99:99:99")
    assert stranger.dhcp(tries=2).returncode != 0 and stranger.address() == ""


def test_imdsv2_token_flow_from_inside_an_instance(cloud_net, loop_thread, fake_instances):
    net = cloud_net()
    att = loop_thread.run(net.attach("i-00000b01"))
    net.put_metadata(att.instance_id, att.private_ip, {"instance-type": "t1.micro"})
    guest = fake_instances(net.ns, att.mac)
    assert guest.dhcp().returncode == 0
    status, token, headers = guest.fetch("/latest/api/token", "PUT", {TTL_HEADER: "120"})
    assert status == 200 and headers[TTL_HEADER] == "120" and token
    assert guest.fetch("/latest/meta-data/instance-type", headers={TOKEN_HEADER: token})[:2] \
        == (200, "t1.micro")
    assert guest.fetch("/latest/meta-data/instance-type",
                       headers={TOKEN_HEADER: token + "x"})[0] == 401
    assert guest.fetch("/latest/api/token", "PUT", {TTL_HEADER: "0"})[0] == 400
    assert guest.fetch("/latest/api/token", "PUT", {TTL_HEADER: "21601"})[0] == 400
    assert guest.fetch("/latest/meta-data/instance-type")[:2] == (200, "t1.micro")   # IMDSv1


def test_detach_frees_the_lease_and_the_metadata(cloud_net, loop_thread, fake_instances):
    net = cloud_net()
    att = loop_thread.run(net.attach("i-00000c01"))
    net.put_metadata(att.instance_id, att.private_ip, {})
    guest = fake_instances(net.ns, att.mac)
    assert guest.dhcp().returncode == 0
    assert guest.fetch("/latest/meta-data/instance-id")[0] == 200
    assert loop_thread.run(net.detach("i-00000c01")) is True
    assert loop_thread.run(net.detach("i-00000c01")) is False
    assert att.mac not in (net.dhcp.runtime_dir / "hosts").read_text()
    assert guest.fetch("/latest/meta-data/instance-id")[0] == 404        # nobody's address now
    with pytest.raises(errors.InvalidParameterValue, match="has the address"):
        other = loop_thread.run(net.attach("i-00000c02"))
        net.put_metadata(other.instance_id, "10.66.0.200", {})


def test_a_restart_keeps_attached_instances_and_the_last_detach_cleans_up(
        cloud_net, loop_thread, fake_instances, netns_backend):
    net = cloud_net()
    att = loop_thread.run(net.attach("i-00000d01"))
    net.put_metadata(att.instance_id, att.private_ip, {"ami-id": "emi-0000d001"})
    dnsmasq = net.dhcp.pid()
    loop_thread.run(net.stop())          # an instance is attached: the network stays up
    assert netns_backend.namespace_exists(net.ns) and net.dhcp.pid() == dnsmasq
    again = cloud_net()                  # a new CC process would do the same
    assert again.ns == net.ns and again.dhcp.pid() == dnsmasq          # adopted, not restarted
    assert again.addresses.get("i-00000d01").private_ip == att.private_ip
    guest = fake_instances(net.ns, att.mac)
    assert guest.dhcp().returncode == 0
    assert guest.fetch("/latest/meta-data/ami-id")[:2] == (200, "emi-0000d001")
    second = loop_thread.run(again.attach("i-00000d02"))
    assert second.private_ip != att.private_ip                          # never double-assigned
    for iid in ("i-00000d01", "i-00000d02"):
        loop_thread.run(again.detach(iid))
    loop_thread.run(again.stop())        # nothing attached: namespace and dnsmasq go away
    assert not netns_backend.namespace_exists(net.ns)
    assert again.dhcp.pid() is None and not process_alive(dnsmasq)
    assert not again.dhcp.runtime_dir.exists()


def test_the_cluster_controller_serves_the_network_over_signed_rpc(
        netns_backend, loop_thread, tmp_path, fake_instances):
    from aiohttp import web

    from eucalyptus.cc.component import ClusterController
    from eucalyptus.cc.vnet.messages import (InstanceRef, MetadataRegistration,
                                             NetworkAttachment, NetworkRequest, Released)
    from eucalyptus.config import ports_from_base
    from eucalyptus.rpc import keys
    from eucalyptus.rpc.client import RpcClient
    from tests.cloud_fixture import free_port_base

    data = tmp_path / "cc-data"
    data.mkdir()
    for name in keys.PRINCIPALS:
        keys.make_key(data, name)
    settings = load_settings(data, env={}, overrides=ports_from_base(free_port_base()))
    cc = ClusterController(settings)

    async def serve():
        runner = web.AppRunner(cc.make_app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.cc_port).start()
        return runner

    async def call(caller, name, msg, reply=None):
        async with RpcClient.for_caller(data, caller, settings.url("cc")) as client:
            return await client.call("POST", name, msg, reply=reply)

    runner = loop_thread.run(serve())
    try:
        assert cc.vnet.available, cc.vnet.error
        att = loop_thread.run(call("clc", "cluster/network/attach",
                                   NetworkRequest("i-00000e01"), NetworkAttachment))
        assert att.netns == cc.vnet.ns and att.private_ip == "10.77.0.66"
        again = loop_thread.run(call("nc", "cluster/network/attach",
                                     NetworkRequest("i-00000e01"), NetworkAttachment))
        assert again == att
        loop_thread.run(call("clc", "cluster/metadata/put", MetadataRegistration(
            "i-00000e01", att.private_ip, {"instance-type": "m1.small"}), InstanceRef))
        guest = fake_instances(att.netns, att.mac, bridge=att.bridge)
        assert guest.dhcp().returncode == 0
        assert guest.fetch("/latest/meta-data/instance-type")[:2] == (200, "m1.small")
        with pytest.raises(errors.ValidationError):
            loop_thread.run(call("clc", "cluster/metadata/put", MetadataRegistration(
                "i-00000e01", att.private_ip, {"bogus": "1"})))
        with pytest.raises(errors.AccessDenied):
            loop_thread.run(call("sc", "cluster/network/attach", NetworkRequest("i-00000e02")))
        with pytest.raises(errors.InvalidParameterValue):
            loop_thread.run(call("clc", "cluster/network/attach", NetworkRequest("vm-1")))
        gone = loop_thread.run(call("clc", "cluster/network/detach", InstanceRef("i-00000e01"),
                                    Released))
        assert gone.released and not cc.vnet.addresses.all()
    finally:
        loop_thread.run(runner.cleanup())
        remove_cloud_network(data, netns_backend)
    assert not netns_backend.namespace_exists(cc.vnet.ns)

"""A multi-host cloud in MANAGED mode: front end (clc, walrus, sc, cc) and two node controllers,
each in its own namespace joined by a switch (``tests/system/multi_host.py``). Two real guests
of one security group, placed ROUNDROBIN on the two nodes, get their leases from the cluster
controller across the VLAN-tagged private link, reach the metadata service and each other
across hosts. Two guest boots in all."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.system.guests import by_id, ssh, wait_for, write_pem
from tests.system.multi_host import MultiHostCloud

pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 150


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, netns_backend):
    if not os.path.exists("/dev/net/tun") or shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs /dev/net/tun and qemu-system-x86_64")
    running = MultiHostCloud(tmp_path_factory.mktemp("multi-host"), "MANAGED").start()
    yield running
    running.stop()
    for ns in (running.front, running.switch, *running.nodes):
        assert not netns_backend.namespace_exists(ns)


def test_one_group_spread_over_two_nodes_talks_across_hosts(cloud, tmp_path):
    emi = cloud.install_starter()["emi"]
    ec2 = cloud.in_front(cloud.client, "ec2")
    key = cloud.in_front(ec2.create_key_pair, KeyName="mh", KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    res = cloud.in_front(ec2.run_instances, ImageId=emi, MinCount=2, MaxCount=2,
                         InstanceType="t1.micro", KeyName="mh")
    ids = [i["InstanceId"] for i in res["Instances"]]

    def described():
        return by_id(cloud.in_front(ec2.describe_instances, InstanceIds=ids))

    def in_guest(address: str, command: str) -> subprocess.CompletedProcess:
        return ssh(cloud.front, pem, address, command)

    try:
        wait_for(lambda: all(i["State"]["Name"] == "running" for i in described().values()),
                 BOOT_TIMEOUT, "both instances running\n" + cloud.logs(), interval=1)
        found = described()
        # ROUNDROBIN: one guest on each node; each one's tap is in its node's namespace
        placed = {}
        for n, ns in enumerate(cloud.nodes, 1):
            links = subprocess.run(["ip", "-n", ns, "-o", "link"], capture_output=True,
                                   text=True).stdout
            for iid in ids:
                if f"vn{iid[2:][-13:]}" in links:
                    placed[iid] = n
                    # the node made the VLAN bridge with the tagged uplink itself
                    assert "priv0." in links and "eucabr" in links
        assert sorted(placed.values()) == [1, 2], placed
        addresses = {iid: found[iid]["PrivateIpAddress"] for iid in ids}
        one, two = ids
        done = {}
        for iid in ids:
            done[iid] = wait_for(lambda: (r := in_guest(addresses[iid], (
                "wget -q -O - http://169.254.169.254/latest/meta-data/instance-id; echo; "
                "wget -q -O - http://169.254.169.254/latest/meta-data/local-ipv4"))
                ).returncode == 0 and r, BOOT_TIMEOUT, f"ssh into {iid}\n{cloud.logs()}")
            lines = done[iid].stdout.split()
            assert lines[:2] == [iid, addresses[iid]]             # the metadata service
        # across hosts, guest to guest (same group: allowed)
        for src, dst in ((one, two), (two, one)):
            pinged = in_guest(addresses[src], f"ping -c 2 -W 3 {addresses[dst]}")
            assert pinged.returncode == 0, pinged.stdout + pinged.stderr
        # both leases came from the cluster controller's dnsmasq on the front end
        lease_file = f"/run/eucalyptus/{cloud.front}/leases"
        text = open(lease_file).read()
        assert all(addresses[i] in text for i in ids)
    finally:
        cloud.in_front(ec2.terminate_instances, InstanceIds=ids)
    wait_for(lambda: all(i["State"]["Name"] == "terminated" for i in described().values()),
             BOOT_TIMEOUT, "terminated", interval=1)


def test_fake_instances_on_both_nodes_share_their_groups_network(cloud, fake_instances,
                                                                 netns_backend):
    """The network alone (no guests): the cluster attaches two instances of one group and the
    nodes plug them in as the node controller does; leases, metadata and each other across
    hosts, and another group's network stays apart at layer 2."""
    from eucalyptus.cc.vnet.messages import (InstanceRef, MetadataRegistration,
                                             NetworkAttachment, NetworkRequest)
    from eucalyptus.drivers.network.uplink import ensure_node_bridge
    cc = f"http://10.100.0.1:{cloud.settings.port('cc')}"

    def call(name, msg, reply=None):
        return cloud.in_front(cloud._call, cc, "POST", name, msg, reply=reply)

    atts = [call("cluster/network/attach", NetworkRequest(iid, groups=[group]),
                 NetworkAttachment)
            for iid, group in (("i-0000f001", "sg-0000f00a"), ("i-0000f002", "sg-0000f00a"),
                               ("i-0000f003", "sg-0000f00b"))]
    try:
        one, two, other = atts
        assert one.vlan == two.vlan != other.vlan and one.bridge == f"eucabr{one.vlan}"
        guests = []
        for att, node in zip(atts, (cloud.nodes[0], cloud.nodes[1], cloud.nodes[1])):
            call("cluster/metadata/put", MetadataRegistration(att.instance_id, att.private_ip,
                                                              {}), InstanceRef)
            ensure_node_bridge(netns_backend, node, att.bridge, att.vlan, "priv0")
            guest = fake_instances(node, att.mac, bridge=att.bridge)
            lease = guest.dhcp()
            assert lease.returncode == 0, lease.stderr + cloud.logs()
            assert guest.address() == f"{att.private_ip}/{att.prefixlen}"
            assert guest.fetch("/latest/meta-data/instance-id")[:2] == (200, att.instance_id)
            guests.append(guest)

        def ping(guest, address):
            return guest.run(["busybox", "ping", "-c", "1", "-W", "2", address]).returncode == 0
        assert ping(guests[0], two.private_ip) and ping(guests[1], one.private_ip)
        # same node, other group: not on the same link (no answer to ARP from there)
        assert guests[2].run(["busybox", "arping", "-c", "1", "-w", "2", "-I", "eth0",
                              two.private_ip]).returncode != 0
    finally:
        for att in atts:
            call("cluster/network/detach", InstanceRef(att.instance_id))

"""A multi-host cloud in MANAGED mode: front end (clc, walrus, sc, cc) and two node controllers,
each in its own namespace joined by a switch (``tests/system/multi_host.py``). Two real guests
of one security group, placed ROUNDROBIN on the two nodes, get their leases from the cluster
controller across the VLAN-tagged private link, reach the metadata service and each other
across hosts. Then an EBS volume of the storage controller on the front end, exported over NBD
on TCP, is hot-plugged into the guest the first test left running on a node (another
namespace). Two guest boots in all (three when the volume test runs alone)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.system.guests import Guests, by_id, ssh, wait_for, write_pem
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


@pytest.fixture(scope="module")
def kept() -> dict:
    """A guest one test leaves running for a later one: instance, address, pem."""
    return {}


def node_of(cloud, iid: str) -> int:
    """The node (1 or 2) whose namespace holds the tap of ``iid`` (0: none)."""
    for n, ns in enumerate(cloud.nodes, 1):
        links = subprocess.run(["ip", "-n", ns, "-o", "link"], capture_output=True,
                               text=True).stdout
        if f"vn{iid[2:][-13:]}" in links:
            return n
    return 0


def test_one_group_spread_over_two_nodes_talks_across_hosts(cloud, kept, tmp_path):
    emi = cloud.install_starter()["emi"]
    ec2 = cloud.in_front(cloud.client, "ec2")
    key = cloud.in_front(ec2.create_key_pair, KeyName="mh", KeyType="ed25519")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    res = cloud.in_front(ec2.run_instances, ImageId=emi, MinCount=2, MaxCount=2,
                         InstanceType="t1.micro", KeyName="mh")
    ids = [i["InstanceId"] for i in res["Instances"]]

    def described(which=ids):
        return by_id(cloud.in_front(ec2.describe_instances, InstanceIds=which))

    def in_guest(address: str, command: str) -> subprocess.CompletedProcess:
        return ssh(cloud.front, pem, address, command)

    try:
        wait_for(lambda: all(i["State"]["Name"] == "running" for i in described().values()),
                 BOOT_TIMEOUT, "both instances running\n" + cloud.logs(), interval=1)
        found = described()
        # ROUNDROBIN: one guest on each node; each one's tap is in its node's namespace
        placed = {}
        for iid in ids:
            placed[iid] = node_of(cloud, iid)
            assert placed[iid], f"{iid} is on no node"
            links = subprocess.run(["ip", "-n", cloud.nodes[placed[iid] - 1], "-o", "link"],
                                   capture_output=True, text=True).stdout
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
        kept.update(instance=two, address=addresses[two], pem=pem)   # for the volume test
    finally:
        gone = [i for i in ids if i != kept.get("instance")]
        cloud.in_front(ec2.terminate_instances, InstanceIds=gone)
    wait_for(lambda: all(i["State"]["Name"] == "terminated"
                         for i in described(gone).values()),
             BOOT_TIMEOUT, "terminated", interval=1)


def _boot_one(cloud, ec2, tmp_path) -> dict:
    """One more guest (when the volume test runs without the first one): instance, address,
    pem, once it answers ssh."""
    emi = cloud.install_starter()["emi"]
    key = cloud.in_front(ec2.create_key_pair, KeyName="mh-vol", KeyType="ed25519")
    pem = write_pem(tmp_path / "vol-key.pem", key["KeyMaterial"])
    iid = cloud.in_front(ec2.run_instances, ImageId=emi, MinCount=1, MaxCount=1,
                         InstanceType="t1.micro", KeyName="mh-vol")["Instances"][0]["InstanceId"]
    found = wait_for(lambda: (d := by_id(cloud.in_front(ec2.describe_instances,
                                                        InstanceIds=[iid]))[iid])
                     and d["State"]["Name"] == "running" and d, BOOT_TIMEOUT,
                     "the instance running\n" + cloud.logs(), interval=1)
    return {"instance": iid, "address": found["PrivateIpAddress"], "pem": pem}


def test_a_volume_of_the_front_end_attaches_to_a_guest_on_a_node(cloud, kept, tmp_path):
    """CreateVolume on the front end's SC, AttachVolume to a guest on node1 or node2: the
    node's QEMU reaches the SC's NBD export on 10.100.0.1 over TCP, the guest finds the disk
    by its serial (the volume id), data written reads back with the same checksum; then
    DetachVolume and DeleteVolume."""
    ec2 = cloud.in_front(cloud.client, "ec2")
    guest = dict(kept) or _boot_one(cloud, ec2, tmp_path)
    iid = guest["instance"]
    guests = Guests(cloud.front, guest["pem"], {iid: guest["address"]})
    vid = ""

    def volume() -> dict:
        return cloud.in_front(ec2.describe_volumes, VolumeIds=[vid])["Volumes"][0]
    try:
        wait_for(lambda: guests.ssh(iid, "true").returncode == 0, BOOT_TIMEOUT,
                 f"ssh {iid}\n{cloud.logs()}")
        node = node_of(cloud, iid)
        assert node in (1, 2), f"{iid} is on no node"
        zone = cloud.in_front(ec2.describe_availability_zones)[
            "AvailabilityZones"][0]["ZoneName"]
        vid = cloud.in_front(ec2.create_volume, AvailabilityZone=zone, Size=1)["VolumeId"]
        wait_for(lambda: volume()["State"] == "available", 60, "the volume\n" + cloud.logs())
        cloud.in_front(ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
        dev = guests.disk_of(iid, vid, timeout=30)
        assert volume()["Attachments"][0]["State"] == "attached"
        # the disk comes from the front end over TCP: the node holds a connection to it
        conns = subprocess.run(["ip", "netns", "exec", cloud.nodes[node - 1], "ss", "-Htn",
                                "state", "established", "dst", "10.100.0.1"],
                               capture_output=True, text=True).stdout
        first, last = cloud.settings.sc_nbd_ports
        remote_ports = {int(line.split()[-1].rsplit(":", 1)[1]) for line in conns.splitlines()
                        if line.strip()}
        assert any(first <= p <= last for p in remote_ports), conns
        written = guests.write_random(iid, dev)
        assert guests.checksum(iid, dev) == written
        cloud.in_front(ec2.detach_volume, VolumeId=vid, InstanceId=iid)
        wait_for(lambda: volume()["State"] == "available", 60, "detached\n" + cloud.logs())
        assert guests.gone(iid, vid)
        cloud.in_front(ec2.delete_volume, VolumeId=vid)
        vid_deleted, vid = vid, ""
        gone = cloud.in_front(ec2.describe_volumes, Filters=[
            {"Name": "volume-id", "Values": [vid_deleted]}])["Volumes"]
        assert gone == [] or gone[0]["State"] in ("deleting", "deleted"), gone
    finally:
        cloud.in_front(ec2.terminate_instances, InstanceIds=[iid])
        kept.clear()
        if vid:
            wait_for(lambda: volume()["State"] == "available", 60, "released")
            cloud.in_front(ec2.delete_volume, VolumeId=vid)


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

"""Public addresses through the EC2 handlers: the pool, allocate/associate/disassociate/
release/describe with AWS's refusals, automatic addresses following instances, the admin's
verbose view, the unsupported modes, and what each change hands to the network sync."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from eucalyptus.db.network import PublicAddress
from eucalyptus.services.ec2 import addresses
from tests.unit.test_security_group_support import A, ADMIN, B, Net, net  # noqa: F401


def rows(net) -> dict[str, PublicAddress]:
    with net.db.session() as s:
        return {r.public_ip: r for r in s.scalars(select(PublicAddress))}


def auto(net, instance_id: str) -> str:
    """Give ``instance_id`` its automatic address, as a launch does."""
    with net.db.session() as s:
        (ip,) = addresses.pick(s, net.settings, None)
        addresses.record_launch(s, net.component, A, {instance_id: ip})
    return ip


def test_pool_expands_ranges_and_singles(net):
    net.settings.vnet_publicips = ("10.88.0.254-10.88.1.1", "192.0.2.9")
    assert list(addresses.pool(net.settings)) == ["10.88.0.254", "10.88.0.255", "10.88.1.0",
                                                  "10.88.1.1", "192.0.2.9"]


def test_allocate_until_exhausted_then_release(net):
    got = [net.call("AllocateAddress") for _ in range(4)]
    assert [g["PublicIp"] for g in got] == [f"10.88.0.{n}" for n in range(50, 54)]
    assert all(g["AllocationId"].startswith("eipalloc-") and g["Domain"] == "standard"
               for g in got)
    assert net.code("AllocateAddress") == "AddressLimitExceeded"
    assert net.pushed[-1].addresses == {"10.88.0.53"}
    net.call("ReleaseAddress", PublicIp="10.88.0.51")
    assert net.pushed[-1].addresses == {"10.88.0.51"}
    again = net.call("AllocateAddress", B, Domain="vpc")
    assert again["PublicIp"] == "10.88.0.51" and again["Domain"] == "vpc"
    assert net.code("AllocateAddress", Domain="classic") == "InvalidParameterValue"


def test_allocate_a_chosen_address(net):
    assert net.call("AllocateAddress", Address="10.88.0.52")["PublicIp"] == "10.88.0.52"
    assert net.code("AllocateAddress", B, Address="10.88.0.52") == "InvalidIPAddress.InUse"
    assert net.code("AllocateAddress", Address="10.99.0.1") == "InvalidParameterValue"


def test_describe_own_filters_and_not_found(net):
    a = net.call("AllocateAddress", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "use", "Value": "web"}]}])
    b = net.call("AllocateAddress", B)
    mine = net.call("DescribeAddresses")["Addresses"]
    assert mine == [{"PublicIp": a["PublicIp"], "AllocationId": a["AllocationId"],
                     "Domain": "standard", "Tags": [{"Key": "use", "Value": "web"}]}]
    assert net.code("DescribeAddresses", PublicIps=[b["PublicIp"]]) == "InvalidAddress.NotFound"
    assert net.code("DescribeAddresses", AllocationIds=[b["AllocationId"]]) == \
        "InvalidAllocationID.NotFound"
    assert net.code("DescribeAddresses", PublicIps=["nonsense"]) == "InvalidParameterValue"
    assert net.call("DescribeAddresses", Filters=[{"Name": "tag:use", "Values": ["web"]}])[
        "Addresses"][0]["PublicIp"] == a["PublicIp"]
    assert net.call("DescribeAddresses", Filters=[{"Name": "domain", "Values": ["vpc"]}])[
        "Addresses"] == []
    assert net.code("DescribeAddresses", Filters=[{"Name": "nope", "Values": ["x"]}]) == \
        "InvalidParameterValue"
    assert net.call("DescribeAddresses", PublicIps=["verbose"])["Addresses"] == mine  # not admin


def test_release_refusals(net):
    b = net.call("AllocateAddress", B)
    assert net.code("ReleaseAddress", PublicIp=b["PublicIp"]) == "AuthFailure"
    assert net.code("ReleaseAddress", AllocationId=b["AllocationId"]) == \
        "InvalidAllocationID.NotFound"
    assert net.code("ReleaseAddress", PublicIp="10.88.0.53") == "AuthFailure"   # free
    assert net.code("ReleaseAddress") == "MissingParameter"
    assert net.code("ReleaseAddress", PublicIp=b["PublicIp"],
                    AllocationId=b["AllocationId"]) == "InvalidParameterCombination"
    net.call("ReleaseAddress", B, AllocationId=b["AllocationId"])
    assert rows(net) == {}


def test_associate_replaces_automatic_and_disassociate_gives_a_new_one(net):
    iid = net.instance(private_ip="10.77.0.9")
    first = auto(net, iid)
    elastic = net.call("AllocateAddress")
    out = net.call("AssociateAddress", InstanceId=iid, PublicIp=elastic["PublicIp"])
    assert out["AssociationId"].startswith("eipassoc-")
    held = rows(net)
    assert first not in held                                   # back to the pool
    assert held[elastic["PublicIp"]].instance_id == iid
    assert net.pushed[-1].addresses == {first, elastic["PublicIp"]}
    (item,) = net.call("DescribeAddresses")["Addresses"]
    assert item["InstanceId"] == iid and item["PrivateIpAddress"] == "10.77.0.9"
    assert item["AssociationId"] == out["AssociationId"]
    with net.db.session() as s:
        assert addresses.public_ips_of(s, [iid]) == {iid: elastic["PublicIp"]}
    net.call("DisassociateAddress", PublicIp=elastic["PublicIp"])
    held = rows(net)
    assert held[elastic["PublicIp"]].instance_id is None
    (new_auto,) = [r for r in held.values() if r.auto_assigned]
    assert new_auto.instance_id == iid
    assert net.call("DescribeAddresses")["Addresses"][0].get("InstanceId") is None
    assert net.call("DisassociateAddress", PublicIp=elastic["PublicIp"]) == {}   # idempotent


def test_moving_between_instances(net):
    one, two = net.instance(private_ip="10.77.0.2"), net.instance(private_ip="10.77.0.3")
    elastic = net.call("AllocateAddress")
    net.call("AssociateAddress", InstanceId=one, PublicIp=elastic["PublicIp"])
    assert net.code("AssociateAddress", InstanceId=two,
                    AllocationId=elastic["AllocationId"]) == "Resource.AlreadyAssociated"
    net.call("AssociateAddress", InstanceId=two, PublicIp=elastic["PublicIp"])   # classic moves
    held = rows(net)
    assert held[elastic["PublicIp"]].instance_id == two
    assert [r.instance_id for r in held.values() if r.auto_assigned] == [one]  # one got a new
    again = net.call("AssociateAddress", InstanceId=one, AllocationId=elastic["AllocationId"],
                     AllowReassociation=True)
    assert rows(net)[elastic["PublicIp"]].association_id == again["AssociationId"]
    assert net.call("AssociateAddress", InstanceId=one, PublicIp=elastic["PublicIp"]) == again


def test_associate_refusals(net):
    mine, theirs = net.instance(), net.instance(B)
    a, b = net.call("AllocateAddress"), net.call("AllocateAddress", B)
    assert net.code("AssociateAddress", InstanceId=mine, PublicIp=b["PublicIp"]) == \
        "AuthFailure"
    assert net.code("AssociateAddress", InstanceId=mine, AllocationId=b["AllocationId"]) == \
        "InvalidAllocationID.NotFound"
    assert net.code("AssociateAddress", InstanceId=theirs, PublicIp=a["PublicIp"]) == \
        "InvalidInstanceID.NotFound"
    assert net.code("AssociateAddress", PublicIp=a["PublicIp"]) == "MissingParameter"
    assert net.code("AssociateAddress", InstanceId=mine) == "MissingParameter"
    net.set_state(mine, "terminated")
    assert net.code("AssociateAddress", InstanceId=mine, PublicIp=a["PublicIp"]) == \
        "IncorrectInstanceState"
    assert net.code("DisassociateAddress", AssociationId="eipassoc-00000000") == \
        "InvalidAssociationID.NotFound"
    assert net.code("DisassociateAddress", B, PublicIp=a["PublicIp"]) == "AuthFailure"


def test_release_associated(net):
    iid = net.instance()
    std = net.call("AllocateAddress")
    net.call("AssociateAddress", InstanceId=iid, PublicIp=std["PublicIp"])
    net.call("ReleaseAddress", PublicIp=std["PublicIp"])       # classic: disassociated first
    assert [r.auto_assigned for r in rows(net).values()] == [True]
    vpc = net.call("AllocateAddress", Domain="vpc")
    net.call("AssociateAddress", InstanceId=iid, AllocationId=vpc["AllocationId"])
    assert net.code("ReleaseAddress", AllocationId=vpc["AllocationId"]) == \
        "InvalidIPAddress.InUse"


def test_addresses_follow_instances_out(net):
    one, two = net.instance(), net.instance()
    first = auto(net, one)
    elastic = net.call("AllocateAddress")
    net.call("AssociateAddress", InstanceId=two, PublicIp=elastic["PublicIp"])
    with net.db.session() as s:
        assert addresses.reap(s, net.settings, net.component) == 0
    net.set_state(one, "terminated")
    net.set_state(two, "shutting-down")
    with net.db.session() as s:
        assert addresses.reap(s, net.settings, net.component) == 2
    held = rows(net)
    assert first not in held and held[elastic["PublicIp"]].instance_id is None
    assert net.pushed[-1].addresses == {first, elastic["PublicIp"]}


def test_stopped_instances_give_back_and_running_ones_get_an_address(net):
    net.settings.vnet_publicips = ("10.88.0.50",)
    one, two = net.instance(), net.instance()
    with net.db.session() as s:
        assert addresses.reap(s, net.settings, net.component) == 1    # the pool has one
    (held,) = rows(net).values()
    assert held.auto_assigned and held.instance_id in (one, two)
    net.set_state(held.instance_id, "stopped")
    with net.db.session() as s:                                       # back, and to the other
        assert addresses.reap(s, net.settings, net.component) == 2
    (again,) = rows(net).values()
    assert again.instance_id != held.instance_id
    net.set_state(again.instance_id, "terminated")
    net.set_state(held.instance_id, "running")
    with net.db.session() as s:
        addresses.reap(s, net.settings, net.component)
    assert [r.instance_id for r in rows(net).values()] == [held.instance_id]


def test_admin_verbose_sees_the_whole_pool(net):
    iid = net.instance(B)
    with net.db.session() as s:
        addresses.record_launch(s, net.component, B, {iid: "10.88.0.50"})
    net.call("AllocateAddress")
    listed = net.call("DescribeAddresses", ADMIN, PublicIps=["verbose"])["Addresses"]
    by_ip = {a["PublicIp"]: a["InstanceId"] for a in listed}
    assert by_ip == {"10.88.0.50": f"{iid} (beta)", "10.88.0.51": "nobody (alpha)",
                     "10.88.0.52": "available", "10.88.0.53": "available"}
    assert net.call("DescribeAddresses", ADMIN)["Addresses"] == []   # its own, plainly
    assert net.call("DescribeAddresses", B)["Addresses"] == []       # automatic: not listed


@pytest.mark.parametrize("mode", ["STATIC", "SYSTEM"])
def test_unsupported_modes(tmp_path, tmp_path_factory, mode):
    other = Net(tmp_path, tmp_path_factory, mode=mode)
    try:
        iid = other.instance()
        for op, params in (("AllocateAddress", {}),
                           ("AssociateAddress", {"InstanceId": iid,
                                                 "PublicIp": "10.88.0.50"})):
            with pytest.raises(Exception) as err:
                other.call(op, **params)
            assert err.value.code == "UnsupportedOperation"
            assert f"not supported in network mode {mode}" in err.value.message
        assert other.call("DescribeAddresses")["Addresses"] == []
        with other.db.session() as s:
            ctx = other.context(s, "RunInstances", A)
            assert addresses.reserve_for_launch(ctx, 2) == []
    finally:
        other.close()


def test_launch_reservations_are_not_handed_out_twice(net):
    with net.db.session() as s:
        ctx = net.context(s, "RunInstances", A)
        held = addresses.reserve_for_launch(ctx, 3)
        assert held == ["10.88.0.50", "10.88.0.51", "10.88.0.52"]
        assert addresses.reserve_for_launch(ctx, 3) == ["10.88.0.53"]
    assert net.code("AllocateAddress", B) == "AddressLimitExceeded"   # all held by launches
    addresses.unreserve(net.component, held)
    assert net.call("AllocateAddress", B)["PublicIp"] == "10.88.0.50"

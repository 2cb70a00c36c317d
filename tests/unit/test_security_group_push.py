"""The CLC's push to the cluster (clc.network_sync) against a recording receiver: committed
changes go out at once as the contract's messages, the periodic re-send is complete, a failed
push is logged and retried soon, STATIC/SYSTEM push nothing, and addresses of terminated
instances are reaped."""
from __future__ import annotations

import asyncio

import pytest

from eucalyptus.cc.vnet.policy_messages import (GroupIds, PublicAddresses, PublicIps,
                                                SecurityGroups)
from eucalyptus.clc import network_sync
from eucalyptus.errors import ServiceUnavailable
from eucalyptus.rpc.messages import from_wire, to_wire
from eucalyptus.services.ec2 import addresses
from eucalyptus.services.ec2.instances import default_group_id
from tests.unit.test_security_group_support import A, Net, net  # noqa: F401


@pytest.fixture
def sent(monkeypatch):
    """Every (route, message) the sync sends; set ``sent.fail`` to make calls fail."""
    class Recorder(list):
        fail = False

    record = Recorder()

    async def fake_call(component, name, msg=None, reply=None, timeout=60.0, zone=None):
        if record.fail:
            raise ServiceUnavailable("cluster down")
        kind = {"groups/put": SecurityGroups, "groups/delete": GroupIds,
                "addresses/put": PublicAddresses, "addresses/delete": PublicIps}[
            name.removeprefix("cluster/network/")]
        record.append((name, from_wire(kind, to_wire(msg))))      # as the wire carries it
        return {}
    monkeypatch.setattr(network_sync, "cluster_call", fake_call)
    return record


def run(net, steps):
    """Run ``steps(sync)`` (a coroutine function) with a NetworkSync in a fresh loop."""
    async def main():
        net.component.db = net.db
        sync = network_sync.NetworkSync(net.component, interval=3600, retry=0.0)
        net.component.network_sync = sync
        await steps(sync)
    asyncio.run(main())


def in_thread(net, *args, **kw):
    return asyncio.to_thread(net.call, *args, **kw)


def test_changes_pushed_after_commit_and_complete_first(net, sent):
    async def steps(sync):
        await sync.once()                                    # the first round is complete
        assert [n for n, _m in sent] == ["cluster/network/groups/put",
                                         "cluster/network/addresses/put"]
        assert sent[0][1].complete and sent[1][1].complete
        sent.clear()
        gid = (await in_thread(net, "CreateSecurityGroup", GroupName="web",
                               Description="d"))["GroupId"]
        await in_thread(net, "AuthorizeSecurityGroupIngress", GroupId=gid, IpProtocol="tcp",
                        FromPort=22, ToPort=22, CidrIp="10.0.0.0/8")
        assert sync.pending.groups == {gid, default_group_id(A)}
        await sync.once()
        ((name, msg),) = sent
        assert name == "cluster/network/groups/put" and not msg.complete
        web = {g.group_id: g for g in msg.groups}[gid]
        assert (web.owner_id, web.name) == (A, "web")
        assert [(r.protocol, r.from_port, r.cidrs) for r in web.ingress] == [
            ("tcp", 22, ["10.0.0.0/8"])]
        sent.clear()
        await in_thread(net, "DeleteSecurityGroup", GroupId=gid)
        ip = (await in_thread(net, "AllocateAddress"))["PublicIp"]
        await sync.once()
        assert sent == [("cluster/network/groups/delete", GroupIds([gid])),
                        ("cluster/network/addresses/put",
                         PublicAddresses([addresses_assignment(ip)]))]
        sent.clear()
        await in_thread(net, "ReleaseAddress", PublicIp=ip)
        await sync.once()
        assert sent == [("cluster/network/addresses/delete", PublicIps([ip]))]
    run(net, steps)


def addresses_assignment(ip: str, instance_id: str = ""):
    from eucalyptus.cc.vnet.policy_messages import PublicAssignment
    return PublicAssignment(ip, instance_id)


def test_failed_push_is_not_an_error_and_is_retried_complete(net, sent):
    async def steps(sync):
        sent.fail = True
        await in_thread(net, "CreateSecurityGroup", GroupName="x", Description="d")
        await sync.once()                                    # logged, not raised
        assert sent == [] and sync.pushes == 0
        sent.fail = False
        await sync.once()                                    # retry: everything, complete
        puts = [m for n, m in sent if n == "cluster/network/groups/put"]
        assert puts and puts[-1].complete
        assert {g.name for g in puts[-1].groups} == {"default", "x"}
    run(net, steps)


def test_reaped_addresses_are_pushed(net, sent):
    iid = net.instance()
    with net.db.session() as s:
        addresses.record_launch(s, None, A, {iid: "10.88.0.50"})

    async def steps(sync):
        await sync.once()
        assert ("cluster/network/addresses/put",
                PublicAddresses([addresses_assignment("10.88.0.50", iid)], complete=True)) in sent
        sent.clear()
        net.set_state(iid, "terminated")
        await sync.once()
        assert sent == [("cluster/network/addresses/delete", PublicIps(["10.88.0.50"]))]
    run(net, steps)


@pytest.mark.parametrize("mode", ["STATIC", "SYSTEM"])
def test_nothing_pushed_without_managed_mode(tmp_path, tmp_path_factory, sent, mode):
    other = Net(tmp_path, tmp_path_factory, mode=mode)
    try:
        async def steps(sync):
            await in_thread(other, "DescribeSecurityGroups")
            await sync.once()
            assert sent == [] and not sync.pending
        run(other, steps)
    finally:
        other.close()


def test_run_forever_pushes_within_a_second(net, sent):
    async def steps(sync):
        task = asyncio.create_task(sync.run_forever())
        try:
            for _ in range(100):
                if sent:
                    break
                await asyncio.sleep(0.01)
            sent.clear()
            loop = asyncio.get_running_loop()
            started = loop.time()
            await in_thread(net, "AuthorizeSecurityGroupIngress", GroupName="default",
                            IpProtocol="tcp", FromPort=80, ToPort=80, CidrIp="0.0.0.0/0")
            while not sent and loop.time() - started < 1.0:
                await asyncio.sleep(0.005)
            assert sent and sent[0][0] == "cluster/network/groups/put"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    run(net, steps)

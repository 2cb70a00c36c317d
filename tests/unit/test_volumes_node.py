"""The node's volume routes (nc.volumes) on the hypervisor double, and the cluster's forwarding
(cc.volumes) to the instance's node."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from eucalyptus import errors
from eucalyptus.cc.instance_messages import InstanceView
from eucalyptus.cc.volumes import ClusterVolumes
from eucalyptus.nc.instances import InstanceManager
from eucalyptus.nc.messages import RunInstance
from eucalyptus.nc.resources import Capacity
from eucalyptus.nc.volumes import (AttachedQuery, AttachedVolume, AttachedVolumes,
                                   NodeVolumes, VolumeAttach, VolumeDetach)
from tests.fakes.hypervisor import STATE_FILE, FakeDriver

IID = "i-00000001"


def _node(tmp_path):
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(b"\x7fELF")
    manager = InstanceManager(tmp_path / "instances", FakeDriver(),
                              Capacity(cores=2, memory_mib=1024, disk_gib=10))
    return manager, NodeVolumes(manager), str(kernel)


def _attach(vid: str, device: str) -> VolumeAttach:
    return VolumeAttach(IID, vid, device, vid, nbd_socket="/run/sc/nbd.sock")


def test_attach_describe_detach(tmp_path):
    async def scenario():
        manager, volumes, kernel = _node(tmp_path)
        with pytest.raises(errors.ServiceError) as err:
            await volumes.attach(_attach("vol-00000001", "/dev/sdf"))
        assert err.value.code == "InvalidInstanceID.NotFound"
        await manager.run(RunInstance(IID, kernel=kernel))
        got = await volumes.attach(_attach("vol-00000001", "/dev/sdf"))
        assert (got.state, got.device) == ("attached", "/dev/sdf")
        assert await volumes.attach(_attach("vol-00000001", "/dev/sdf")) == got   # idempotent
        guest = json.loads((tmp_path / "instances" / IID / STATE_FILE).read_text())
        assert guest["disks"]["vol-00000001"]["nbd_socket"] == "/run/sc/nbd.sock"
        with pytest.raises(errors.ServiceError) as err:
            await volumes.attach(_attach("vol-00000002", "/dev/sdf"))
        assert err.value.code == "InvalidParameterValue"
        await volumes.attach(_attach("vol-00000002", "/dev/sdg"))
        with pytest.raises(errors.ServiceError) as err:
            await volumes.attach(_attach("vol-00000003", "/dev/sdh"))
        assert err.value.code == "AttachmentLimitExceeded"
        listed = volumes.describe(AttachedQuery())
        assert [(v.volume_id, v.device) for v in listed.volumes] == [
            ("vol-00000001", "/dev/sdf"), ("vol-00000002", "/dev/sdg")]
        out = await volumes.detach(VolumeDetach(IID, "vol-00000001"))
        assert out.state == "detached"
        assert (await volumes.detach(VolumeDetach(IID, "vol-00000001"))).state == "detached"
        guest = json.loads((tmp_path / "instances" / IID / STATE_FILE).read_text())
        assert list(guest["disks"]) == ["vol-00000002"]
        await manager.terminate(IID)
        assert volumes.describe(AttachedQuery([])).volumes == []
        with pytest.raises(errors.ServiceError) as err:
            await volumes.attach(_attach("vol-00000001", "/dev/sdf"))
        assert err.value.code == "IncorrectInstanceState"
    asyncio.run(scenario())


def test_forced_detach_when_the_guest_holds_on(tmp_path):
    async def scenario():
        manager, volumes, kernel = _node(tmp_path)
        await manager.run(RunInstance(IID, kernel=kernel))
        await volumes.attach(_attach("vol-00000001", "/dev/sdf"))

        async def stuck(handle, serial, timeout=10.0):
            from eucalyptus.drivers.hypervisor.base import HypervisorError
            raise HypervisorError("the guest did not release it")
        manager.driver.detach_disk = stuck
        with pytest.raises(errors.ServiceError) as err:
            await volumes.detach(VolumeDetach(IID, "vol-00000001"))
        assert err.value.code == "VolumeInUse"
        assert len(volumes.describe(AttachedQuery()).volumes) == 1
        out = await volumes.detach(VolumeDetach(IID, "vol-00000001", force=True))
        assert out.state == "detached" and out.reason.startswith("forced")
        assert volumes.describe(AttachedQuery()).volumes == []
    asyncio.run(scenario())


def test_bad_export_is_refused(tmp_path):
    async def scenario():
        manager, volumes, kernel = _node(tmp_path)
        await manager.run(RunInstance(IID, kernel=kernel))
        with pytest.raises(errors.ServiceError) as err:
            await volumes.attach(VolumeAttach(IID, "vol-00000001", "/dev/sdf"))
        assert err.value.code == "InvalidParameterValue"
    asyncio.run(scenario())


class _Instances:
    """The slice of cc.instances.ClusterInstances that ClusterVolumes uses."""

    def __init__(self):
        self.views = {}
        self.sent: list[tuple[str, str]] = []
        self.nodes = None

    async def _call(self, node, name, msg, reply, timeout=30.0):
        self.sent.append((node, name))
        if name.endswith("describe"):
            return AttachedVolumes([AttachedVolume(IID, "vol-00000001", "/dev/sdf")])
        if name.endswith("attach"):
            return AttachedVolume(msg.instance_id, msg.volume_id, msg.device)
        if node == "down:8775":
            raise errors.ServiceUnavailable("cannot reach it")
        return AttachedVolume(msg.instance_id, msg.volume_id, state="detached")


def test_cluster_forwards_to_the_instance_node():
    async def scenario():
        inst = _Instances()
        cc = ClusterVolumes(inst)
        with pytest.raises(errors.ServiceError) as err:
            await cc.attach(_attach("vol-00000001", "/dev/sdf"))
        assert err.value.code == "InvalidInstanceID.NotFound"
        inst.views[IID] = InstanceView(IID, "10.0.0.2:8775", "pending", reported_at=time.time())
        with pytest.raises(errors.ServiceError) as err:
            await cc.attach(_attach("vol-00000001", "/dev/sdf"))
        assert err.value.code == "IncorrectInstanceState"
        inst.views[IID].state = "running"
        await cc.attach(_attach("vol-00000001", "/dev/sdf"))
        assert inst.sent[-1] == ("10.0.0.2:8775", "node/volumes/attach")
        listed = await cc.describe(AttachedQuery([IID]))
        assert [v.volume_id for v in listed.volumes] == ["vol-00000001"]
        inst.views[IID].node = "down:8775"
        with pytest.raises(errors.ServiceError):
            await cc.detach(VolumeDetach(IID, "vol-00000001"))
        forced = await cc.detach(VolumeDetach(IID, "vol-00000001", force=True))
        assert forced.state == "detached" and "forced" in forced.reason
        inst.views[IID].state = "terminated"
        sent = len(inst.sent)
        assert (await cc.detach(VolumeDetach(IID, "vol-00000001"))).state == "detached"
        assert len(inst.sent) == sent          # a terminated guest's node is not asked
    asyncio.run(scenario())

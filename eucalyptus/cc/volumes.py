"""The cluster controller's volume routes: find the instance's node and forward.

    POST /internal/cluster/volumes/attach    nc.volumes.VolumeAttach  -> AttachedVolume
    POST /internal/cluster/volumes/detach    nc.volumes.VolumeDetach  -> AttachedVolume
    POST /internal/cluster/volumes/describe  nc.volumes.AttachedQuery -> AttachedVolumes

Callers clc and admin. The node is the one the cluster's soft state (``ClusterInstances
.views``) places the instance on; an instance the cluster does not know is
InvalidInstanceID.NotFound, one whose node is down is IncorrectInstanceState, and a detach
from an instance that already terminated answers "detached" without asking its node (the
guest, and its NBD connection, are gone). ``describe`` asks every up node.
"""
from __future__ import annotations

import asyncio
import logging

from eucalyptus import errors
from eucalyptus.nc.volumes import (AttachedQuery, AttachedVolume, AttachedVolumes,
                                   VolumeAttach, VolumeDetach)

log = logging.getLogger("eucalyptus.cc.volumes")
CALLERS = {"clc", "admin"}
ATTACH_TIMEOUT = 60.0


class ClusterVolumes:
    def __init__(self, instances):
        self.instances = instances           # cc.instances.ClusterInstances

    def _view(self, instance_id: str):
        view = self.instances.views.get(instance_id)
        if view is None:
            raise errors.NotFound("InvalidInstanceID.NotFound",
                                  f"The instance ID '{instance_id}' does not exist")
        return view

    async def attach(self, msg: VolumeAttach) -> AttachedVolume:
        view = self._view(msg.instance_id)
        if view.state != "running" or view.node_state not in ("up", "unknown"):
            raise errors.ClientError("IncorrectInstanceState",
                                     f"The instance '{msg.instance_id}' is not 'running'")
        return await self.instances._call(view.node, "node/volumes/attach", msg,
                                          AttachedVolume, ATTACH_TIMEOUT)

    async def detach(self, msg: VolumeDetach) -> AttachedVolume:
        view = self._view(msg.instance_id)
        if view.state == "terminated":
            return AttachedVolume(msg.instance_id, msg.volume_id, state="detached",
                                  reason="the instance terminated")
        try:
            return await self.instances._call(view.node, "node/volumes/detach", msg,
                                              AttachedVolume, ATTACH_TIMEOUT)
        except errors.ServiceUnavailable:
            if not msg.force:
                raise
            return AttachedVolume(msg.instance_id, msg.volume_id, state="detached",
                                  reason=f"forced: node {view.node} does not answer")

    async def describe(self, msg: AttachedQuery) -> AttachedVolumes:
        if msg.instance_ids:
            nodes = {self._view(i).node for i in msg.instance_ids}
        else:
            nodes = {n.address for n in self.instances.nodes.snapshot() if n.state == "up"}

        async def one(node: str) -> list[AttachedVolume]:
            try:
                got = await self.instances._call(node, "node/volumes/describe", msg,
                                                 AttachedVolumes, 10)
                return got.volumes
            except errors.ServiceError as exc:
                log.info("volumes of node %s: %s", node, exc.message)
                return []
        found = await asyncio.gather(*(one(n) for n in sorted(nodes)))
        return AttachedVolumes([v for vols in found for v in vols])

    def add_routes(self, routes) -> None:
        async def attach(msg: VolumeAttach, _caller: str) -> AttachedVolume:
            return await self.attach(msg)

        async def detach(msg: VolumeDetach, _caller: str) -> AttachedVolume:
            return await self.detach(msg)

        async def describe(msg: AttachedQuery, _caller: str) -> AttachedVolumes:
            return await self.describe(msg)

        routes.add("POST", "cluster/volumes/attach", attach, VolumeAttach, callers=CALLERS)
        routes.add("POST", "cluster/volumes/detach", detach, VolumeDetach, callers=CALLERS)
        routes.add("POST", "cluster/volumes/describe", describe, AttachedQuery,
                   callers=CALLERS)

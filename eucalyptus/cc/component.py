"""The Cluster Controller: one per availability zone; keeps soft state of its nodes.

It polls every registered node controller each NC_POLLING_FREQUENCY seconds and answers
the cloud controller's ``cluster/resources`` call with the zone and its nodes.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from eucalyptus.config import Settings
from eucalyptus.cc.instances import ClusterInstances
from eucalyptus.cc.nodes import NodeTable
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.keys import load_private
from eucalyptus.cc.vnet.manager import InstanceNetwork
from eucalyptus.rpc.messages import ClusterResources, NodeAddresses, NodeResources
from eucalyptus.rpc.service import Component


class ClusterController(Component):
    name = "cc"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.nodes = NodeTable(self._ask_node, settings.nc_port,
                               settings.path("cc", "nodes.json"))
        self.nodes.register(list(settings.nodes))
        self._poller: asyncio.Task | None = None
        self.routes.add("POST", "cluster/resources", self._describe,
                        callers={"clc", "admin"})
        self.routes.add("POST", "cluster/nodes/register", self._register, NodeAddresses,
                        callers={"admin", "clc"})
        self.routes.add("POST", "cluster/nodes/deregister", self._deregister, NodeAddresses,
                        callers={"admin", "clc"})
        self.nodes.add_state_routes(self.routes, self.zone, callers={"admin", "clc"})
        self.vnet = InstanceNetwork(settings)      # ConfigError for an unsupported VNET_MODE
        self.vnet.add_routes(self.routes)
        self.instances = ClusterInstances(
            self.nodes, lambda url, timeout: RpcClient(
                self.name, load_private(settings.data_dir, self.name), url, timeout),
            self.vnet, settings.schedpolicy, self.zone)
        self.instances.add_routes(self.routes)
        from eucalyptus.cc.volumes import ClusterVolumes
        self.volumes = ClusterVolumes(self.instances)
        self.volumes.add_routes(self.routes)

    async def _ask_node(self, address: str) -> NodeResources:
        return await self.client(f"http://{address}", timeout=5).call(
            "POST", "node/resources", reply=NodeResources)

    async def _poll_forever(self) -> None:
        while True:
            await self.nodes.poll()
            await self.instances.poll()
            await asyncio.sleep(self.settings.nc_polling_frequency)

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll_forever())
        await self.vnet.start()

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.instances.stop()
        await self.vnet.stop()

    async def _describe(self, _msg: None, _caller: str) -> ClusterResources:
        return ClusterResources(zone=self.zone, nodes=self.nodes.snapshot())

    async def _register(self, msg: NodeAddresses, _caller: str) -> ClusterResources:
        added = self.nodes.register(msg.nodes)
        await self.nodes.poll(added)
        return ClusterResources(zone=self.zone, nodes=self.nodes.snapshot())

    async def _deregister(self, msg: NodeAddresses, _caller: str) -> ClusterResources:
        self.nodes.deregister(msg.nodes)
        return ClusterResources(zone=self.zone, nodes=self.nodes.snapshot())

    def health_details(self) -> dict[str, Any]:
        snapshot = self.nodes.snapshot()
        return {"zone": self.zone,
                "nodes": f"{sum(n.state == 'up' for n in snapshot)}/{len(snapshot)} up",
                "schedpolicy": self.settings.schedpolicy, "vnet": self.vnet.summary()}

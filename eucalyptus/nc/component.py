"""The Node Controller: one per host; reports its resources and runs instances.

Internal routes (callers cc, clc, admin): ``node/resources`` and the instance routes listed in
``eucalyptus.nc.messages``. Guests outlive the node controller: ``start`` re-adopts them from
INSTANCE_PATH and ``stop`` leaves them running.
"""
from __future__ import annotations

import asyncio
from typing import Any

from eucalyptus.config import Settings
from eucalyptus.nc.hypervisor import describe, load_driver
from eucalyptus.nc.image_cache import ImageCache
from eucalyptus.nc.image_fetch import KEY_FILE, ImageFetcher
from eucalyptus.nc.instances import InstanceManager
from eucalyptus.nc.messages import (ConsoleOutput, ConsoleQuery, InstanceInfo, InstanceList,
                                    InstanceQuery, InstanceRef, RunInstance)
from eucalyptus.nc.resources import Capacity, host_capacity, report
from eucalyptus.rpc.messages import NodeResources
from eucalyptus.rpc.service import Component

CALLERS = {"cc", "clc", "admin"}


def _network_backend():
    """The tap-making backend when this host can make taps (root, iproute2), else None."""
    try:
        from eucalyptus.drivers.network.iproute import IprouteBackend
    except ImportError:
        return None
    backend = IprouteBackend()
    return None if backend.unavailable_reason() else backend


class NodeController(Component):
    name = "nc"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.instance_path = settings.instance_path
        self.instance_path.mkdir(parents=True, exist_ok=True)
        self.capacity: Capacity = host_capacity(settings)
        self.driver = load_driver(settings)
        self.manager = InstanceManager(self.instance_path, self.driver, self.capacity,
                                       network=_network_backend(),
                                       namespace=settings.vnet_namespace,
                                       uplink=settings.vnet_privinterface)
        self.image_cache = ImageCache(self.instance_path / "cache",
                                      settings.nc_cache_size * 2 ** 20)
        self.images = ImageFetcher(settings.path("keys", KEY_FILE), self.image_cache)
        self.images.add_routes(self.routes, CALLERS)
        from eucalyptus.nc.volumes import NodeVolumes
        self.volumes = NodeVolumes(self.manager)
        self.volumes.add_routes(self.routes, CALLERS)
        self._watch: asyncio.Task | None = None
        self.routes.add("POST", "node/resources", self._resources, callers=CALLERS)
        for name, handler, message in (
                ("run", self._run, RunInstance), ("terminate", self._terminate, InstanceRef),
                ("reboot", self._reboot, InstanceRef),
                ("describe", self._describe, InstanceQuery),
                ("console", self._console, ConsoleQuery)):
            self.routes.add("POST", f"node/instances/{name}", handler, message, callers=CALLERS)

    def resources(self) -> NodeResources:
        return report(f"{self.settings.bind_address}:{self.settings.nc_port}", self.capacity,
                      self.manager.usage(), describe(self.driver))

    async def start(self) -> None:
        await self.manager.recover()
        self._watch = asyncio.create_task(self.manager.watch())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            try:
                await self._watch
            except asyncio.CancelledError:
                pass

    async def _resources(self, _msg: None, _caller: str) -> NodeResources:
        return self.resources()

    async def _run(self, msg: RunInstance, _caller: str) -> InstanceInfo:
        return await self.manager.run(msg)

    async def _terminate(self, msg: InstanceRef, _caller: str) -> InstanceInfo:
        return await self.manager.terminate(msg.instance_id)

    async def _reboot(self, msg: InstanceRef, _caller: str) -> InstanceInfo:
        return await self.manager.reboot(msg.instance_id)

    async def _describe(self, msg: InstanceQuery, _caller: str) -> InstanceList:
        return InstanceList(self.manager.describe(msg.instance_ids))

    async def _console(self, msg: ConsoleQuery, _caller: str) -> ConsoleOutput:
        return self.manager.console(msg.instance_id, msg.limit)

    def health_details(self) -> dict[str, Any]:
        r = self.resources()
        return {"cores": f"{r.cores_free}/{r.cores_total}",
                "memory_mib": f"{r.memory_free_mib}/{r.memory_total_mib}",
                "disk_gib": f"{r.disk_free_gib}/{r.disk_total_gib}",
                "instances": r.instances, "hypervisor": r.hypervisor}

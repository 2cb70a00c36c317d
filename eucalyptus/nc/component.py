"""The Node Controller: one per host; reports its resources and (later) runs instances."""
from __future__ import annotations

from typing import Any

from eucalyptus.config import Settings
from eucalyptus.nc.resources import Capacity, Usage, host_capacity, report
from eucalyptus.rpc.messages import NodeResources
from eucalyptus.rpc.service import Component


class NodeController(Component):
    name = "nc"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.instance_path = settings.instance_path
        self.instance_path.mkdir(parents=True, exist_ok=True)
        self.capacity: Capacity = host_capacity(settings)
        self.instances: dict[str, Usage] = {}   # instance id -> what it holds
        self.routes.add("POST", "node/resources", self._resources,
                        callers={"cc", "clc", "admin"})

    def resources(self) -> NodeResources:
        return report(f"{self.settings.bind_address}:{self.settings.nc_port}", self.capacity,
                      list(self.instances.values()), self.settings.hypervisor)

    async def _resources(self, _msg: None, _caller: str) -> NodeResources:
        return self.resources()

    def health_details(self) -> dict[str, Any]:
        r = self.resources()
        return {"cores": f"{r.cores_free}/{r.cores_total}",
                "memory_mib": f"{r.memory_free_mib}/{r.memory_total_mib}",
                "disk_gib": f"{r.disk_free_gib}/{r.disk_total_gib}",
                "instances": r.instances, "hypervisor": r.hypervisor}

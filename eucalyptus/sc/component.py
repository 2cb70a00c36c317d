"""The Storage Controller: EBS volumes and snapshots of one zone, kept under DIR/sc."""
from __future__ import annotations

import shutil
from typing import Any

from eucalyptus.config import Settings
from eucalyptus.rpc.service import Component


class StorageController(Component):
    name = "sc"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.volumes_path = settings.path("sc", "volumes")
        self.volumes_path.mkdir(parents=True, exist_ok=True)

    def health_details(self) -> dict[str, Any]:
        usage = shutil.disk_usage(self.volumes_path)
        return {"zone": self.zone, "volumes_path": str(self.volumes_path),
                "free_gib": usage.free // 2 ** 30}

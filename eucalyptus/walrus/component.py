"""Walrus: object storage. Holds blobs under DIR/walrus; the S3 API is served here later."""
from __future__ import annotations

import shutil
from typing import Any

from eucalyptus.config import Settings
from eucalyptus.rpc.service import Component


class Walrus(Component):
    name = "walrus"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.objects_path = settings.path("walrus")
        self.objects_path.mkdir(parents=True, exist_ok=True)

    def health_details(self) -> dict[str, Any]:
        usage = shutil.disk_usage(self.objects_path)
        return {"objects_path": str(self.objects_path), "free_gib": usage.free // 2 ** 30}

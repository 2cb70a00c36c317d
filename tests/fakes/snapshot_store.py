"""An in-memory stand-in for ``eucalyptus.sc.object_store.SnapshotObjects`` (same coroutines),
for unit tests of snapshot transfer without a running Walrus."""
from __future__ import annotations

from eucalyptus.sc.object_store import ObjectMissing, ObjectStoreError


class MemorySnapshotObjects:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0
        self.fail_puts_after: int | None = None     # raise ObjectStoreError after N puts

    async def ensure_bucket(self) -> None:
        pass

    async def put(self, key: str, body) -> None:
        if self.fail_puts_after is not None and self.puts >= self.fail_puts_after:
            raise ObjectStoreError("injected failure", 500)
        self.puts += 1
        self.objects[key] = bytes(body)

    async def get(self, key: str, limit: int) -> bytes:
        if key not in self.objects:
            raise ObjectMissing(f"{key} not found", 404)
        data = self.objects[key]
        if len(data) > limit:
            raise ObjectStoreError(f"{key} is larger than {limit} bytes")
        return data

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    async def close(self) -> None:
        pass

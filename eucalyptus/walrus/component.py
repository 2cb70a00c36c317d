"""Walrus: object storage, the S3 API. One worker process's component.

Blobs live under ``DIR/walrus`` (the blob-store driver, ``fs``), metadata in the cloud
database (same DATABASE_URL as the CLC; credentials are read on every request with the
prepared statements of ``services/s3/records.py``, principals built by
``services/iam/identity.py``). Several worker processes serve one port (see ``workers``); each
runs one ``Walrus`` with its own database engine. ``/internal/health`` reports the master's
PID, so the supervisor sees one component.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

from aiohttp import web
from sqlalchemy.orm import sessionmaker

from eucalyptus.config import Settings
from eucalyptus.db.engine import Database
from eucalyptus.drivers import objects as blob_drivers
from eucalyptus.rpc.messages import Health
from eucalyptus.rpc.service import Component

READ_BUFSIZE = 1 << 20


def s3_domains(settings: Settings) -> tuple[str, ...]:
    """Host suffixes under which ``bucket.<suffix>`` names a bucket (virtual-hosted style)."""
    domains = [d.strip().lower() for d in settings.values.get("S3_DOMAIN", "s3.localhost")
               .replace(",", " ").split() if d.strip()]
    for host in (settings.host("walrus"), "localhost"):
        if host.lower() not in domains:
            domains.append(host.lower())
    return tuple(domains)


class Walrus(Component):
    name = "walrus"

    def __init__(self, settings: Settings, db: Database | None = None,
                 master_pid: int | None = None):
        super().__init__(settings)
        self.objects_path = settings.path("walrus")
        self.objects_path.mkdir(parents=True, exist_ok=True)
        self.blobs = blob_drivers.load("fs", self.objects_path)
        self.blobs.segments.grace = settings.walrus_delete_grace
        self.master_pid = master_pid or os.getpid()
        self._db = db

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings.database_url, migrate=False)
        return self._db

    @property
    def sessions(self) -> sessionmaker:
        return self.db._sessions

    @property
    def identity(self):
        from eucalyptus.services.iam import identity
        return identity

    def health_details(self) -> dict[str, Any]:
        usage = shutil.disk_usage(self.objects_path)
        return {"objects_path": str(self.objects_path), "free_gib": usage.free // 2 ** 30,
                "worker_pid": os.getpid(),
                "workers": self.settings.values.get("WALRUS_WORKERS") or os.cpu_count()}

    async def _health(self, _msg: None, _caller: str) -> Health:
        health = await super()._health(_msg, _caller)
        health.pid = self.master_pid
        return health

    def make_app(self) -> web.Application:
        app = super().make_app()
        app._handler_args = {**(app._handler_args or {}), "read_bufsize": READ_BUFSIZE}
        return app

    def add_public_routes(self, app: web.Application) -> None:
        from eucalyptus.rpc.service import add_gateway
        from eucalyptus.services import s3
        from eucalyptus.walrus.frontdoor import S3FrontDoor
        add_gateway(app, S3FrontDoor(self, s3.HANDLER_MODULES, s3_domains(self.settings)))

    async def start(self) -> None:
        from eucalyptus.walrus.sweeper import LifecycleSweeper
        self.sweeper = LifecycleSweeper(self)     # runs in one worker only (a file lock)
        self.sweeper.start()

    async def stop(self) -> None:
        sweeper = getattr(self, "sweeper", None)
        if sweeper is not None:
            await sweeper.stop()
        self.blobs.close()
        if self._db is not None:
            self._db.dispose()

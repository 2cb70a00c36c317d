"""The frame every component runs in: an aiohttp application with signed internal routes.

A component subclasses ``Component``, sets ``name``, registers its internal routes in
``__init__`` (``self.routes.add(...)``), may add public routes in ``add_public_routes`` and
start/stop background work in ``start``/``stop``. ``serve(component)`` runs it on
``BIND_ADDRESS:<its port>`` until SIGINT/SIGTERM, then stops it cleanly.

Every component answers ``GET /internal/health`` with a ``messages.Health``.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from aiohttp import web

from eucalyptus.config import Settings
from eucalyptus.rpc import PREFIX
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.keys import load_private
from eucalyptus.rpc.messages import Health
from eucalyptus.rpc.server import RpcRoutes

LOG_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}


class Component:
    """One runnable component (clc, walrus, sc, cc or nc)."""
    name = "component"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.region = settings.region
        self.zone = settings.zone
        self.log = logging.getLogger(f"eucalyptus.{self.name}")
        self.started_at = time.monotonic()
        self.routes = RpcRoutes(settings.data_dir)
        self.routes.add("GET", "health", self._health)
        self._key = None
        self._clients: dict[str, RpcClient] = {}

    # -- hooks ------------------------------------------------------------------------------
    def health_details(self) -> dict[str, Any]:
        """Component-specific facts shown by ``eucalyptus status``."""
        return {}

    def add_public_routes(self, app: web.Application) -> None:
        """Routes outside ``/internal/`` (the user APIs); none by default."""

    async def start(self) -> None:
        """Background work to begin once the application runs."""

    async def stop(self) -> None:
        """Undo ``start`` and release resources; called once on shutdown."""

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.settings.url(self.name)

    def client(self, base_url: str, timeout: float = 10.0) -> RpcClient:
        """A signed client from this component to ``base_url``, reused per URL."""
        if base_url not in self._clients:
            if self._key is None:
                self._key = load_private(self.settings.data_dir, self.name)
            self._clients[base_url] = RpcClient(self.name, self._key, base_url, timeout)
        return self._clients[base_url]

    async def _health(self, _msg: None, _caller: str) -> Health:
        return Health(component=self.name, status="ok", pid=os.getpid(),
                      uptime_s=round(time.monotonic() - self.started_at, 3), url=self.url,
                      details=self.health_details())

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 ** 3)
        self.routes.install(app)
        self.add_public_routes(app)

        async def on_startup(_app: web.Application) -> None:
            await self.start()

        async def on_cleanup(_app: web.Application) -> None:
            await self.stop()
            for client in self._clients.values():
                await client.close()

        app.on_startup.append(on_startup)
        app.on_cleanup.append(on_cleanup)
        return app


def add_gateway(app: web.Application, gateway: Any) -> None:
    """Route every path outside ``/internal/`` to ``gateway.handle`` (the AWS front door)."""

    async def user_api(request: web.Request) -> web.StreamResponse:
        if request.path.startswith(PREFIX):
            return web.json_response({"error": {"code": "NotFound", "message":
                                                 f"no internal route {request.path}"}},
                                     status=404)
        return await gateway.handle(request)

    app.router.add_route("*", "/{tail:.*}", user_api)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=LOG_LEVELS[settings.loglevel], stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(component: Component) -> None:
    """Run ``component`` in the foreground until SIGINT or SIGTERM."""
    settings = component.settings
    access_log = logging.getLogger("aiohttp.access") if settings.loglevel == "DEBUG" else None
    component.log.info("%s listening on %s:%d", component.name, settings.bind_address,
                       settings.port(component.name))
    web.run_app(component.make_app(), host=settings.bind_address,
                port=settings.port(component.name), print=None, access_log=access_log,
                handle_signals=True, shutdown_timeout=5)
    component.log.info("%s stopped", component.name)

"""Server side of the internal API: routes under ``/internal/`` that only signed callers reach.

    routes = RpcRoutes(data_dir)
    routes.add("POST", "properties", handler, PropertyQuery, callers={"admin"})
    routes.install(app)

A handler is ``async def handler(msg, caller) -> dataclass | dict | None`` where ``msg`` is the
request body built as the declared message type (None when no type is declared) and ``caller``
the verified component name. ``eucalyptus.errors`` exceptions become ``{"error": {"code",
"message"}}`` with their status; anything else is logged and answered 500 InternalError.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from eucalyptus.errors import (AccessDenied, InternalError, ServiceError, ValidationError)
from eucalyptus.rpc import PREFIX
from eucalyptus.rpc.keys import load_public_keys
from eucalyptus.rpc.messages import from_wire, to_wire
from eucalyptus.rpc.signing import verify

log = logging.getLogger("eucalyptus.rpc")
Handler = Callable[[Any, str], Awaitable[Any]]


@dataclass
class Route:
    handler: Handler
    message: type | None
    callers: frozenset[str] | None


def error_response(error: ServiceError) -> web.Response:
    return web.json_response({"error": {"code": error.code, "message": error.message}},
                             status=error.status)


class RpcRoutes:
    """The internal routes of one component and the key ring that authenticates callers."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.trusted = load_public_keys(self.data_dir)
        self.routes: dict[tuple[str, str], Route] = {}

    def add(self, method: str, name: str, handler: Handler, message: type | None = None,
            callers: set[str] | None = None) -> None:
        """Serve ``METHOD /internal/<name>``; ``callers`` limits who may call it."""
        self.routes[(method.upper(), PREFIX + name)] = Route(
            handler, message, frozenset(callers) if callers else None)

    def install(self, app: web.Application) -> None:
        for method, path in self.routes:
            app.router.add_route(method, path, self._serve)

    def _caller(self, request: web.Request, body: bytes) -> str:
        try:
            return verify(self.trusted, request.headers, request.method, request.path_qs, body)
        except ServiceError as exc:
            if request.headers.get("X-Euca-Component") not in self.trusted:
                # a key added after start-up (e.g. a new node): read the key ring once more
                self.trusted = load_public_keys(self.data_dir)
                return verify(self.trusted, request.headers, request.method,
                              request.path_qs, body)
            raise exc

    async def _serve(self, request: web.Request) -> web.Response:
        route = self.routes[(request.method, request.path)]
        try:
            body = await request.read()
            caller = self._caller(request, body)
            if route.callers is not None and caller not in route.callers:
                raise AccessDenied(f"{caller} may not call {request.method} {request.path}")
            msg = None
            if route.message is not None:
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    raise ValidationError("request body is not JSON") from None
                msg = from_wire(route.message, data)
            result = await route.handler(msg, caller)
            return web.json_response(to_wire(result) if result is not None else {})
        except ServiceError as exc:
            return error_response(exc)
        except Exception:
            log.exception("internal request %s %s failed", request.method, request.path)
            return error_response(InternalError("the component failed to handle the request"))

"""Client side of the internal API.

    client = RpcClient.for_caller(data_dir, "cc", settings.url("nc"))
    resources = await client.call("POST", "resources", reply=NodeResources)
    await client.close()

Each request is signed with the caller's key (``rpc.signing``). An error answer is raised as
the ``eucalyptus.errors`` class carrying the same code; an unreachable component raises
``ServiceUnavailable``.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eucalyptus import errors
from eucalyptus.rpc import PREFIX
from eucalyptus.rpc.keys import load_private
from eucalyptus.rpc.messages import from_wire, to_wire
from eucalyptus.rpc.signing import sign

T = TypeVar("T")


def _error_classes() -> dict[str, type[errors.ServiceError]]:
    """Error code -> the most derived ``eucalyptus.errors`` class carrying it."""
    out: dict[str, type[errors.ServiceError]] = {}
    level = [errors.ServiceError]
    while level:                      # breadth first: deeper classes overwrite their bases
        for cls in level:
            out[cls.code] = cls
        level = [sub for cls in level for sub in cls.__subclasses__()]
    return out


def raise_error(status: int, code: str, message: str) -> None:
    cls = _error_classes().get(code, errors.ServiceError)
    raise cls(code, message, status=status)


class RpcClient:
    """Signed calls from ``caller`` to the component at ``base_url``."""

    def __init__(self, caller: str, key: Ed25519PrivateKey, base_url: str,
                 timeout: float = 10.0):
        self.caller = caller
        self.key = key
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def for_caller(cls, data_dir: Path, caller: str, base_url: str,
                   timeout: float = 10.0) -> "RpcClient":
        return cls(caller, load_private(data_dir, caller), base_url, timeout)

    async def call(self, method: str, name: str, message: Any = None,
                   reply: type[T] | None = None) -> T | dict:
        """``METHOD /internal/<name>`` with ``message`` as the JSON body; the reply decoded."""
        body = json.dumps(to_wire(message)).encode() if message is not None else b""
        path = PREFIX + name
        headers = sign(self.key, self.caller, method, path, body)
        headers["Content-Type"] = "application/json"
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.request(method, self.base_url + path, data=body,
                                             headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise errors.ServiceUnavailable(
                f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from None
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise errors.InternalError(
                f"{self.base_url}{path} answered {status} with a body that is not JSON") from None
        if status >= 400:
            err = data.get("error", {}) if isinstance(data, dict) else {}
            raise_error(status, err.get("code", "InternalError"), err.get("message", str(data)))
        return from_wire(reply, data) if reply is not None else data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "RpcClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

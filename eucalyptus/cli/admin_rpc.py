"""The admin command's side of the internal API: one signed call, run to completion.

The admin key (DIR/keys/admin.pem) signs every call, so the command works on the host that
holds the data directory's keys.
"""
from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from eucalyptus.config import Settings
from eucalyptus.rpc.client import RpcClient

T = TypeVar("T")


async def call_async(settings: Settings, base_url: str, method: str, name: str,
                     message: Any = None, reply: type[T] | None = None,
                     timeout: float = 10.0) -> T | dict:
    async with RpcClient.for_caller(settings.data_dir, "admin", base_url, timeout) as client:
        return await client.call(method, name, message, reply)


def call(settings: Settings, component: str, method: str, name: str, message: Any = None,
         reply: type[T] | None = None, timeout: float = 10.0) -> T | dict:
    """``METHOD /internal/<name>`` on ``component`` as the admin; raises ServiceError."""
    return asyncio.run(call_async(settings, settings.url(component), method, name, message,
                                  reply, timeout))

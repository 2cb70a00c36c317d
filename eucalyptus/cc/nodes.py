"""The cluster controller's soft state of its nodes, rebuilt from polling them.

Nothing here is persisted: the registered addresses come from NODES (and register-nodes
calls), and each node's state and resources from its latest answer. A node that fails to
answer is "down" (with the error) until a poll succeeds again.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from eucalyptus.errors import InvalidParameterValue, ServiceError
from eucalyptus.rpc.messages import NodeResources, NodeStatus

Poller = Callable[[str], Awaitable[NodeResources]]


def normalise_address(address: str, default_port: int) -> str:
    """``host[:port]`` with the port filled in; InvalidParameterValue when malformed."""
    host, _, port = address.strip().partition(":")
    if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        raise InvalidParameterValue(f"bad node address {address!r}: expected host[:port]")
    return f"{host}:{port or default_port}"


class NodeTable:
    """Registered nodes and what each last reported; ``poll`` asks them all concurrently."""

    def __init__(self, poller: Poller, default_port: int):
        self.poller = poller
        self.default_port = default_port
        self.nodes: dict[str, NodeStatus] = {}

    def register(self, addresses: list[str]) -> list[str]:
        added = []
        for raw in addresses:
            address = normalise_address(raw, self.default_port)
            if address not in self.nodes:
                self.nodes[address] = NodeStatus(address=address, state="unknown")
                added.append(address)
        return added

    def deregister(self, addresses: list[str]) -> list[str]:
        removed = []
        for raw in addresses:
            address = normalise_address(raw, self.default_port)
            if self.nodes.pop(address, None) is not None:
                removed.append(address)
        return removed

    async def poll_one(self, address: str) -> None:
        try:
            resources = await self.poller(address)
        except ServiceError as exc:
            status = self.nodes.get(address)
            if status is not None:
                status.state, status.error, status.resources = "down", exc.message, None
            return
        status = self.nodes.get(address)
        if status is not None:   # it may have been deregistered meanwhile
            status.state, status.error = "up", ""
            status.last_seen, status.resources = time.time(), resources

    async def poll(self, addresses: list[str] | None = None) -> None:
        targets = list(self.nodes) if addresses is None else addresses
        await asyncio.gather(*(self.poll_one(a) for a in targets))

    def snapshot(self) -> list[NodeStatus]:
        return [self.nodes[a] for a in sorted(self.nodes)]

"""The cluster controller's view of its nodes: registered addresses, admin state, and soft
state rebuilt from polling them.

What the admin decided is kept in ``state_file`` (JSON, written atomically): the nodes
registered through the API and which of them are disabled, so a restarted cluster controller
keeps both. Everything else is soft: each node's "up"/"down" state and resources come from its
latest answer; a node that fails to answer is "down" (with the error) until a poll succeeds
again. A disabled node is still polled and its instances still reported, but the scheduler's
``node_enabled`` filter places nothing on it and the zone's capacity leaves it out.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Awaitable, Callable

from eucalyptus.errors import InvalidParameterValue, NotFound, ServiceError
from eucalyptus.rpc.messages import ClusterResources, NodeAddresses, NodeResources, NodeStatus

Poller = Callable[[str], Awaitable[NodeResources]]
log = logging.getLogger("eucalyptus.cc.nodes")


def normalise_address(address: str, default_port: int) -> str:
    """``host[:port]`` with the port filled in; InvalidParameterValue when malformed."""
    host, _, port = address.strip().partition(":")
    if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        raise InvalidParameterValue(f"bad node address {address!r}: expected host[:port]")
    return f"{host}:{port or default_port}"


class NodeTable:
    """Registered nodes and what each last reported; ``poll`` asks them all concurrently."""

    def __init__(self, poller: Poller, default_port: int, state_file: Path | None = None):
        self.poller = poller
        self.default_port = default_port
        self.state_file = Path(state_file) if state_file else None
        self.nodes: dict[str, NodeStatus] = {}
        self._load()

    # -- persistence --------------------------------------------------------------------------
    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        try:
            saved = json.loads(self.state_file.read_text())
            entries = {str(a): bool(v.get("enabled", True)) for a, v in saved["nodes"].items()}
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            log.warning("ignoring unreadable node state %s", self.state_file)
            return
        for address, enabled in entries.items():
            self.nodes[address] = NodeStatus(address=address, state="unknown", enabled=enabled)

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps({"nodes": {a: {"enabled": n.enabled}
                                             for a, n in sorted(self.nodes.items())}}))
        os.replace(tmp, self.state_file)

    # -- admin operations ---------------------------------------------------------------------
    def register(self, addresses: list[str]) -> list[str]:
        added = []
        for raw in addresses:
            address = normalise_address(raw, self.default_port)
            if address not in self.nodes:
                self.nodes[address] = NodeStatus(address=address, state="unknown")
                added.append(address)
        if added:
            self._save()
        return added

    def deregister(self, addresses: list[str]) -> list[str]:
        removed = []
        for raw in addresses:
            address = normalise_address(raw, self.default_port)
            if self.nodes.pop(address, None) is not None:
                removed.append(address)
        if removed:
            self._save()
        return removed

    def set_enabled(self, addresses: list[str], enabled: bool) -> list[str]:
        """Enable or disable registered nodes; NotFound naming any that is not registered."""
        wanted = [normalise_address(a, self.default_port) for a in addresses]
        unknown = [a for a in wanted if a not in self.nodes]
        if unknown:
            raise NotFound("InvalidNode.NotFound",
                           f"node(s) not registered: {', '.join(unknown)}")
        for address in wanted:
            self.nodes[address].enabled = enabled
        self._save()
        return wanted

    # -- polling ------------------------------------------------------------------------------
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

    def add_state_routes(self, routes, zone: str, callers: set[str]) -> None:
        """``cluster/nodes/enable`` and ``cluster/nodes/disable``: NodeAddresses ->
        ClusterResources."""
        def handler(enabled: bool):
            async def change(msg: NodeAddresses, _caller: str) -> ClusterResources:
                self.set_enabled(msg.nodes, enabled)
                return ClusterResources(zone=zone, nodes=self.snapshot())
            return change
        routes.add("POST", "cluster/nodes/enable", handler(True), NodeAddresses,
                   callers=callers)
        routes.add("POST", "cluster/nodes/disable", handler(False), NodeAddresses,
                   callers=callers)

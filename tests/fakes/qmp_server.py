"""A fake QMP server on a unix socket, for testing the QMP client and the QEMU driver's
messages without QEMU.

    server = FakeQmpServer(path, replies={"query-status": {"running": True}})
    await server.start(); ...; server.received  # [(command, arguments), ...]

``replies`` maps a command to its ``return`` value, or to ``QmpFailure(class, desc)`` for an
error answer; unknown commands answer ``CommandNotFound``. ``events`` maps a command to events
sent (after the reply) when it runs, e.g. ``{"device_del": [backend_event, device_event]}``.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class QmpFailure:
    error_class: str
    desc: str


class FakeQmpServer:
    def __init__(self, path: Path, replies: dict | None = None, events: dict | None = None,
                 greet: bool = True):
        self.path = Path(path)
        self.replies = {"qmp_capabilities": {}, **(replies or {})}
        self.events = events or {}
        self.greet = greet
        self.received: list[tuple[str, dict | None]] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> "FakeQmpServer":
        self.server = await asyncio.start_unix_server(self._client, str(self.path))
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def send(obj: dict) -> None:
            writer.write(json.dumps(obj).encode() + b"\n")

        if self.greet:
            send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}},
                          "capabilities": []}})
        try:
            while line := await reader.readline():
                msg = json.loads(line)
                command, args = msg["execute"], msg.get("arguments")
                self.received.append((command, args))
                reply = self.replies.get(command, QmpFailure("CommandNotFound",
                                                             f"The command {command} has not "
                                                             "been found"))
                ident = {"id": msg["id"]} if "id" in msg else {}
                if isinstance(reply, QmpFailure):
                    send({"error": {"class": reply.error_class, "desc": reply.desc}, **ident})
                else:
                    send({"return": reply, **ident})
                for event in self.events.get(command, []):
                    send({"event": event[0], "data": event[1],
                          "timestamp": {"seconds": 0, "microseconds": 0}})
                await writer.drain()
                if command == "quit":
                    break
        finally:
            writer.close()

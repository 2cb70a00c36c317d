"""A small asyncio client of the QEMU Machine Protocol (QMP) over a unix socket.

    async with await QmpClient.connect(path) as qmp:
        await qmp.execute("system_powerdown")
        await qmp.wait_event("SHUTDOWN", timeout=30)

Contract:
- ``connect`` reads the greeting and negotiates capabilities; it raises ``QmpError`` when
  nothing answers within ``timeout`` or the peer does not speak QMP. Socket paths longer than
  a sockaddr allows are reached through ``/proc/self/fd`` of their directory.
- ``execute(cmd, args)`` returns the command's ``return`` value; an ``error`` answer raises
  ``QmpCommandError`` carrying QMP's error class and description. Events that arrive while a
  command waits are kept, in order, for ``wait_event``.
- ``wait_event(name, match=...)`` returns the first kept or new event called ``name`` whose
  ``data`` contains every item of ``match``; ``asyncio.TimeoutError`` after ``timeout``.
- When QEMU closes the socket (e.g. after ``quit``), pending calls raise ``QmpClosed``.
QEMU serves one QMP client per socket at a time, so callers connect, act and close.
"""
from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from pathlib import Path
from typing import Any

SUN_PATH_MAX = 107


class QmpError(Exception):
    """QMP could not be reached or spoke something else."""


class QmpClosed(QmpError):
    """The QMP peer closed the connection."""


class QmpCommandError(QmpError):
    """A command answered with an error."""

    def __init__(self, command: str, error_class: str, desc: str):
        super().__init__(f"{command}: {error_class}: {desc}")
        self.command = command
        self.error_class = error_class
        self.desc = desc


async def _open(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        return await asyncio.open_unix_connection(str(path))
    dir_fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        return await asyncio.open_unix_connection(f"/proc/self/fd/{dir_fd}/{path.name}")
    finally:
        os.close(dir_fd)


class QmpClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.events: deque[dict[str, Any]] = deque()
        self.greeting: dict[str, Any] = {}
        self._next_id = 0

    @classmethod
    async def connect(cls, path: str | os.PathLike, timeout: float = 5.0) -> "QmpClient":
        try:
            reader, writer = await asyncio.wait_for(_open(Path(path)), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise QmpError(f"cannot connect to QMP socket {path}: {exc or 'timeout'}") from None
        client = cls(reader, writer)
        try:
            greeting = await asyncio.wait_for(client._read(), timeout)
            if "QMP" not in greeting:
                raise QmpError(f"{path} does not speak QMP (greeting {greeting!r})")
            client.greeting = greeting["QMP"]
            await asyncio.wait_for(client.execute("qmp_capabilities"), timeout)
        except (asyncio.TimeoutError, QmpClosed) as exc:
            await client.close()
            raise QmpError(f"no QMP greeting on {path}: {exc or 'timeout'}") from None
        except BaseException:
            await client.close()
            raise
        return client

    async def _read(self) -> dict[str, Any]:
        line = await self.reader.readline()
        if not line:
            raise QmpClosed("QMP connection closed")
        try:
            msg = json.loads(line)
        except ValueError:
            raise QmpError(f"QMP sent something that is not JSON: {line[:200]!r}") from None
        if not isinstance(msg, dict):
            raise QmpError(f"QMP sent a non-object: {line[:200]!r}")
        return msg

    async def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run ``command`` with ``arguments`` (QMP's own names) and return its ``return``."""
        self._next_id += 1
        ident = f"euca-{self._next_id}"
        msg: dict[str, Any] = {"execute": command, "id": ident}
        if arguments:
            msg["arguments"] = arguments
        self.writer.write(json.dumps(msg).encode() + b"\n")
        await self.writer.drain()
        while True:
            reply = await self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id") != ident:
                continue
            if "error" in reply:
                err = reply["error"]
                raise QmpCommandError(command, err.get("class", "GenericError"),
                                      err.get("desc", ""))
            return reply.get("return")

    def _take(self, name: str, match: dict[str, Any]) -> dict[str, Any] | None:
        for event in list(self.events):
            data = event.get("data") or {}
            if event.get("event") == name and all(data.get(k) == v for k, v in match.items()):
                self.events.remove(event)
                return event
        return None

    async def wait_event(self, name: str, timeout: float = 30.0,
                         match: dict[str, Any] | None = None) -> dict[str, Any]:
        match = match or {}

        async def wait() -> dict[str, Any]:
            while True:
                found = self._take(name, match)
                if found is not None:
                    return found
                msg = await self._read()
                if "event" in msg:
                    self.events.append(msg)

        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (OSError, ConnectionError):
            pass

    async def __aenter__(self) -> "QmpClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

"""Running whole S3 requests on worker threads, each with its own event loop.

A request's handler does blocking work between its awaits: database transactions (SQLite
waits on locks, PostgreSQL on the network), fsync, file creation. Run on the worker's main
loop, that work would serialise every request of the process. ``ThreadLoops.run(factory)``
instead runs the coroutine ``factory()`` to completion on one of ``size`` threads, each owning
a private event loop created once, and resolves with its result (or raises its exception) on
the caller's loop. The coroutine must not touch objects bound to the caller's loop (the
aiohttp request's body stream, its transport); reading headers, host and query is fine.
sqlite3, hashlib, os.write and fsync release the GIL, so many such requests overlap their
waits while the main loop goes on accepting and sending.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

DEFAULT_THREADS = 12


class ThreadLoops:
    def __init__(self, size: int = DEFAULT_THREADS, name: str = "walrus-req"):
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._guard = threading.Lock()

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = asyncio.new_event_loop()
            self._local.loop = loop
            with self._guard:
                self._loops.append(loop)
        return loop

    def _complete(self, factory: Callable[[], Awaitable[Any]]) -> Any:
        loop = self._loop()
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(factory())

    async def run(self, factory: Callable[[], Awaitable[Any]]) -> Any:
        """The result of ``factory()``'s coroutine, run on a pool thread's own loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._complete,
                                                                factory)

    def close(self) -> None:
        """Stop the threads (after their current request) and close their loops."""
        self._pool.shutdown(wait=True)
        with self._guard:
            loops, self._loops = self._loops, []
        for loop in loops:
            try:
                loop.run_until_complete(loop.shutdown_default_executor())
            except RuntimeError:
                pass
            loop.close()

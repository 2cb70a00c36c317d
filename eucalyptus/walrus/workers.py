"""Walrus' processes: one master, ``WALRUS_WORKERS`` workers sharing one port.

``serve_walrus(settings)`` is ``eucalyptus serve walrus``. The master prepares the storage
(database migrated, half-written blobs of a crash removed, blobs no row names swept), then
forks the workers. Each worker binds the port itself with ``SO_REUSEPORT`` (the kernel spreads
connections over them) and runs a ``Walrus`` application. The master owns its workers: it
restarts one that dies, and on SIGTERM/SIGINT stops each by PID (SIGTERM, then SIGKILL after a
grace period). Workers die with the master (PR_SET_PDEATHSIG), so a killed master leaves no
worker behind; their PIDs are in ``DIR/run/walrus-workers.pid`` while they run.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from eucalyptus.config import Settings

log = logging.getLogger("eucalyptus.walrus")

STOP_GRACE_S = 10.0
RESTART_PAUSE_S = 0.5


def worker_count(settings: Settings) -> int:
    return settings.values.get("WALRUS_WORKERS") or os.cpu_count() or 1


def _die_with_parent(sig: int) -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)   # PR_SET_PDEATHSIG
    except OSError:
        pass


def reuseport_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def prepare_storage(settings: Settings) -> None:
    """Migrate the database, then clean what a crash may have left in the blob store."""
    from eucalyptus.db.engine import Database
    from eucalyptus.walrus.recovery import recover

    if not settings.values["DATABASE_URL"]:
        settings.path("db").mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    try:
        recover(settings, db)
    finally:
        db.dispose()


def run_worker(settings: Settings, master_pid: int) -> None:
    """The body of one worker process: serve until SIGTERM, then exit."""
    from aiohttp import web

    from eucalyptus.walrus.component import Walrus

    _die_with_parent(signal.SIGKILL)
    if os.getppid() != master_pid:
        os._exit(1)
    sock = reuseport_socket(settings.bind_address, settings.port("walrus"))
    component = Walrus(settings, master_pid=master_pid)
    access_log = logging.getLogger("aiohttp.access") if settings.loglevel == "DEBUG" else None
    web.run_app(component.make_app(), sock=sock, print=None, access_log=access_log,
                handle_signals=True, shutdown_timeout=5)


class Master:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.workers: dict[int, int] = {}          # pid -> slot
        self.stopping = False
        self.pid_file = settings.path("run", "walrus-workers.pid")

    def spawn(self, slot: int) -> int:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                run_worker(self.settings, self.master_pid)
            except BaseException:
                log.exception("walrus worker %d failed", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        self.workers[pid] = slot
        self._write_pids()
        return pid

    def _write_pids(self) -> None:
        try:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text("".join(f"{pid}\n" for pid in sorted(self.workers)))
        except OSError:
            pass

    def _stop(self, _sig, _frame) -> None:
        self.stopping = True

    def run(self) -> int:
        self.master_pid = os.getpid()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        count = worker_count(self.settings)
        for slot in range(count):
            self.spawn(slot)
        log.info("walrus listening on %s:%d with %d workers (%s)", self.settings.bind_address,
                 self.settings.port("walrus"), count, " ".join(map(str, sorted(self.workers))))
        while not self.stopping:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid and pid in self.workers:
                slot = self.workers.pop(pid)
                if not self.stopping:
                    log.warning("walrus worker %d exited (status %d); starting another", pid,
                                status)
                    time.sleep(RESTART_PAUSE_S)
                    self.spawn(slot)
                continue
            time.sleep(0.2)
        self.stop_workers()
        return 0

    def stop_workers(self) -> None:
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        while self.workers and time.monotonic() < deadline:
            for pid in list(self.workers):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    self.workers.pop(pid, None)
            time.sleep(0.05)
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.workers.pop(pid, None)
        try:
            Path(self.pid_file).unlink()
        except FileNotFoundError:
            pass


def serve_walrus(settings: Settings) -> int:
    """``eucalyptus serve walrus``: prepare storage, run the workers until told to stop."""
    prepare_storage(settings)
    sys.stdout.flush()
    sys.stderr.flush()
    status = Master(settings).run()
    log.info("walrus stopped")
    return status

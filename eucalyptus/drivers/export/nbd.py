"""NBD exports with ``qemu-storage-daemon``: one daemon per exported volume.

Why one daemon per volume: each export is then a process of its own, started and stopped by
its PID, whose failure touches one volume only; the image lock QEMU takes keeps any other
process from opening the volume while it is served; and a daemon outlives a restart of the
storage controller, which finds it again by its pidfile (guests keep their disks).

Each daemon serves one NBD export named after the volume, on a unix socket
(``transport="unix"``: for nodes on the storage controller's machine) or on TCP
``bind_address``:port with the port taken from ``ports`` (``transport="tcp"``: for other
hosts). It also has a QMP control socket, used for point-in-time copies: ``backup`` adds the
destination file as a block node and runs ``blockdev-backup`` (sync=full) from the served
node, whose copy-before-write filter keeps the copy at the moment the job started while
clients go on writing. The destination is a sparse raw file; zero ranges of the source end up
as unwritten extents (no data written).

Files per export under ``run_dir``: ``<vol>.nbd`` (socket), ``<vol>.qmp``, ``<vol>.pid``,
``<vol>.log`` (the daemon's messages, removed with the export when empty).
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

from eucalyptus.drivers.export.base import Endpoint, ExportDriver, ExportError
from eucalyptus.drivers.hypervisor.qmp import QmpClient, QmpError

DAEMON = "qemu-storage-daemon"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
BACKUP_TIMEOUT_S = 6 * 3600.0
NODE = "vol"


def daemon_argv(image: Path, fmt: str, export_name: str, nbd_addr: dict, control: Path,
                pidfile: Path) -> list[str]:
    """The daemon's command line, as data (JSON options: any path is safe)."""
    return [
        DAEMON,
        "--blockdev", json.dumps({"driver": "file", "node-name": "file0",
                                  "filename": str(image), "aio": "threads"}),
        "--blockdev", json.dumps({"driver": fmt, "node-name": NODE, "file": "file0"}),
        "--nbd-server", json.dumps({"addr": nbd_addr, "max-connections": 4}),
        "--export", json.dumps({"type": "nbd", "id": "export0", "node-name": NODE,
                                "name": export_name, "writable": True}),
        "--chardev", f"socket,id=qmp0,path={control},server=on,wait=off",
        "--monitor", "chardev=qmp0",
        "--pidfile", str(pidfile),
        "--daemonize",
    ]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class NbdExportDriver(ExportDriver):
    name = "nbd"

    def __init__(self, run_dir: str | Path, transport: str = "unix",
                 bind_address: str = "127.0.0.1", ports: range = range(10809, 10909)):
        if transport not in ("unix", "tcp"):
            raise ValueError(f"unknown NBD transport {transport!r}")
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.transport = transport
        self.bind_address = bind_address
        self.ports = ports
        self._jobs = 0

    def _files(self, volume_id: str) -> tuple[Path, Path, Path, Path]:
        base = self.run_dir / volume_id
        return (base.with_suffix(".nbd"), base.with_suffix(".qmp"), base.with_suffix(".pid"),
                base.with_suffix(".log"))

    def _ours(self, endpoint: Endpoint) -> bool:
        """Whether ``endpoint.pid`` is still the daemon this driver started for it."""
        argv = _cmdline(endpoint.pid)
        return bool(argv) and Path(argv[0]).name == DAEMON and endpoint.control in " ".join(argv)

    def running(self, endpoint: Endpoint) -> bool:
        return endpoint.pid > 0 and _alive(endpoint.pid) and self._ours(endpoint)

    def _ports_in_use(self) -> set[int]:
        used = set()
        for pidfile in self.run_dir.glob("*.pid"):
            port_file = pidfile.with_suffix(".port")
            if port_file.exists():
                try:
                    used.add(int(port_file.read_text()))
                except ValueError:
                    pass
        return used

    async def open(self, volume_id: str, image: Path, fmt: str) -> Endpoint:
        sock, control, pidfile, log = self._files(volume_id)
        if self.transport == "unix":
            candidates: list[int | None] = [None]
        else:
            used = self._ports_in_use()
            candidates = [p for p in self.ports if p not in used][:20]
            if not candidates:
                raise ExportError("no free NBD port left in the configured range")
        last = ""
        for port in candidates:
            for stale in (sock, control, pidfile, pidfile.with_suffix(".port")):
                stale.unlink(missing_ok=True)
            if port is None:
                addr = {"type": "unix", "path": str(sock)}
            else:
                addr = {"type": "inet", "host": self.bind_address, "port": str(port)}
            argv = daemon_argv(Path(image), fmt, volume_id, addr, control, pidfile)
            code, last = await self._spawn(argv, log)
            if code == 0:
                pid = int(pidfile.read_text().strip())
                if port is not None:
                    pidfile.with_suffix(".port").write_text(str(port))
                return Endpoint(volume_id=volume_id, export_name=volume_id, image=str(image),
                                format=fmt, pid=pid, socket=str(sock) if port is None else "",
                                host=self.bind_address if port is not None else "",
                                port=port or 0, control=str(control))
            if "in use" not in last.lower():
                break
        for stale in (sock, control, pidfile, pidfile.with_suffix(".port")):
            stale.unlink(missing_ok=True)
        raise ExportError(f"{DAEMON} did not start for {volume_id}: {last.strip()[-400:]}")

    async def _spawn(self, argv: list[str], log: Path) -> tuple[int, str]:
        with open(log, "ab") as out:
            start = out.tell()
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
                    start_new_session=True)
            except OSError as exc:
                return -1, str(exc)
        try:
            code = await asyncio.wait_for(proc.wait(), START_TIMEOUT_S)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            return -1, f"no answer within {START_TIMEOUT_S:.0f} s"
        with open(log, "rb") as f:
            f.seek(start)
            return code, f.read().decode(errors="replace")

    async def close(self, endpoint: Endpoint) -> None:
        if self.running(endpoint):
            os.kill(endpoint.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(endpoint.pid) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if _alive(endpoint.pid) and self._ours(endpoint):
                os.kill(endpoint.pid, signal.SIGKILL)
                while _alive(endpoint.pid):
                    await asyncio.sleep(0.02)
        sock, control, pidfile, log = self._files(endpoint.volume_id)
        for path in (sock, control, pidfile, pidfile.with_suffix(".port")):
            path.unlink(missing_ok=True)
        try:
            if log.stat().st_size == 0:       # a daemon that had nothing to say
                log.unlink()
        except FileNotFoundError:
            pass

    async def backup(self, endpoint: Endpoint, dest: Path) -> None:
        dest = Path(dest)
        self._jobs += 1
        job = f"backup{os.getpid()}x{self._jobs}"
        created = False
        try:
            async with await QmpClient.connect(endpoint.control, timeout=10) as qmp:
                nodes = await qmp.execute("query-named-block-nodes", {"flat": True})
                size = next(n["image"]["virtual-size"] for n in nodes
                            if n.get("node-name") == NODE)
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                created = True
                try:
                    os.ftruncate(fd, size)
                finally:
                    os.close(fd)
                await qmp.execute("blockdev-add", {
                    "driver": "raw", "node-name": job,
                    "file": {"driver": "file", "filename": str(dest)}})
                try:
                    await qmp.execute("blockdev-backup", {
                        "job-id": job, "device": NODE, "target": job, "sync": "full",
                        "auto-dismiss": True})
                    done = await qmp.wait_event("BLOCK_JOB_COMPLETED", BACKUP_TIMEOUT_S,
                                                match={"device": job})
                finally:
                    await qmp.execute("blockdev-del", {"node-name": job})
            if done["data"].get("error"):
                raise ExportError(f"backup of {endpoint.volume_id} failed: "
                                  f"{done['data']['error']}")
        except BaseException as exc:
            if created:
                dest.unlink(missing_ok=True)
            if isinstance(exc, (QmpError, OSError, StopIteration, asyncio.TimeoutError)):
                raise ExportError(f"backup of {endpoint.volume_id} failed: {exc!r}") from None
            raise

"""The servers a benchmark drives: our cloud-in-a-box and moto's server as the peer.

Each ``start_*`` function launches one server as a subprocess listening on 127.0.0.1 only, on
free ports, waits until it answers, and returns a ``Server`` naming its endpoints, signing
credentials and root PID (the PID whose process tree is charged for CPU). ``Server.stop()``
sends SIGTERM to that PID alone, waits, and SIGKILLs it after a grace period; it is idempotent.
"""
from __future__ import annotations

import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_MARKER = "eucalyptus up: ready"
STOP_GRACE_S = 15.0


class ServerFailed(Exception):
    """A server did not start; the message carries the end of its output."""


@dataclass
class Server:
    name: str
    urls: dict[str, str]          # signing name (ec2, iam, sts) -> endpoint URL
    region: str
    access_key: str
    secret_key: str
    proc: subprocess.Popen
    log: Path
    workdir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_run(count: int, low: int = 20000, high: int = 60000, tries: int = 200) -> int:
    """The first of ``count`` consecutive loopback ports that are all free now."""
    for _ in range(tries):
        base = random.randrange(low, high - count)
        if all(port_is_free(base + i) for i in range(count)):
            return base
    raise ServerFailed(f"found no {count} consecutive free ports")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def read_eucarc(path: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of an eucarc file as a dict (values unquoted)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export "):].partition("=")
            parts = shlex.split(value) if value else [""]
            values[name.strip()] = parts[0] if parts else ""
    return values


def _spawn(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd)


def start_ours(timeout: float = 120.0) -> Server:
    """``eucalyptus up`` on a temp data dir; ready once it prints its ready line."""
    workdir = tempfile.TemporaryDirectory(prefix="bench-euca-")
    root = Path(workdir.name)
    data, log = root / "data", root / "up.log"
    base = free_port_run(5)
    proc = _spawn([str(BIN / "eucalyptus"), "up", "--data-dir", str(data),
                   "--port-base", str(base)], log, root)
    server = Server("ours", {}, "", "", "", proc, log, workdir)
    deadline = time.monotonic() + timeout
    try:
        while READY_MARKER not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise ServerFailed(f"eucalyptus up exited with status {proc.returncode}:\n"
                                   f"{tail(log)}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"eucalyptus up not ready within {timeout:.0f} s:\n"
                                   f"{tail(log)}")
            time.sleep(0.2)
        rc = read_eucarc(data / "credentials" / "eucarc")
        server.urls = {"ec2": rc["EC2_URL"], "iam": rc["AWS_IAM_URL"], "sts": rc["TOKEN_URL"],
                       "s3": rc["S3_URL"]}
        server.region = rc["AWS_DEFAULT_REGION"]
        server.access_key = rc["AWS_ACCESS_KEY_ID"]
        server.secret_key = rc["AWS_SECRET_ACCESS_KEY"]
    except BaseException:
        server.stop()
        raise
    return server


def ensure_moto(say=print) -> Path:
    """Path of ``moto_server``; installs moto[server] into this venv first if it is missing.

    The install is held to the repository's constraints.txt so it cannot move the pins of
    packages the project shares with moto (botocore above all).
    """
    exe = BIN / "moto_server"
    if exe.exists():
        return exe
    say("installing moto[server] into this environment (a benchmark peer only) ...")
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "moto[server]"]
    constraints = REPO / "constraints.txt"
    if constraints.exists():
        argv += ["-c", str(constraints)]
    subprocess.run(argv, check=True)
    if not exe.exists():
        raise ServerFailed(f"pip installed moto but {exe} is missing")
    return exe


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True            # any HTTP answer means it is serving
    except (urllib.error.URLError, OSError):
        return False


def start_moto(timeout: float = 60.0, say=print) -> Server:
    """``moto_server -H 127.0.0.1 -p PORT``; ready once it answers HTTP."""
    exe = ensure_moto(say)
    workdir = tempfile.TemporaryDirectory(prefix="bench-moto-")
    root = Path(workdir.name)
    log = root / "moto.log"
    port = free_port_run(1)
    proc = _spawn([str(exe), "-H", "127.0.0.1", "-p", str(port)], log, root)
    url = f"http://127.0.0.1:{port}/"
    server = Server("moto", {"ec2": url, "iam": url, "sts": url, "s3": url}, "us-east-1",
                    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    proc, log, workdir)
    deadline = time.monotonic() + timeout
    try:
        while not _answers(url + "moto-api/"):
            if proc.poll() is not None:
                raise ServerFailed(f"moto_server exited with status {proc.returncode}:\n"
                                   f"{tail(log)}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"moto_server not answering within {timeout:.0f} s:\n"
                                   f"{tail(log)}")
            time.sleep(0.2)
    except BaseException:
        server.stop()
        raise
    return server


def machine_facts() -> dict:
    """What the figures depend on: cores, load average, Python, platform."""
    load = os.getloadavg()
    return {"cpu_count": os.cpu_count(), "loadavg": [round(x, 2) for x in load],
            "python": sys.version.split()[0], "platform": sys.platform}

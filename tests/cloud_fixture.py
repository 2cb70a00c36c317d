"""Start a real cloud (``eucalyptus up``) or a private PostgreSQL cluster for tests.

``Cloud.start(data_dir)`` runs ``eucalyptus up`` as a subprocess on five free loopback ports,
waits (bounded) for its ready line and gives the eucarc variables (``.env``), endpoints
(``.urls``, ``.endpoint(service)``), ``.database_url``, a boto3 client factory (``.client``), an AWS CLI runner
(``.aws``) and an admin-command runner (``.admin``). ``stop()`` ends it by PID.

``PostgresCluster`` makes a throw-away cluster in a temporary directory owned by the postgres
user (root cannot run postgres), listening on 127.0.0.1:<free port> with its sockets in that
directory, and stops it by the postmaster's PID.
"""
from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eucalyptus.cli.admin_up import READY_MARKER
from eucalyptus.config import COMPONENTS
from eucalyptus.credentials import parse_eucarc

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICE_VARIABLES = {"ec2": "EC2_URL", "iam": "EUARE_URL", "sts": "TOKEN_URL", "s3": "S3_URL"}
START_ATTEMPTS = 3            # starts tried when a chosen port turns out taken


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_base(count: int = 5) -> int:
    """A base port N such that N .. N+count-1 are all free on 127.0.0.1 right now, below the
    range the kernel hands to outgoing connections (so none of those takes one meanwhile)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    low = _ephemeral_low()
    top = low - count if low > 12000 + count else 60000 - count
    for _ in range(200):
        base = rng.randrange(10000, top)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports found")


def clean_environment(**extra: str) -> dict[str, str]:
    """The test process' environment without cloud or AWS settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EUCA_", "AWS_", "EC2_", "S3_", "EUARE_", "TOKEN_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def admin_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "eucalyptus.cli.admin", *args]



def kill_qemu_processes_of(directory: Path) -> None:
    """SIGKILL, by PID, the qemu-* processes (QEMU guests, the storage controller's NBD
    export daemons) whose command line names a file below ``directory``: they outlive the
    components that started them by design."""
    mine = str(directory) + "/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if mine in argv and Path(argv.split("\0", 1)[0]).name.startswith("qemu-"):
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def remove_export_dir_of(data_dir: Path) -> None:
    """Remove the storage controller's export-socket directory of the cloud at ``data_dir``
    when it lies outside it (``/tmp/euca-sc-<hash>``), once its daemons are gone."""
    from eucalyptus.config import ConfigError, load_settings
    from eucalyptus.sc.component import export_run_dir
    try:
        settings = load_settings(data_dir, clean_environment())
    except (ConfigError, OSError):
        return
    run_dir = export_run_dir(settings)
    if settings.data_dir not in run_dir.parents:
        shutil.rmtree(run_dir, ignore_errors=True)


def terminate_processes(procs, timeout: float) -> None:
    """SIGTERM each still-running ``subprocess.Popen`` of ``procs``, then wait up to
    ``timeout`` seconds for each; one that has not exited by then is SIGKILLed."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def remove_network_of(data_dir: Path, label: str) -> None:
    """Remove the instance network of the cloud or zone at ``data_dir`` when its namespace
    is still there; a failure is printed (naming ``label``), never raised, so that a clean-up
    does not hide the test's result."""
    from eucalyptus.cc.vnet.manager import namespace_name, remove_cloud_network
    if Path(f"/run/netns/{namespace_name(data_dir)}").exists():
        try:
            remove_cloud_network(data_dir)
        except Exception as failed:
            print(f"could not remove the network of {label}: {failed}")


class CloudStartError(AssertionError):
    pass


class Cloud:
    def __init__(self, data_dir: Path, port_base: int, proc: subprocess.Popen, log: Path,
                 env: dict[str, str]):
        self.data_dir = data_dir
        self.port_base = port_base
        self.proc = proc
        self.up_log = log
        self.process_env = env
        self.env: dict[str, str] = {}
        self.home = data_dir.parent / f"{data_dir.name}-home"
        self.home.mkdir(exist_ok=True)

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def start(cls, data_dir: Path, extra_env: dict[str, str] | None = None,
              timeout: float = 90.0, port_base: int | None = None) -> "Cloud":
        data_dir = Path(data_dir)
        if port_base is None:           # another process may bind a chosen port first: retry
            for attempt in range(START_ATTEMPTS):
                try:
                    return cls.start(data_dir, extra_env, timeout, free_port_base())
                except CloudStartError as exc:
                    if "address already in use" not in str(exc) or \
                            attempt == START_ATTEMPTS - 1:
                        raise
        env = clean_environment(**(extra_env or {}))
        log = data_dir.parent / f"{data_dir.name}-up.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                admin_command("up", "--data-dir", str(data_dir), "--port-base", str(port_base)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=data_dir.parent)
        cloud = cls(data_dir, port_base, proc, log, env)
        try:
            cloud.wait_ready(timeout)
        except BaseException:
            cloud.stop()
            raise
        return cloud

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while READY_MARKER not in self.up_log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                what = (f"exited with {self.proc.returncode}" if self.proc.poll() is not None
                        else f"not ready after {timeout:.0f} s")
                raise CloudStartError(f"eucalyptus up {what}\n{self.logs()}")
            time.sleep(0.1)
        self.env = parse_eucarc((self.data_dir / "credentials" / "eucarc").read_text())

    def logs(self) -> str:
        parts = [f"--- {self.up_log}\n{self.up_log.read_text(errors='replace')}"]
        for name in COMPONENTS:
            path = self.data_dir / "log" / f"{name}.log"
            if path.exists():
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-30:])
                parts.append(f"--- {path} (end)\n{tail}")
        return "\n".join(parts)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM ``up`` by PID and wait for it; SIGKILL after ``timeout``. Whatever the
        cloud left of its instance network (after a kill) is removed too."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stop_leftovers()
        self.remove_network()
        return self.proc.returncode

    def stop_leftovers(self) -> None:
        """Kill the detached processes this cloud started that outlive ``up`` by design
        (see ``kill_qemu_processes_of``), and the export-socket directory their storage
        controller keeps outside the data directory when its path is long."""
        kill_qemu_processes_of(self.data_dir.resolve())
        remove_export_dir_of(self.data_dir)

    def remove_network(self) -> None:
        remove_network_of(self.data_dir, str(self.data_dir))

    # -- what tests use ---------------------------------------------------------------------
    @property
    def urls(self) -> dict[str, str]:
        urls = {svc: self.env[var] for svc, var in SERVICE_VARIABLES.items()}
        for offset, name in enumerate(("clc", "cc", "nc", "sc", "walrus")):
            urls[name] = f"http://127.0.0.1:{self.port_base + offset}"
        return urls

    @property
    def settings(self):
        """The cloud's settings as its components see them (file + environment)."""
        from eucalyptus.config import load_settings
        return load_settings(self.data_dir, env=self.process_env)

    @property
    def database_url(self) -> str:
        """The URL of this cloud's database, as its components read it."""
        return self.settings.database_url

    def endpoint(self, service: str) -> str:
        return self.urls[service]

    def client(self, service: str, **overrides):
        """A boto3 client for ``service`` as the cloud admin unless credentials are given."""
        import boto3
        from botocore.config import Config
        try:
            from eucalyptus.aws.specs import botocore_session_with_overlays
            session = boto3.session.Session(botocore_session=botocore_session_with_overlays())
        except ImportError:
            session = boto3.session.Session()
        params = {"region_name": self.env["AWS_DEFAULT_REGION"],
                  "endpoint_url": self.endpoint(service),
                  "aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
                  "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"],
                  "config": Config(retries={"max_attempts": 1, "mode": "standard"},
                                   connect_timeout=5, read_timeout=30)}
        params.update(overrides)
        return session.client(service, **params)

    def aws(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the AWS CLI with the eucarc variables and an isolated HOME."""
        run_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home),
                   "LANG": "C.UTF-8", **self.env, **(env or {})}
        aws = BIN / "aws" if (BIN / "aws").exists() else shutil.which("aws")
        return subprocess.run([str(aws), *args], env=run_env, capture_output=True, text=True,
                              timeout=timeout)

    def admin(self, *args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
        """Run ``eucalyptus <args> --data-dir <this cloud's dir>``."""
        return subprocess.run(admin_command(*args, "--data-dir", str(self.data_dir)),
                              env=self.process_env, capture_output=True, text=True,
                              timeout=timeout, **kw)

    def pids(self) -> dict[str, int]:
        """PIDs of the running components, from DIR/run/<name>.pid."""
        out = {}
        for name in COMPONENTS:
            path = self.data_dir / "run" / f"{name}.pid"
            if path.exists():
                out[name] = int(path.read_text())
        return out


class PostgresCluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="euca-pg-"))
        self.data = self.dir / "data"
        self.port = free_port_base(1)
        self.pid: int | None = None
        self._databases = 0

    @staticmethod
    def find_bindir() -> Path | None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                       key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
        return Path(found[-1]).parent if found else None

    def _run(self, *cmd: str) -> None:
        if os.geteuid() == 0:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> "PostgresCluster":
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.dir / "postgres.log"), "-w", "-t", "60", "-o", options, "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def create_database(self, prefix: str = "cloud") -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg
        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self, timeout: float = 30.0) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)           # fast shutdown
                deadline = time.monotonic() + timeout
                while Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if Path(f"/proc/{self.pid}").exists():
                    os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)

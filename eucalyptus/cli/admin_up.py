"""``eucalyptus up``: cloud-in-a-box. Starts the five components as supervised processes.

Each component runs ``eucalyptus serve <name>`` in its own process (and session, so a
terminal's Ctrl-C reaches only the supervisor), logging to DIR/log/<name>.log. Once every
component answers its signed health check, the local node is registered with the cluster
controller, the admin's credentials are refreshed from the cloud controller, the endpoints are
printed and the line ``eucalyptus up: ready`` ends the start-up. SIGINT or SIGTERM stops every
child by PID (SIGTERM, then SIGKILL after a grace period) and waits for each. If a component
exits on its own, the others are stopped too and ``up`` exits 1.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

from eucalyptus import credentials
from eucalyptus.cli.admin_init import ADMIN_ACCOUNT, ADMIN_USER, admin_credentials
from eucalyptus.cli.admin_rpc import call_async
from eucalyptus.config import COMPONENTS, Settings
from eucalyptus.errors import ServiceError
from eucalyptus.rpc.messages import (ClusterResources, CredentialsGrant, CredentialsQuery,
                                     Health, NodeAddresses)

READY_MARKER = "eucalyptus up: ready"
STOP_GRACE_S = 10.0


class StartFailed(Exception):
    """A component did not come up; the message carries the end of its log."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class Supervisor:
    def __init__(self, settings: Settings, out: TextIO = sys.stdout,
                 ready_timeout: float = 90.0):
        self.settings = settings
        self.out = out
        self.ready_timeout = ready_timeout
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = asyncio.Event()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def log_path(self, name: str) -> Path:
        return self.settings.path("log", f"{name}.log")

    def spawn(self, name: str) -> subprocess.Popen:
        self.log_path(name).parent.mkdir(exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "eucalyptus.cli.admin", "serve", name,
                 "--data-dir", str(self.settings.data_dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent)
        self.children[name] = proc
        self.settings.path("run", f"{name}.pid").write_text(f"{proc.pid}\n")
        return proc

    async def wait_healthy(self, name: str, deadline: float) -> Health:
        proc = self.children[name]
        while True:
            if proc.poll() is not None:
                raise StartFailed(f"{name} exited with status {proc.returncode}; "
                                  f"end of {self.log_path(name)}:\n{log_tail(self.log_path(name))}")
            try:
                return await call_async(self.settings, self.settings.url(name), "GET", "health",
                                        reply=Health, timeout=2)
            except ServiceError:
                if time.monotonic() > deadline:
                    raise StartFailed(f"{name} did not answer at {self.settings.url(name)} "
                                      f"within {self.ready_timeout:.0f} s; end of its log:\n"
                                      f"{log_tail(self.log_path(name))}") from None
                await asyncio.sleep(0.1)

    async def register_local_node(self, deadline: float) -> None:
        address = f"{self.settings.bind_address}:{self.settings.nc_port}"
        while True:
            cluster = await call_async(self.settings, self.settings.url("cc"), "POST",
                                       "cluster/nodes/register", NodeAddresses([address]),
                                       reply=ClusterResources)
            if any(n.address == address and n.state == "up" for n in cluster.nodes):
                return
            if time.monotonic() > deadline:
                raise StartFailed(f"the cluster controller cannot reach the node {address}")
            await asyncio.sleep(0.2)

    async def refresh_credentials(self) -> Path:
        grant = await call_async(self.settings, self.settings.url("clc"), "POST", "credentials",
                                 CredentialsQuery(ADMIN_ACCOUNT, ADMIN_USER),
                                 reply=CredentialsGrant)
        creds = admin_credentials(self.settings, grant.account_id, grant.access_key_id,
                                  grant.secret_access_key)
        return credentials.write_directory(creds, self.settings.path("credentials"))

    async def install_starter(self) -> None:
        """Register the public starter image at the first start (images.starter_install)."""
        if self.settings.starter_image != "yes":
            return
        from eucalyptus.images.starter_install import install_starter
        try:
            self.say(await asyncio.to_thread(install_starter, self.settings))
        except Exception as exc:  # the cloud runs without it; say why
            self.say(f"starter image: not registered ({' '.join(str(exc).split())})")

    async def start(self) -> None:
        began = time.monotonic()
        deadline = began + self.ready_timeout
        for name in COMPONENTS:
            self.spawn(name)
        await asyncio.gather(*(self.wait_healthy(n, deadline) for n in COMPONENTS))
        await self.register_local_node(deadline)
        eucarc = await self.refresh_credentials()
        await self.install_starter()
        self.print_summary(eucarc, time.monotonic() - began)

    def print_summary(self, eucarc: Path, elapsed: float) -> None:
        s = self.settings
        self.say(f"{'component':<10} {'endpoint':<28} {'pid':>7}  log")
        for name in COMPONENTS:
            self.say(f"{name:<10} {s.url(name):<28} {self.children[name].pid:>7}  "
                     f"{self.log_path(name)}")
        urls = s.service_urls()
        self.say("user APIs:")
        for label, key in (("EC2", "ec2"), ("IAM", "iam"), ("STS", "sts"), ("S3", "s3")):
            self.say(f"  {label:<4} {urls[key]}")
        self.say(f"admin credentials: {eucarc}  (source it)")
        self.say(f"AWS CLI profile \"{credentials.PROFILE}\": {eucarc.parent / 'aws-config'} "
                 f"and {eucarc.parent / 'aws-credentials'}")
        self.say(f"{READY_MARKER} in {elapsed:.1f} s (region {s.region}, zone {s.zone}); "
                 "Ctrl-C stops it")

    async def watch(self) -> str | None:
        """Wait for a stop signal (None) or a child's exit (its name)."""
        while not self.stopping.is_set():
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    return name
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=0.5)
            except asyncio.TimeoutError:
                pass
        return None

    def stop_all(self) -> None:
        """SIGTERM every live child (last started first), wait, SIGKILL what remains."""
        for name in reversed(COMPONENTS):
            proc = self.children.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for name in reversed(COMPONENTS):
            proc = self.children.get(name)
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self.settings.path("run", f"{name}.pid").unlink(missing_ok=True)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        self.settings.path("run", "up.pid").write_text(f"{os.getpid()}\n")
        status = 0
        try:
            starting = asyncio.create_task(self.start())
            stop_wait = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({starting, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                self.say("eucalyptus up: stopping before start-up finished")
            else:
                stop_wait.cancel()
                starting.result()
                died = await self.watch()
                if died is not None:
                    proc = self.children[died]
                    self.say(f"eucalyptus up: {died} exited with status {proc.returncode}; "
                             f"stopping the cloud. End of {self.log_path(died)}:\n"
                             f"{log_tail(self.log_path(died))}")
                    status = 1
        except (StartFailed, ServiceError) as exc:
            self.say(f"eucalyptus up: start-up failed: {exc}")
            status = 1
        finally:
            self.stop_all()
            self.settings.path("run", "up.pid").unlink(missing_ok=True)
            self.say("eucalyptus up: stopped")
        return status

"""A second availability zone beside a running test cloud: its own CC, SC and NC processes.

``SecondZone(cloud, work, zone="eucalyptus-1b", env={...}).start()``:

- makes the zone's data directory ``work/<zone>`` with a copy of the cloud's component keys
  (so the cloud controller trusts the zone's components and they trust it) and of its
  credentials (the SC signs its Walrus requests as the cloud administrator), and a conf file
  with the zone's name, three free ports (CC, NC, SC), the cloud's CLC and Walrus ports, its
  own VNET_SUBNET and NODES = its node. The namespace of the zone's instance network derives
  from that directory, so it is a separate one (``namespace``);
- starts ``eucalyptus serve cc``, then ``sc`` and ``nc`` with it (by PID, logs in DIR/log),
  waits until they answer and the node is up, and registers the zone with the cloud
  (``eucalyptus register-cluster``, the admin command, against the cloud's data directory).

``stop()`` deregisters the zone (when the cloud still answers), stops the processes by PID,
kills the guests and NBD daemons whose command line names the zone's directory, and removes
the zone's namespace. ``env`` adds EUCA_* variables for the three processes (e.g. a fake
hypervisor or HYPERVISOR=tcg).
"""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

from eucalyptus.config import CONF_NAME, INIT_MARKER, load_settings
from tests.cloud_fixture import (admin_command, clean_environment, free_port_base,
                                 kill_qemu_processes_of, remove_export_dir_of,
                                 remove_network_of,
                                 terminate_processes)

COMPONENTS = ("cc", "sc", "nc")
NOT_COPIED = ("nc-images.pem",)          # the node's own image key, made on first use


class SecondZone:
    def __init__(self, cloud, work: Path, zone: str = "eucalyptus-1b",
                 env: dict[str, str] | None = None, subnet: str = "10.78.0.0"):
        self.cloud = cloud
        self.zone = zone
        self.data_dir = (Path(work) / zone).resolve()
        self.env = dict(env or {})
        self.subnet = subnet
        self.procs: dict[str, subprocess.Popen] = {}
        self.registered = False
        self.settings = None

    # -- set-up ------------------------------------------------------------------------------
    def _prepare(self) -> None:
        source = Path(self.cloud.data_dir)
        home = self.cloud.settings
        for name in ("keys", "credentials", "log", "run"):
            (self.data_dir / name).mkdir(parents=True, exist_ok=True)
        for path in (source / "keys").iterdir():
            if path.is_file() and path.name not in NOT_COPIED:
                shutil.copy2(path, self.data_dir / "keys" / path.name)
        for path in (source / "credentials").iterdir():
            if path.is_file():
                shutil.copy2(path, self.data_dir / "credentials" / path.name)
        base = free_port_base(3)
        conf = {"ZONE": self.zone, "CLC_PORT": home.clc_port,
                "WALRUS_PORT": home.walrus_port, "CC_PORT": base, "NC_PORT": base + 1,
                "SC_PORT": base + 2, "NODES": f"127.0.0.1:{base + 1}",
                "VNET_SUBNET": self.subnet, "REGION": home.region,
                "NC_POLLING_FREQUENCY": "1", "STARTER_IMAGE": "no"}
        (self.data_dir / CONF_NAME).write_text(
            "".join(f'{k}="{v}"\n' for k, v in conf.items()))
        (self.data_dir / INIT_MARKER).write_text("")
        self.settings = load_settings(self.data_dir, env=self._process_env())

    def _process_env(self) -> dict[str, str]:
        return clean_environment(**self.env)

    def _spawn(self, name: str) -> None:
        log = self.data_dir / "log" / f"{name}.log"
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                admin_command("serve", name, "--data-dir", str(self.data_dir)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self._process_env(), start_new_session=True)

    def call(self, name: str, method: str, path: str, reply=None, msg=None,
             timeout: float = 5):
        """``METHOD /internal/<path>`` on this zone's ``name`` component, as the admin."""
        from eucalyptus.cli.admin_rpc import call_async
        return asyncio.run(call_async(self.settings, self.settings.url(name), method, path,
                                      msg, reply=reply, timeout=timeout))

    def _wait(self, check, timeout: float, what: str):
        from eucalyptus.errors import ServiceError
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(f"{name} of {self.zone} exited ({proc.returncode})\n"
                                         f"{self.logs()}")
            try:
                last = check()
                if last:
                    return last
            except ServiceError as exc:
                last = exc
            time.sleep(0.2)
        raise AssertionError(f"{self.zone}: timed out waiting for {what} ({last!r})\n"
                             f"{self.logs()}")

    def start(self, timeout: float = 120) -> "SecondZone":
        from eucalyptus.rpc.messages import ClusterResources, Health
        try:
            self._prepare()
            self._spawn("cc")
            self._wait(lambda: self.call("cc", "GET", "health", Health), timeout, "the CC")
            for name in ("sc", "nc"):
                self._spawn(name)
            for name in ("sc", "nc"):
                self._wait(lambda: self.call(name, "GET", "health", Health), timeout,
                           f"the {name}")
            self._wait(lambda: any(n.state == "up" for n in self.call(
                "cc", "POST", "cluster/resources", ClusterResources).nodes), timeout,
                "the node to be up")
            done = self.cloud.admin("register-cluster", "--zone", self.zone,
                                    "--cc", self.settings.url("cc"),
                                    "--sc", self.settings.url("sc"))
            if done.returncode != 0:
                raise AssertionError(f"register-cluster failed: {done.stderr}\n{self.logs()}")
            self.registered = True
        except BaseException:
            self.stop()
            raise
        return self

    # -- what tests use ----------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        from eucalyptus.cc.vnet.netns import namespace_name
        return namespace_name(self.data_dir)

    def logs(self, lines: int = 30) -> str:
        out = []
        for name in COMPONENTS:
            path = self.data_dir / "log" / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {self.zone} {name}\n" + "\n".join(tail))
        return "\n".join(out)

    # -- the end -------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.registered and self.cloud.proc.poll() is None:
            try:
                self.cloud.admin("deregister-cluster", self.zone, timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self.registered = False
        terminate_processes(self.procs.values(), 20)
        kill_qemu_processes_of(self.data_dir)
        remove_export_dir_of(self.data_dir)
        remove_network_of(self.data_dir, self.zone)

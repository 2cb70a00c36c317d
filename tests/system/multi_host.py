"""A multi-host cloud inside test-made network namespaces: a front end and two nodes.

``MultiHostCloud(work, mode).start()`` builds, with unique names that ``stop()`` always
removes (nothing goes into the root namespace):

    switch namespace    bridges ``mgmt`` (management) and ``priv`` (instances' networks)
    front end           mgmt0 10.100.0.1/24, priv0 (VNET_PRIVINTERFACE): clc, walrus, sc, cc
    node1, node2        mgmt0 10.100.0.11/24 and .12, priv0: one nc each

Each host is joined to the switch by two veths (mgmt0 on ``mgmt``, priv0 on ``priv``). priv0
has MTU 1600 and an address of 10.101.0.0/24 so that, on a kernel without 802.1Q, MANAGED's
VLANs can ride VXLAN over it (``drivers.network.iproute.ensure_vlan``). One
data directory serves every component (keys, conf); per process the environment sets
BIND_ADDRESS, VNET_NAMESPACE (the host's namespace) and, for a node, its own INSTANCE_PATH.
The storage controller exports volumes over NBD on TCP (SC_NBD_TRANSPORT=tcp) at FRONT_IP,
which the nodes reach across ``mgmt``.
Components run as ``ip netns exec <host> python -m eucalyptus.cli.admin serve <name>``, are
registered (the nodes with the cluster) and stopped by PID. ``in_front(fn, *args)`` runs
``fn`` in a worker thread that entered the front end's namespace with setns(2), which is how
the test process talks to the cloud (boto3 clients made and used in that thread).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from eucalyptus.drivers import network
from tests.cloud_fixture import clean_environment, free_port_base, terminate_processes

CLONE_NEWNET = 0x40000000
FRONT_IP = "10.100.0.1"
NODE_IPS = ("10.100.0.11", "10.100.0.12")
FRONT_COMPONENTS = ("clc", "walrus", "sc", "cc")


class NamespaceThread:
    """One worker thread living in namespace ``ns``; ``run(fn, *args)`` returns fn's result."""

    def __init__(self, ns: str):
        def enter() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns}")
            finally:
                os.close(fd)
        self.pool = concurrent.futures.ThreadPoolExecutor(1, initializer=enter,
                                                          thread_name_prefix=f"in-{ns}")

    def run(self, fn, *args, timeout: float = 600, **kw):
        return self.pool.submit(fn, *args, **kw).result(timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class MultiHostCloud:
    def __init__(self, work: Path, mode: str = "MANAGED", extra_conf: dict | None = None):
        self.work = Path(work)
        self.mode = mode
        self.extra_conf = dict(extra_conf or {})
        tag = secrets.token_hex(3)
        self.switch = f"euca-sw-{tag}"
        self.front = f"euca-fe-{tag}"
        self.nodes = [f"euca-n{i}-{tag}" for i in (1, 2)]
        self.data_dir = self.work / "data"
        self.backend = network.load()
        self.procs: dict[str, subprocess.Popen] = {}
        self.port_base = free_port_base()
        self.nc_port = self.port_base + 2
        self._front: NamespaceThread | None = None
        self.settings = None

    # -- the virtual hosts ------------------------------------------------------------------
    def _hosts(self) -> list[tuple[str, str]]:
        return [(self.front, FRONT_IP)] + list(zip(self.nodes, NODE_IPS))

    def _build_network(self) -> None:
        b = self.backend
        b.create_namespace(self.switch)
        for bridge in ("mgmt", "priv"):
            b.ensure_bridge(self.switch, bridge)
        # flood multicast (VXLAN's, where the kernel has no 802.1Q) to every port
        subprocess.run(["ip", "-n", self.switch, "link", "set", "priv", "type", "bridge",
                        "mcast_snooping", "0"], check=True)
        for n, (ns, ip) in enumerate(self._hosts()):
            b.create_namespace(ns)
            b.add_veth(self.switch, f"m{n}", ns, "mgmt0", bridge="mgmt")
            b.add_veth(self.switch, f"p{n}", ns, "priv0", bridge="priv")
            for where, link in ((self.switch, f"p{n}"), (ns, "priv0")):
                subprocess.run(["ip", "-n", where, "link", "set", link, "mtu", "1600"],
                               check=True)
            subprocess.run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "mgmt0"],
                           check=True)
            # the private link's own address: the VXLAN underlay when 802.1Q is missing
            subprocess.run(["ip", "-n", ns, "addr", "add",
                            ip.replace("10.100.", "10.101.") + "/24", "dev", "priv0"],
                           check=True)

    # -- components -------------------------------------------------------------------------
    def _init(self) -> None:
        from eucalyptus.cli.admin_init import init
        from eucalyptus.config import ports_from_base
        conf = {**ports_from_base(self.port_base), "CLC_HOST": FRONT_IP,
                "CC_HOST": FRONT_IP, "SC_HOST": FRONT_IP, "WALRUS_HOST": FRONT_IP,
                "VNET_MODE": self.mode, "VNET_PRIVINTERFACE": "priv0",
                "SCHEDPOLICY": "ROUNDROBIN", "NC_POLLING_FREQUENCY": "1",
                "HYPERVISOR": "tcg", "WALRUS_WORKERS": "1",
                # the nodes are other hosts: the SC serves NBD on FRONT_IP, not a unix socket
                "SC_NBD_TRANSPORT": "tcp", **self.extra_conf}
        self.settings = init(self.data_dir, conf)

    def _spawn(self, ns: str, component: str, ip: str, name: str, **env: str) -> None:
        log = self.work / f"{name}.log"
        run_env = clean_environment(EUCA_BIND_ADDRESS=ip, EUCA_VNET_NAMESPACE=ns, **env)
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-m", "eucalyptus.cli.admin",
                 "serve", component, "--data-dir", str(self.data_dir)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=run_env,
                start_new_session=True)

    def _call(self, url: str, method: str, path: str, msg=None, reply=None):
        from eucalyptus.cli.admin_rpc import call_async
        return asyncio.run(call_async(self.settings, url, method, path, msg, reply=reply,
                                      timeout=5))

    def _wait_healthy(self, timeout: float) -> None:
        from eucalyptus.errors import ServiceError
        from eucalyptus.rpc.messages import Health
        urls = {name: f"http://{FRONT_IP}:{self.settings.port(name)}" for name in
                FRONT_COMPONENTS}
        urls.update({f"nc{i}": f"http://{ip}:{self.nc_port}"
                     for i, ip in enumerate(NODE_IPS, 1)})
        deadline = time.monotonic() + timeout
        for name, url in urls.items():
            while True:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited ({proc.returncode})\n{self.logs()}")
                try:
                    self.in_front(self._call, url, "GET", "health", reply=Health)
                    break
                except ServiceError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{name} not healthy at {url}\n{self.logs()}")
                    time.sleep(0.2)

    def _register_nodes(self, timeout: float) -> None:
        from eucalyptus.rpc.messages import ClusterResources, NodeAddresses
        wanted = [f"{ip}:{self.nc_port}" for ip in NODE_IPS]
        cc = f"http://{FRONT_IP}:{self.settings.port('cc')}"
        deadline = time.monotonic() + timeout
        while True:
            got = self.in_front(self._call, cc, "POST", "cluster/nodes/register",
                                NodeAddresses(wanted), reply=ClusterResources)
            if sorted(n.address for n in got.nodes if n.state == "up") == sorted(wanted):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"nodes not up: {got.nodes}\n{self.logs()}")
            time.sleep(0.3)

    def start(self, timeout: float = 180) -> "MultiHostCloud":
        try:
            self._build_network()
            self._init()
            self._front = NamespaceThread(self.front)
            for name in FRONT_COMPONENTS:
                self._spawn(self.front, name, FRONT_IP, name)
            for i, (ns, ip) in enumerate(zip(self.nodes, NODE_IPS), 1):
                self._spawn(ns, "nc", ip, f"nc{i}",
                            EUCA_INSTANCE_PATH=str(self.work / f"node{i}"))
            self._wait_healthy(timeout)
            self._register_nodes(60)
        except BaseException:
            self.stop()
            raise
        return self

    def install_starter(self) -> dict:
        """Register the starter image through the front end; its ids (eki, eri, emi)."""
        import json

        from eucalyptus.config import load_settings
        from eucalyptus.images.starter_install import MARKER, install_starter
        settings = load_settings(self.data_dir, env={})
        summary = self.in_front(install_starter, settings)
        marker = self.data_dir / MARKER
        if not marker.exists():
            raise AssertionError(f"starter image not registered: {summary}")
        return json.loads(marker.read_text())

    def in_front(self, fn, *args, **kw):
        return self._front.run(fn, *args, **kw)

    def client(self, service: str):
        """A boto3 client as the cloud admin; make and use it through ``in_front``."""
        import boto3
        from botocore.config import Config

        from eucalyptus.credentials import parse_eucarc
        env = parse_eucarc((self.data_dir / "credentials" / "eucarc").read_text())
        url = env["EC2_URL"] if service == "ec2" else env["S3_URL"]
        return boto3.session.Session().client(
            service, region_name=env["AWS_DEFAULT_REGION"], endpoint_url=url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60))

    def logs(self, lines: int = 25) -> str:
        out = []
        for name in self.procs:
            path = self.work / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(out)

    # -- the end ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every component by PID, then the guests and dnsmasq left behind, then remove
        every namespace made."""
        terminate_processes(self.procs.values(), 15)
        self._kill_guests()
        self._stop_dnsmasq()
        if self._front is not None:
            self._front.close()
        for ns in [self.front, *self.nodes, self.switch]:
            self.backend.delete_namespace(ns)

    def _kill_guests(self) -> None:
        from eucalyptus.drivers.hypervisor.qemu import process_alive, read_pid
        for i in (1, 2):
            root = self.work / f"node{i}"
            for d in (root.iterdir() if root.exists() else []):
                pid = read_pid(d)
                if pid and process_alive(pid, d):
                    os.kill(pid, signal.SIGKILL)

    def _stop_dnsmasq(self) -> None:
        from eucalyptus.cc.vnet.addresses import Subnet
        from eucalyptus.cc.vnet.dhcp import DhcpServer
        DhcpServer(self.backend, self.front, "eucabr*",
                   Subnet.parse("10.0.0.0", "255.255.255.0")).stop()

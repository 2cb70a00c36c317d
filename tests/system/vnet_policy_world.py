"""A small world of namespaces for the security-group and elastic-IP system tests.

``PolicyWorld`` makes a cloud namespace (bridge ``eucabr0`` with the private gateway,
forwarding on) run by a real ``NetworkPolicy``, "instances" (namespaces whose ``eth0`` is a
veth on the bridge with a fixed private address, default route via the gateway) and a
``client`` namespace on the public side (a veth whose cloud end is enslaved to
``eucapub0``). Each instance and the client run a tiny TCP server on the ports asked for that
answers ``<name> <peer address>``; ``probe()`` connects from one namespace and returns that
answer, "timeout" (dropped) or "refused". Everything is removed by ``close()``.
"""
from __future__ import annotations

import secrets
import subprocess
import sys
import time

from eucalyptus.cc.vnet.policy import NetworkPolicy

SERVER = r"""
import socket, sys, threading
name, host, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
def serve(sock):
    while True:
        conn, peer = sock.accept()
        try:
            conn.sendall(f"{name} {peer[0]}\n".encode())
        finally:
            conn.close()
for port in ports:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(64)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

PROBE = r"""
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[3]))
if len(sys.argv) > 4:
    s.bind((sys.argv[4], 0))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print(s.makefile().readline().strip())
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e)
"""

PRIVATE = "10.66.0"
PUBLIC = "10.88.0"


class PolicyWorld:
    def __init__(self, backend, loop_thread, state_dir):
        self.backend, self.loop = backend, loop_thread
        tag = secrets.token_hex(3)
        self.ns = f"euca-pw-{tag}"
        self.client = f"euca-pc-{tag}"
        self.instances: dict[str, str] = {}          # instance id -> namespace
        self.addresses: dict[str, str] = {}          # instance id -> private ip
        self.servers: list[subprocess.Popen] = []
        self.namespaces = [self.ns, self.client]
        backend.create_namespace(self.ns)
        backend.ensure_bridge(self.ns, "eucabr0", f"{PRIVATE}.1/24")
        backend.set_sysctl(self.ns, "net.ipv4.ip_forward", "1")
        self.policy = NetworkPolicy(backend, self.ns, state_dir, interface="eucapub0",
                                    public_address=f"{PUBLIC}.1/24",
                                    private_networks=[f"{PRIVATE}.0/24"])
        self.loop.run(self.policy.start())
        backend.create_namespace(self.client)
        backend.add_veth(self.ns, f"vp{tag}", self.client, "eth0", bridge="eucapub0")
        for address in (f"{PUBLIC}.2/24", f"{PUBLIC}.3/24"):
            self.ip(self.client, "addr", "add", address, "dev", "eth0")

    # -- plumbing -----------------------------------------------------------------------------
    def ip(self, ns: str, *args: str) -> None:
        subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True, timeout=30)

    def run(self, ns: str, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(self.backend.namespace_argv(ns, argv), capture_output=True,
                              text=True, timeout=timeout)

    def serve(self, ns: str, name: str, host: str, ports: tuple[int, ...]) -> None:
        proc = subprocess.Popen(self.backend.namespace_argv(
            ns, [sys.executable, "-S", "-c", SERVER, name, host, *map(str, ports)]),
            stdout=subprocess.PIPE, text=True)
        self.servers.append(proc)
        assert proc.stdout.readline().strip() == "ready"

    def instance(self, instance_id: str, n: int, groups: list[str],
                 ports: tuple[int, ...] = (22, 8080)) -> str:
        """Attach an instance with private address 10.66.0.<n>; its private ip."""
        ns = f"euca-pi-{secrets.token_hex(3)}"
        self.namespaces.append(ns)
        self.backend.create_namespace(ns)
        self.backend.add_veth(self.ns, f"vi{secrets.token_hex(4)}", ns, "eth0",
                              bridge="eucabr0")
        address = f"{PRIVATE}.{n}"
        self.ip(ns, "addr", "add", f"{address}/24", "dev", "eth0")
        self.ip(ns, "route", "add", "default", "via", f"{PRIVATE}.1")
        self.instances[instance_id], self.addresses[instance_id] = ns, address
        self.serve(ns, instance_id, "0.0.0.0", ports)
        self.loop.run(self.policy.attached(instance_id, address, groups))
        return address

    def probe(self, ns: str, host: str, port: int, timeout: float = 0.4,
              source: str = "") -> str:
        """Connect from ``ns`` (from address ``source`` when given): the server's answer,
        "timeout" when dropped, "refused" when rejected."""
        return self.run(ns, [sys.executable, "-S", "-c", PROBE, host, str(port), str(timeout)]
                        + ([source] if source else [])).stdout.strip()

    def ping(self, ns: str, host: str) -> bool:
        return self.run(ns, ["busybox", "ping", "-c", "1", "-W", "1", host]).returncode == 0

    def change(self, coro, check, within: float = 1.0) -> float:
        """Run a policy change, then poll ``check()`` until true; the seconds from the start
        of the change to the first good check (AssertionError past ``within``)."""
        start = time.monotonic()
        self.loop.run(coro)
        while True:
            if check():
                return time.monotonic() - start
            if time.monotonic() - start > within:
                raise AssertionError(f"not in effect within {within} s")

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(10)
        self.loop.run(self.policy.stop())
        for ns in reversed(self.namespaces):
            self.backend.delete_namespace(ns)

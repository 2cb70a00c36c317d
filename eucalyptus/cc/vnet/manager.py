"""The cluster controller's instance network: namespace, networks, DHCP, addresses, metadata.

``InstanceNetwork(settings)`` is built when the CC is (a bad combination of VNET_* keys raises
ConfigError there, naming the key, before anything listens; ``eucalyptus.cc.vnet.modes``).
``start()`` brings the network up in the mode's shape: the namespace (our own
``euca-<8hex>``, or VNET_NAMESPACE on a multi-host cloud) with the home network and every
network that has instances (bridge, gateway address, uplink), forwarding and the metadata
DNAT; dnsmasq with a static lease per instance; the metadata listener on the home gateway,
served by this process; and the security-group/public-address policy. SYSTEM mode has none of
that but the bridge: it watches ARP on it to learn the addresses someone else's DHCP gave
(``arpwatch``). When the host cannot do it (no root, no ``ip``/``nft``/``dnsmasq``) the CC
still runs: the network reports itself unavailable and attach calls fail with
ServiceUnavailable.

Networks: in the managed modes ``attach`` puts an instance on the private network of its
first security group (``networks``: an index per group while it has instances, 2 for none),
making the network's bridge and gateway on first use and taking them away when its last
instance detaches. STATIC gives the VNET_MACMAP pairs out; SYSTEM only a MAC.

Stopping: with no instance attached, ``stop()`` stops dnsmasq and removes the namespace (or,
for VNET_NAMESPACE, what was made in it). With instances still attached it leaves the
namespace, bridges and dnsmasq running, because their guests keep running too (the NC leaves
QEMU detached) and need their network and lease renewals; only the metadata listener goes
away with the process. The next ``start()`` adopts them: the namespace is completed, not
recreated, and the running dnsmasq re-reads its files. ``remove_cloud_network(data_dir)``
removes everything regardless, for clean-ups.

Address allocations (with each one's network and group) and metadata records persist under
``DIR/cc/vnet``.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from eucalyptus.cc.vnet import metadata
from eucalyptus.cc.vnet.addresses import AddressBook, Allocation, Subnet, check_instance_id
from eucalyptus.cc.vnet.arpwatch import AddressWatch
from eucalyptus.cc.vnet.dhcp import DhcpServer
from eucalyptus.cc.vnet.firewall import check_group_id
from eucalyptus.cc.vnet.messages import (InstanceRef, MetadataRegistration, NetworkAttachment,
                                         NetworkRequest, Released)
from eucalyptus.cc.vnet.modes import STATIC, SYSTEM, mode_of
from eucalyptus.cc.vnet.netns import BRIDGE, METADATA_PORT, CloudNamespace, namespace_name
from eucalyptus.cc.vnet.networks import choose_index, group_key
from eucalyptus.cc.vnet.policy import NetworkPolicy
from eucalyptus.config import Settings
from eucalyptus.drivers import network
from eucalyptus.drivers.network.base import NetworkBackend, NetworkError
from eucalyptus.errors import InvalidParameterValue, ServiceError, ServiceUnavailable

log = logging.getLogger("eucalyptus.cc.vnet")
CALLERS = {"clc", "nc", "admin"}


class InstanceNetwork:
    """The instance network of one cloud (one cluster)."""

    def __init__(self, settings: Settings, backend: NetworkBackend | None = None,
                 ns: str | None = None, runtime_dir: Path | None = None,
                 metadata_port: int = METADATA_PORT):
        self.config = mode_of(settings)
        self.mode = self.config.name
        self.subnet = self.config.subnet
        self.backend = backend or network.load()
        shared = settings.vnet_namespace
        self.ns = ns or shared or namespace_name(settings.data_dir)
        self.metadata_port = metadata_port
        state = settings.path("cc", "vnet")
        self.addresses = AddressBook(self.subnet, state / "addresses.json")
        self.metadata = metadata.MetadataStore(state / "metadata")
        self.namespace = CloudNamespace(self.backend, self.ns, self.config, metadata_port,
                                        own=not (shared and self.ns == shared))
        self.dhcp = DhcpServer(self.backend, self.ns, self.config.dhcp_interfaces, self.subnet,
                               runtime_dir, dns=settings.vnet_dns)
        self.watch = (AddressWatch(self.backend, self.ns, self.config.bridge, self._learned)
                      if self.mode == SYSTEM else None)
        self.policy = NetworkPolicy.from_settings(settings, self.backend, self.ns,
                                                  [str(self.subnet.network)])
        self.error = "not started"
        self._lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return not self.error

    def networks(self) -> dict[int, Subnet]:
        """index -> subnet of the home network and every network with instances."""
        indexes = {self.config.home_index} | {a.network for a in self.addresses.all()}
        return {i: self.config.network(i) for i in sorted(indexes)}

    async def start(self) -> None:
        """Bring the network up (see the module docstring); never raises for host trouble."""
        reason = self.backend.unavailable_reason() or (
            self.dhcp.unavailable_reason() if self.config.dhcp else "")
        if reason:
            self.error = reason
            log.warning("instance network unavailable: %s", reason)
            return
        try:
            sock = await asyncio.to_thread(self._bring_up)
            await self.policy.start()
            if sock is not None:
                self._runner = web.AppRunner(metadata.make_app(
                    self.metadata, public_of=self.policy.public_address_of), access_log=None)
                await self._runner.setup()
                await web.SockSite(self._runner, sock).start()
            if self.watch is not None:
                await self.watch.start()
        except (NetworkError, OSError) as exc:
            self.error = str(exc)
            log.error("instance network unavailable: %s", exc)
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
            if not self.addresses.all():        # undo the half-made network
                await asyncio.to_thread(self._tear_down_quietly)
            return
        self.error = ""
        log.info("instance network up (%s) in namespace %s: %s, %d network(s), %d instance(s)",
                 self.mode, self.ns, self.subnet.network, len(self.networks()),
                 len(self.addresses.all()))

    def _bring_up(self):
        self.namespace.ensure(self.networks())
        if not self.config.dhcp:
            return None
        self.dhcp.start(self.addresses.all(), self.networks())
        return self.backend.listen_tcp(self.ns, self.namespace.metadata_gateway,
                                       self.metadata_port)

    async def stop(self) -> None:
        await self.policy.stop()
        if self.watch is not None:
            await self.watch.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.error:
            return
        self.error = "stopped"
        attached = self.addresses.all()
        if attached:
            log.info("leaving namespace %s and dnsmasq up for %d attached instance(s)",
                     self.ns, len(attached))
            return
        await asyncio.to_thread(self._tear_down)

    def _tear_down(self) -> None:
        self.dhcp.stop()
        self.namespace.remove(self.networks())

    def _tear_down_quietly(self) -> None:
        try:
            self._tear_down()
        except (NetworkError, OSError) as exc:
            log.error("cleaning up namespace %s: %s", self.ns, exc)

    # -- instances ----------------------------------------------------------------------------
    def _require(self) -> None:
        if self.error:
            raise ServiceUnavailable(f"the instance network is unavailable: {self.error}")

    def attachment(self, alloc: Allocation) -> NetworkAttachment:
        cfg = self.config
        if self.mode == SYSTEM:
            return NetworkAttachment(alloc.instance_id, self.ns, cfg.bridge, alloc.mac,
                                     alloc.private_ip, "", "", 0, alloc.hostname)
        net = cfg.network(alloc.network)
        return NetworkAttachment(alloc.instance_id, self.ns, cfg.bridge_of(alloc.network),
                                 alloc.mac, alloc.private_ip, net.gateway, net.netmask,
                                 net.prefixlen, alloc.hostname, cfg.vlan_of(alloc.network))

    def attachment_of(self, instance_id: str) -> NetworkAttachment | None:
        """The attachment of an attached instance (None when it has none)."""
        alloc = self.addresses.get(instance_id)
        return None if alloc is None else self.attachment(alloc)

    def private_ip_of(self, instance_id: str) -> str:
        """The instance's private address; "" when it has none or it is not known yet."""
        alloc = self.addresses.get(instance_id)
        return alloc.private_ip if alloc is not None else ""

    def _allocate(self, instance_id: str, hostname: str, groups: list[str]) -> Allocation:
        cfg = self.config
        if cfg.managed:
            group = group_key(groups)
            index = choose_index(cfg.layout, group, self.addresses.all())
            return self.addresses.allocate(instance_id, hostname, subnet=cfg.network(index),
                                           network=index, group=group)
        if self.mode == STATIC:
            return self.addresses.allocate(instance_id, hostname, fixed=cfg.macmap)
        return self.addresses.allocate(instance_id, hostname, addressless=True)

    def _serve(self, alloc: Allocation) -> None:
        """Make the instance's network and lease real (runs in a worker thread)."""
        if not self.config.dhcp:
            return
        if self.config.managed:
            self.namespace.ensure_network(alloc.network)
        self.dhcp.update(self.addresses.all(), self.networks())

    async def attach(self, instance_id: str, hostname: str = "",
                     groups: list[str] | tuple[str, ...] = (),
                     owner_id: str = "") -> NetworkAttachment:
        """Allocate (or return) the instance's place on the network and serve its lease."""
        self._require()
        groups = [check_group_id(g) for g in groups]
        async with self._lock:
            alloc = self.addresses.get(check_instance_id(instance_id))
            if alloc is None:
                alloc = self._allocate(instance_id, hostname, groups)
                try:
                    await asyncio.to_thread(self._serve, alloc)
                except (NetworkError, OSError) as exc:
                    self.addresses.release(instance_id)
                    raise ServiceUnavailable(f"cannot serve the instance's network: {exc}") \
                        from None
        if alloc.private_ip:
            await self.policy.attached(instance_id, alloc.private_ip, groups)
        return self.attachment(alloc)

    async def detach(self, instance_id: str) -> bool:
        """Free the instance's address, lease and metadata (and its network once empty);
        whether it had an address. Works while the network is unavailable too (the lease
        goes when dnsmasq next starts)."""
        async with self._lock:
            alloc = self.addresses.release(check_instance_id(instance_id))
            self.metadata.delete(instance_id)
            if alloc is not None and self.available and self.config.dhcp:
                try:
                    await asyncio.to_thread(self._unserve, alloc)
                except (NetworkError, OSError) as exc:
                    log.error("network update after releasing %s: %s", instance_id, exc)
        try:
            await self.policy.detached(instance_id)
        except ServiceUnavailable as exc:
            log.error("network policy update after releasing %s: %s", instance_id, exc)
        return alloc is not None

    def _unserve(self, alloc: Allocation) -> None:
        self.dhcp.update(self.addresses.all(), self.networks())
        if self.config.managed and not self.addresses.in_network(alloc.network):
            self.namespace.remove_network(alloc.network)

    def _learned(self, mac: str, ip: str) -> None:
        """SYSTEM mode: ARP showed ``mac`` using ``ip``."""
        alloc = self.addresses.by_mac(mac)
        if alloc is None or alloc.private_ip == ip:
            return
        try:
            self.addresses.set_address(alloc.instance_id, ip)
            log.info("%s has the address %s", alloc.instance_id, ip)
        except ServiceError as exc:
            log.warning("address of %s: %s", alloc.instance_id, exc.message)

    def put_metadata(self, instance_id: str, private_ip: str, document: dict) -> None:
        """Register what the metadata service tells ``private_ip``. An attached instance must
        use its own address; its MAC fills ``mac`` when the document has none. SYSTEM mode
        has no metadata service: nothing is registered."""
        if not self.config.metadata:
            return
        alloc = self.addresses.get(check_instance_id(instance_id))
        if alloc is not None:
            if alloc.private_ip != private_ip:
                raise InvalidParameterValue(
                    f"{instance_id} has the address {alloc.private_ip}, not {private_ip}")
            if isinstance(document, dict) and "mac" not in document:
                document = {**document, "mac": alloc.mac}
        self.metadata.put(instance_id, private_ip, document)

    def health(self) -> dict[str, Any]:
        return {"mode": self.mode, "namespace": self.ns, "subnet": str(self.subnet.network),
                "state": "up" if self.available else f"unavailable: {self.error}",
                "networks": len(self.networks()) if self.config.dhcp else 0,
                "instances": len(self.addresses.all()), "policy": self.policy.health()}

    def summary(self) -> str:
        """One line for ``eucalyptus status``."""
        h = self.health()
        return f"{h['mode']} {h['state']} ({h['namespace']} {h['subnet']}, {h['instances']} attached)"

    # -- internal API -------------------------------------------------------------------------
    def add_routes(self, routes) -> None:
        """Serve this network's calls on a component's ``RpcRoutes``."""
        async def attach(msg: NetworkRequest, _caller: str) -> NetworkAttachment:
            return await self.attach(msg.instance_id, msg.hostname, msg.groups, msg.owner_id)

        async def detach(msg: InstanceRef, _caller: str) -> Released:
            return Released(msg.instance_id, await self.detach(msg.instance_id))

        async def put(msg: MetadataRegistration, _caller: str) -> InstanceRef:
            self.put_metadata(msg.instance_id, msg.private_ip, msg.document)
            return InstanceRef(msg.instance_id)

        async def delete(msg: InstanceRef, _caller: str) -> Released:
            return Released(msg.instance_id,
                            self.metadata.delete(check_instance_id(msg.instance_id)))

        self.policy.add_routes(routes)
        routes.add("POST", "cluster/network/attach", attach, NetworkRequest, callers=CALLERS)
        routes.add("POST", "cluster/network/detach", detach, InstanceRef, callers=CALLERS)
        routes.add("POST", "cluster/metadata/put", put, MetadataRegistration, callers=CALLERS)
        routes.add("POST", "cluster/metadata/delete", delete, InstanceRef, callers=CALLERS)


def remove_cloud_network(data_dir: str | Path, backend: NetworkBackend | None = None,
                         runtime_dir: Path | None = None) -> None:
    """Stop the dnsmasq of the cloud in ``data_dir`` and delete its namespace, whatever is
    still attached (for clean-ups after tests or a cloud's removal)."""
    backend = backend or network.load()
    ns = namespace_name(data_dir)
    subnet = Subnet.parse("10.0.0.0", "255.255.255.0")     # unused by stop()
    DhcpServer(backend, ns, BRIDGE, subnet, runtime_dir).stop()
    backend.delete_namespace(ns)

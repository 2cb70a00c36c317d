"""The cluster controller's instance network: namespace, DHCP, addresses and metadata together.

``InstanceNetwork(settings)`` is built when the CC is (an unsupported VNET_MODE or a bad
VNET_SUBNET/VNET_NETMASK raises ConfigError there, before anything listens). ``start()``
brings the network up: the namespace with its bridge, forwarding and metadata DNAT, dnsmasq
with a static lease per allocated instance, and the metadata listener, a socket created inside
the namespace on the gateway address and served by this process. When the host cannot do it
(no root, no ``ip``/``nft``/``dnsmasq``) the CC still runs: the network reports itself
unavailable in the health details and attach calls fail with ServiceUnavailable.

Stopping: with no instance attached, ``stop()`` stops dnsmasq and deletes the namespace. With
instances still attached it leaves the namespace, bridge and dnsmasq running, because their
guests keep running too (the NC leaves QEMU detached) and need their network and lease
renewals; only the metadata listener goes away with the process. The next ``start()`` adopts
them: the namespace is completed, not recreated, and the running dnsmasq re-reads its hosts
file. ``remove_cloud_network(data_dir)`` removes everything regardless, for clean-ups.

Address allocations and metadata records persist under ``DIR/cc/vnet``.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from eucalyptus.cc.vnet import metadata
from eucalyptus.cc.vnet.addresses import AddressBook, Allocation, Subnet, check_instance_id
from eucalyptus.cc.vnet.dhcp import DhcpServer
from eucalyptus.cc.vnet.messages import (InstanceRef, MetadataRegistration, NetworkAttachment,
                                         NetworkRequest, Released)
from eucalyptus.cc.vnet.netns import BRIDGE, METADATA_PORT, CloudNamespace, namespace_name
from eucalyptus.config import ConfigError, Settings
from eucalyptus.drivers import network
from eucalyptus.drivers.network.base import NetworkBackend, NetworkError
from eucalyptus.errors import InvalidParameterValue, ServiceUnavailable

log = logging.getLogger("eucalyptus.cc.vnet")
SUPPORTED_MODES = ("MANAGED-NOVLAN",)
CALLERS = {"clc", "nc", "admin"}


def check_mode(settings: Settings) -> str:
    mode = settings.vnet_mode
    if mode not in SUPPORTED_MODES:
        raise ConfigError(
            f"{settings.sources.get('VNET_MODE', 'VNET_MODE')}: VNET_MODE={mode} is not "
            f"supported by this cluster controller yet; use VNET_MODE=\"MANAGED-NOVLAN\"")
    return mode


def subnet_of(settings: Settings) -> Subnet:
    try:
        return Subnet.parse(settings.vnet_subnet, settings.vnet_netmask)
    except ValueError as exc:
        raise ConfigError(f"VNET_SUBNET={settings.vnet_subnet} VNET_NETMASK="
                          f"{settings.vnet_netmask}: {exc}") from None


class InstanceNetwork:
    """The instance network of one cloud (one cluster)."""

    def __init__(self, settings: Settings, backend: NetworkBackend | None = None,
                 ns: str | None = None, runtime_dir: Path | None = None,
                 metadata_port: int = METADATA_PORT):
        self.mode = check_mode(settings)
        self.subnet = subnet_of(settings)
        self.backend = backend or network.load()
        self.ns = ns or namespace_name(settings.data_dir)
        self.metadata_port = metadata_port
        state = settings.path("cc", "vnet")
        self.addresses = AddressBook(self.subnet, state / "addresses.json")
        self.metadata = metadata.MetadataStore(state / "metadata")
        self.namespace = CloudNamespace(self.backend, self.ns, self.subnet, BRIDGE,
                                        metadata_port)
        self.dhcp = DhcpServer(self.backend, self.ns, BRIDGE, self.subnet, runtime_dir,
                               dns=settings.vnet_dns)
        self.error = "not started"
        self._lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return not self.error

    async def start(self) -> None:
        """Bring the network up (see the module docstring); never raises for host trouble."""
        reason = self.backend.unavailable_reason() or self.dhcp.unavailable_reason()
        if reason:
            self.error = reason
            log.warning("instance network unavailable: %s", reason)
            return
        try:
            sock = await asyncio.to_thread(self._bring_up)
            self._runner = web.AppRunner(metadata.make_app(self.metadata), access_log=None)
            await self._runner.setup()
            await web.SockSite(self._runner, sock).start()
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
        log.info("instance network up in namespace %s: %s gateway %s, %d instance(s)",
                 self.ns, self.subnet.network, self.subnet.gateway, len(self.addresses.all()))

    def _bring_up(self):
        self.namespace.ensure()
        self.dhcp.start(self.addresses.all())
        return self.backend.listen_tcp(self.ns, self.subnet.gateway, self.metadata_port)

    async def stop(self) -> None:
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
        self.namespace.remove()

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
        return NetworkAttachment(alloc.instance_id, self.ns, BRIDGE, alloc.mac, alloc.private_ip,
                                 self.subnet.gateway, self.subnet.netmask, self.subnet.prefixlen,
                                 alloc.hostname)

    async def attach(self, instance_id: str, hostname: str = "") -> NetworkAttachment:
        """Allocate (or return) the instance's address and MAC and serve its DHCP lease."""
        self._require()
        async with self._lock:
            known = self.addresses.get(check_instance_id(instance_id))
            alloc = self.addresses.allocate(instance_id, hostname)
            if known is None:
                try:
                    await asyncio.to_thread(self.dhcp.update, self.addresses.all())
                except (NetworkError, OSError) as exc:
                    self.addresses.release(instance_id)
                    raise ServiceUnavailable(f"cannot serve the DHCP lease: {exc}") from None
        return self.attachment(alloc)

    async def detach(self, instance_id: str) -> bool:
        """Free the instance's address, lease and metadata; whether it had an address.
        Works while the network is unavailable too (the lease goes when dnsmasq next starts)."""
        async with self._lock:
            alloc = self.addresses.release(check_instance_id(instance_id))
            self.metadata.delete(instance_id)
            if alloc is not None and self.available:
                try:
                    await asyncio.to_thread(self.dhcp.update, self.addresses.all())
                except (NetworkError, OSError) as exc:
                    log.error("dnsmasq update after releasing %s: %s", instance_id, exc)
        return alloc is not None

    def put_metadata(self, instance_id: str, private_ip: str, document: dict) -> None:
        """Register what the metadata service tells ``private_ip``. An attached instance must
        use its own address; its MAC fills ``mac`` when the document has none."""
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
                "instances": len(self.addresses.all())}

    def summary(self) -> str:
        """One line for ``eucalyptus status``."""
        h = self.health()
        return f"{h['mode']} {h['state']} ({h['namespace']} {h['subnet']}, {h['instances']} attached)"

    # -- internal API -------------------------------------------------------------------------
    def add_routes(self, routes) -> None:
        """Serve this network's calls on a component's ``RpcRoutes``."""
        async def attach(msg: NetworkRequest, _caller: str) -> NetworkAttachment:
            return await self.attach(msg.instance_id, msg.hostname)

        async def detach(msg: InstanceRef, _caller: str) -> Released:
            return Released(msg.instance_id, await self.detach(msg.instance_id))

        async def put(msg: MetadataRegistration, _caller: str) -> InstanceRef:
            self.put_metadata(msg.instance_id, msg.private_ip, msg.document)
            return InstanceRef(msg.instance_id)

        async def delete(msg: InstanceRef, _caller: str) -> Released:
            return Released(msg.instance_id,
                            self.metadata.delete(check_instance_id(msg.instance_id)))

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

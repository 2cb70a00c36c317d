"""Enforcement of security groups and public addresses by the cluster controller.

The cloud controller owns the groups and the address assignments (its database) and pushes
them here (``policy_messages``); the instance network tells this module which instances are
attached, with their private address and groups. ``NetworkPolicy`` keeps all of it in
``DIR/cc/vnet/policy.json`` (written atomically before a call returns, so a restart keeps
enforcing) and turns it into two nftables tables of the cloud's namespace: the filter
(``firewall``) and the 1:1 NAT (``nat``), plus the public /32 addresses on VNET_PUBINTERFACE.

Every change is applied as the smallest transaction that does it (a group's rules: that
group's chains; an instance or an address: set and map elements), in one ``nft -f`` call per
table; when an incremental transaction is refused (the namespace was changed behind our
back) the whole table is replaced instead. ``start()`` always replaces both tables.

While the network is not running (before ``start()``, host unable, or a mode without
security groups such as STATIC and SYSTEM) calls only update the stored state, and their
answer says ``enforced=False``.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eucalyptus.cc.vnet import firewall, nat
from eucalyptus.cc.vnet.addresses import save_json
from eucalyptus.cc.vnet.policy_messages import (GroupIds, GroupSpec, PolicyApplied,
                                                PublicAddresses, PublicIps, RuleSpec,
                                                SecurityGroups)
from eucalyptus.drivers.network.base import NetworkBackend, NetworkError
from eucalyptus.errors import InvalidParameterValue, ServiceUnavailable

log = logging.getLogger("eucalyptus.cc.vnet.policy")
STATE_VERSION = 1
ENFORCING_MODES = ("MANAGED", "MANAGED-NOVLAN")
CALLERS = {"clc", "admin"}


def _group_from_json(data: dict) -> GroupSpec:
    return GroupSpec(data["group_id"], data["owner_id"], data["name"],
                     [RuleSpec(**r) for r in data["ingress"]],
                     [RuleSpec(**r) for r in data["egress"]])


def check_instance_ref(instance_id: str) -> str:
    """An instance id, or "" (an address mapped to nothing)."""
    if instance_id and not firewall.INSTANCE_ID.fullmatch(str(instance_id)):
        raise InvalidParameterValue(f"bad instance id {instance_id!r}")
    return instance_id


class PolicyState:
    """Groups, address assignments and attached members, persisted as JSON in ``path``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.groups: dict[str, GroupSpec] = {}
        self.assignments: dict[str, str] = {}                 # public ip -> instance id
        self.members: dict[str, tuple[str, tuple[str, ...]]] = {}   # id -> (ip, groups)
        self.published: set[str] = set()                      # public ips put on the interface
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.groups = {g["group_id"]: _group_from_json(g) for g in data.get("groups", [])}
            self.assignments = dict(data.get("assignments", {}))
            self.members = {k: (v["private_ip"], tuple(v["groups"]))
                            for k, v in data.get("members", {}).items()}
            self.published = set(data.get("published", []))

    def save(self) -> None:
        data = {"version": STATE_VERSION,
                "groups": [asdict(g) for g in self.groups.values()],
                "assignments": self.assignments,
                "members": {k: {"private_ip": ip, "groups": list(groups)}
                            for k, (ip, groups) in sorted(self.members.items())},
                "published": sorted(self.published)}
        save_json(self.path, data)

    def public_of(self) -> dict[str, str]:
        """instance id -> its (lowest) public address, for attached instances."""
        out: dict[str, str] = {}
        for public in sorted(self.assignments, key=ipaddress.IPv4Address):
            iid = self.assignments[public]
            if iid in self.members:
                out.setdefault(iid, public)
        return out

    def firewall_members(self) -> list[firewall.Member]:
        public = self.public_of()
        return [firewall.Member(iid, ip, public.get(iid, ""), groups)
                for iid, (ip, groups) in sorted(self.members.items())]

    def mappings(self) -> dict[str, str]:
        """public -> private address, for addresses whose instance is attached."""
        return {pub: self.members[iid][0] for pub, iid in self.assignments.items()
                if iid in self.members}


class NetworkPolicy:
    """Security groups and public addresses of one cluster, enforced in namespace ``ns``."""

    def __init__(self, backend: NetworkBackend, ns: str, state_dir: Path, *,
                 interface: str = "eucapub0", public_address: str = "10.88.0.1/24",
                 private_networks: list[str] | tuple[str, ...] = (), enforce: bool = True):
        self.backend, self.ns = backend, ns
        self.state = PolicyState(Path(state_dir) / "policy.json")
        self.public = nat.PublicInterface(backend, ns, interface, public_address)
        self.private_networks = tuple(private_networks)
        self.enforce = enforce
        self.running = False
        self._filter: firewall.Ruleset | None = None      # as applied; None: unknown
        self._nat: nat.NatTable | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings, backend: NetworkBackend, ns: str,
                      private_networks: list[str] | tuple[str, ...]) -> "NetworkPolicy":
        """Built from VNET_MODE, VNET_PUBINTERFACE and VNET_PUBLIC_ADDRESS; state under
        ``DIR/cc/vnet``."""
        return cls(backend, ns, settings.path("cc", "vnet"),
                   interface=settings.vnet_pubinterface,
                   public_address=settings.vnet_public_address,
                   private_networks=private_networks,
                   enforce=settings.vnet_mode in ENFORCING_MODES)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Make the public interface if missing and load both tables whole (the namespace
        must exist). NetworkError when the host refuses."""
        if not self.enforce:
            return
        async with self._lock:
            self._filter = self._nat = None
            await asyncio.to_thread(self._bring_up)
            self.running = True

    def _bring_up(self) -> None:
        self.public.ensure()
        self._apply()

    async def stop(self) -> None:
        """Stop applying changes; the rules stay in the namespace (guests keep running and
        stay protected; the next ``start()`` replaces them)."""
        self.running = False

    # -- applying -----------------------------------------------------------------------------
    def _apply(self) -> None:
        """Bring the namespace in line with the state (runs in a worker thread)."""
        new_filter = firewall.build(self.state.groups, self.state.firewall_members())
        self._filter = self._load(new_filter, self._filter, firewall.render_full,
                                  firewall.render_changes, "filter")
        new_nat = nat.build(self.public.name, self.private_networks, self.state.mappings())
        self._nat = self._load(new_nat, self._nat, nat.render_full, nat.render_changes, "nat")
        wanted = set(self.state.mappings())
        managed = self.state.published | set(self.state.assignments)
        self.public.publish(wanted, managed)
        if self.state.published != wanted:
            self.state.published = wanted
            self.state.save()

    def _load(self, new, old, full, changes, what: str):
        text = changes(old, new) if old is not None else full(new)
        if text is None:
            text = full(new)
        if not text:
            return new
        try:
            self.backend.apply_rules(self.ns, text)
        except NetworkError as exc:
            if old is None:
                raise
            log.warning("incremental %s update refused (%s); replacing the table", what, exc)
            self.backend.apply_rules(self.ns, full(new))
        return new

    async def _commit(self) -> PolicyApplied:
        """Save the state, then apply it when running (caller holds the lock)."""
        self.state.save()
        if self.running:
            try:
                await asyncio.to_thread(self._apply)
            except (NetworkError, OSError) as exc:
                self._filter = self._nat = None         # next time: whole tables
                raise ServiceUnavailable(f"cannot apply the network policy: {exc}") from None
        return self.answer()

    def answer(self) -> PolicyApplied:
        return PolicyApplied(len(self.state.groups), len(self.state.assignments), self.running)

    # -- what the cloud controller pushes -------------------------------------------------------
    async def put_groups(self, groups: list[GroupSpec], complete: bool = False) -> PolicyApplied:
        """Create or replace ``groups``; with ``complete`` drop all others."""
        checked = {g.group_id: g for g in (firewall.check_group(g) for g in groups)}
        async with self._lock:
            if complete:
                self.state.groups = checked
            else:
                self.state.groups.update(checked)
            return await self._commit()

    async def delete_groups(self, group_ids: list[str]) -> PolicyApplied:
        ids = [firewall.check_group_id(g) for g in group_ids]
        async with self._lock:
            for g in ids:
                self.state.groups.pop(g, None)
            return await self._commit()

    async def put_addresses(self, assignments: list[tuple[str, str]],
                            complete: bool = False) -> PolicyApplied:
        """Set ``(public_ip, instance_id)`` assignments ("" maps to nothing); with
        ``complete`` drop all other public addresses."""
        checked = {firewall.check_address(pub, "public address"): check_instance_ref(iid)
                   for pub, iid in assignments}
        async with self._lock:
            if complete:
                self.state.assignments = checked
            else:
                self.state.assignments.update(checked)
            return await self._commit()

    async def delete_addresses(self, public_ips: list[str]) -> PolicyApplied:
        ips = [firewall.check_address(p, "public address") for p in public_ips]
        async with self._lock:
            for p in ips:
                self.state.assignments.pop(p, None)
            return await self._commit()

    # -- what the instance network tells ------------------------------------------------------
    async def attached(self, instance_id: str, private_ip: str, groups: list[str]) -> None:
        """``instance_id`` is on the network at ``private_ip`` as a member of ``groups``
        (in order; the same call again is a no-op)."""
        member = (firewall.check_address(private_ip, "private address"),
                  tuple(dict.fromkeys(firewall.check_group_id(g) for g in groups)))
        async with self._lock:
            if self.state.members.get(instance_id) == member:
                return
            self.state.members[instance_id] = member
            await self._commit()

    async def detached(self, instance_id: str) -> None:
        """``instance_id`` left the network: its chains, set entries and NAT go."""
        async with self._lock:
            if self.state.members.pop(instance_id, None) is not None:
                await self._commit()

    def public_address_of(self, instance_id: str) -> str:
        """The instance's public address as now mapped ("" when none), for the metadata service."""
        return self.state.public_of().get(instance_id, "")

    def health(self) -> dict[str, Any]:
        return {"groups": len(self.state.groups), "public_ips": len(self.state.assignments),
                "members": len(self.state.members),
                "enforced": self.running, "interface": self.public.name}

    # -- internal API ---------------------------------------------------------------------------
    def add_routes(self, routes) -> None:
        """Serve the cloud controller's pushes on a component's ``RpcRoutes``."""
        async def put_groups(msg: SecurityGroups, _caller: str) -> PolicyApplied:
            return await self.put_groups(msg.groups, msg.complete)

        async def delete_groups(msg: GroupIds, _caller: str) -> PolicyApplied:
            return await self.delete_groups(msg.group_ids)

        async def put_addresses(msg: PublicAddresses, _caller: str) -> PolicyApplied:
            return await self.put_addresses([(a.public_ip, a.instance_id)
                                             for a in msg.assignments], msg.complete)

        async def delete_addresses(msg: PublicIps, _caller: str) -> PolicyApplied:
            return await self.delete_addresses(msg.public_ips)

        routes.add("POST", "cluster/network/groups/put", put_groups, SecurityGroups,
                   callers=CALLERS)
        routes.add("POST", "cluster/network/groups/delete", delete_groups, GroupIds,
                   callers=CALLERS)
        routes.add("POST", "cluster/network/addresses/put", put_addresses, PublicAddresses,
                   callers=CALLERS)
        routes.add("POST", "cluster/network/addresses/delete", delete_addresses, PublicIps,
                   callers=CALLERS)

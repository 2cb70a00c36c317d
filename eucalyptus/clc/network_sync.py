"""The cloud controller's push of security groups and public addresses to the cluster.

The database of the CLC owns this state; the cluster controller enforces it
(``eucalyptus.cc.vnet.policy_messages``). Two paths keep them equal:

- at once: a handler that changes a group or an address calls
  ``changed(session, component, groups=..., deleted_groups=..., addresses=...)``. The note is
  kept on the session and handed to the component's :class:`NetworkSync` only when the session
  COMMITS (a rolled-back request pushes nothing); the sync's worker then reads the committed
  rows and sends ``groups/put`` (the changed groups), ``groups/delete``, ``addresses/put``
  (the changed addresses as they are now) and ``addresses/delete`` (released ones).
- periodically: every ``interval`` seconds (and soon after a failed push) it sends every group
  and every address with ``complete=True``, so the two converge after any failure or restart.

A push that fails is logged, never an API error. In the STATIC and SYSTEM modes nothing is
pushed: the cluster has no security groups or public addresses there. Each second the sync
also keeps addresses in step with instance states (``addresses.reap``).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import event, select

from eucalyptus.cc.vnet.policy_messages import (GroupIds, GroupSpec, PublicAddresses,
                                                PublicAssignment, PublicIps, RuleSpec,
                                                SecurityGroups)
from eucalyptus.clc.instance_sync import cluster_call
from eucalyptus.db.network import PublicAddress, SecurityGroup, SecurityGroupRule
from eucalyptus.errors import ServiceError

log = logging.getLogger("eucalyptus.clc.network")
MANAGED_MODES = ("MANAGED", "MANAGED-NOVLAN")
_KEY = "network_changes"


@dataclass
class Changes:
    """What changed: group ids (created or modified), deleted group ids, public addresses."""
    groups: set[str] = field(default_factory=set)
    deleted_groups: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)

    def merge(self, other: "Changes") -> None:
        self.groups |= other.groups
        self.groups -= other.deleted_groups
        self.deleted_groups |= other.deleted_groups
        self.deleted_groups -= other.groups
        self.addresses |= other.addresses

    def __bool__(self) -> bool:
        return bool(self.groups or self.deleted_groups or self.addresses)


def changed(session, component, groups=(), deleted_groups=(), addresses=()) -> None:
    """Note changes to push once ``session`` commits (see the module docstring)."""
    note = Changes(set(groups), set(deleted_groups), set(addresses))
    pending = session.info.get(_KEY)
    if pending is None:
        session.info[_KEY] = pending = Changes()
        session.info[_KEY + ".component"] = component
        if not session.info.get(_KEY + ".listening"):
            session.info[_KEY + ".listening"] = True
            event.listen(session, "after_commit", _after_commit)
            event.listen(session, "after_rollback", _after_rollback)
    pending.merge(note)


def _after_commit(session) -> None:
    pending = session.info.pop(_KEY, None)
    component = session.info.pop(_KEY + ".component", None)
    sync = getattr(component, "network_sync", None)
    if pending and sync is not None:
        sync.notify(pending)


def _after_rollback(session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_KEY + ".component", None)


# -- what the cluster is sent -------------------------------------------------------------------

def _rule_specs(rows: list[SecurityGroupRule]) -> list[RuleSpec]:
    merged: dict[tuple, RuleSpec] = {}
    for r in rows:
        spec = merged.setdefault((r.protocol, r.from_port, r.to_port),
                                 RuleSpec(r.protocol, r.from_port, r.to_port))
        if r.source_group_id:
            spec.groups.append(r.source_group_id)
        else:
            spec.cidrs.append(r.cidr)
    return list(merged.values())


def group_specs(session, group_ids: set[str] | None = None) -> list[GroupSpec]:
    """The groups (all, or those of ``group_ids`` that exist) as the cluster enforces them."""
    query = select(SecurityGroup)
    rules = select(SecurityGroupRule)
    if group_ids is not None:
        if not group_ids:
            return []
        query = query.where(SecurityGroup.id.in_(group_ids))
        rules = rules.where(SecurityGroupRule.group_id.in_(group_ids))
    by_group: dict[str, list[SecurityGroupRule]] = {}
    for r in session.scalars(rules.order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)):
        by_group.setdefault(r.group_id, []).append(r)
    out = []
    for g in session.scalars(query.order_by(SecurityGroup.id)):
        rows = by_group.get(g.id, [])
        out.append(GroupSpec(g.id, g.account_id, g.name,
                             _rule_specs([r for r in rows if not r.is_egress]),
                             _rule_specs([r for r in rows if r.is_egress])))
    return out


def assignments(session, public_ips: set[str] | None = None) -> list[PublicAssignment]:
    query = select(PublicAddress).order_by(PublicAddress.public_ip)
    if public_ips is not None:
        if not public_ips:
            return []
        query = query.where(PublicAddress.public_ip.in_(public_ips))
    return [PublicAssignment(a.public_ip, a.instance_id or "") for a in session.scalars(query)]


@dataclass
class Push:
    """One round of calls to the cluster (empty parts are not sent)."""
    groups: SecurityGroups
    deleted_groups: GroupIds
    addresses: PublicAddresses
    released: PublicIps

    def calls(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        if self.groups.groups or self.groups.complete:
            out.append(("cluster/network/groups/put", self.groups))
        if self.deleted_groups.group_ids:
            out.append(("cluster/network/groups/delete", self.deleted_groups))
        if self.released.public_ips:        # first, so no instance holds two at once
            out.append(("cluster/network/addresses/delete", self.released))
        if self.addresses.assignments or self.addresses.complete:
            out.append(("cluster/network/addresses/put", self.addresses))
        return out


def push_for(session, changes: Changes | None) -> Push:
    """What to send for ``changes`` (None: everything, complete)."""
    if changes is None:
        return Push(SecurityGroups(group_specs(session), complete=True), GroupIds(),
                    PublicAddresses(assignments(session), complete=True), PublicIps())
    specs = group_specs(session, set(changes.groups))
    gone = (changes.groups - {s.group_id for s in specs}) | changes.deleted_groups
    held = assignments(session, set(changes.addresses))
    released = changes.addresses - {a.public_ip for a in held}
    return Push(SecurityGroups(specs), GroupIds(sorted(gone)), PublicAddresses(held),
                PublicIps(sorted(released)))


# -- the worker ---------------------------------------------------------------------------------

class NetworkSync:
    """Runs in the CLC's event loop: ``notify`` (thread-safe) queues changes; ``run_forever``
    pushes them, reaps addresses each second and re-sends everything every ``interval``."""

    def __init__(self, component, interval: float = 10.0, reap_interval: float = 1.0,
                 retry: float = 2.0):
        self.component = component
        self.interval = interval
        self.reap_interval = reap_interval
        self.retry = retry
        self.pending = Changes()
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.next_complete = 0.0
        self.pushes = 0                       # rounds sent without error (for health/tests)

    @property
    def managed(self) -> bool:
        return self.component.settings.vnet_mode in MANAGED_MODES

    def notify(self, changes: Changes) -> None:
        def add() -> None:
            self.pending.merge(changes)
            self.wake.set()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            add()
        else:
            self.loop.call_soon_threadsafe(add)

    async def send(self, push: Push) -> bool:
        """Make the calls of ``push`` to every zone's cluster (security groups are the
        region's; a cluster maps only the addresses of its own instances); False (logged)
        when one fails."""
        from eucalyptus.clc import clusters
        every = await asyncio.to_thread(clusters.all, self.component)
        for name, msg in push.calls():
            for cluster in every:
                try:
                    await cluster_call(self.component, name, msg, None, timeout=10,
                                       zone=cluster.zone)
                except (ServiceError, OSError, asyncio.TimeoutError) as exc:
                    text = getattr(exc, "message", "") or repr(exc)
                    log.warning("network push %s to %s failed: %s", name, cluster.zone, text)
                    return False
        self.pushes += 1
        return True

    async def push_changes(self, changes: Changes | None) -> bool:
        def read() -> Push:
            with self.component.db.session() as s:
                return push_for(s, changes)
        return await self.send(await asyncio.to_thread(read))

    async def reap(self) -> None:
        """``addresses.reap`` in the event loop itself, as the API handlers run, so that it
        never picks a pool address at the same time as a request does."""
        from eucalyptus.services.ec2 import addresses
        with self.component.db.session() as s:
            addresses.reap(s, self.component.settings, self.component)

    async def once(self) -> None:
        await self.reap()
        if not self.managed:
            self.pending = Changes()
            return
        if self.pending:
            changes, self.pending = self.pending, Changes()
            if not await self.push_changes(changes):
                self.next_complete = min(self.next_complete, time.monotonic() + self.retry)
        if time.monotonic() >= self.next_complete:
            ok = await self.push_changes(None)
            self.next_complete = time.monotonic() + (self.interval if ok else self.retry)

    async def run_forever(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self.once()
            except Exception:
                log.exception("network sync failed")
            if self.pending:
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), self.reap_interval)
            except asyncio.TimeoutError:
                pass

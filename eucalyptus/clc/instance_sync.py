"""The cloud controller's instance records kept in step with what the cluster reports.

``cluster_call(component, name, msg, reply)`` is how EC2 handlers reach the zone's cluster
controller. ``InstanceSync.run_forever`` asks the cluster every ``interval`` seconds for the
instances it knows and applies ``reconcile`` to the database:

- a reported state becomes the record's state (with the node's reason as StateReason);
  "stopped" from a node means the guest powered itself off: an instance-store instance then
  terminates, as EC2 does, with reason Client.InstanceInitiatedShutdown;
- an instance whose node does not answer keeps its state, gains the StateReason
  ``Server.InternalError`` after ``grace`` seconds, and is terminated when no cluster has
  reported it for ``cloud.vmstate.instance_timeout`` minutes;
- terminated records go after ``cloud.vmstate.terminated_time`` minutes, with their tags.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import delete, select

from eucalyptus.cc.instance_messages import InstanceIds, InstanceView, InstanceViews
from eucalyptus.clc import properties
from eucalyptus.db.compute import Instance
from eucalyptus.db.schema import utcnow
from eucalyptus.errors import ServiceError
from eucalyptus.rpc.client import RpcClient
from eucalyptus.rpc.keys import load_private

log = logging.getLogger("eucalyptus.clc.instances")
LIVE = ("pending", "running", "stopping", "stopped", "shutting-down")
UNREACHABLE = "Server.InternalError: the instance's node does not answer"
GUEST_SHUTDOWN = "Client.InstanceInitiatedShutdown: Instance initiated shutdown"
USER_SHUTDOWN = "Client.UserInitiatedShutdown: User initiated shutdown"


async def cluster_call(component, name: str, msg=None, reply=None, timeout: float = 60.0):
    """Call the cluster controller's ``name`` route as the CLC."""
    clients = component.__dict__.setdefault("_cluster_clients", {})
    client = clients.get(timeout)
    if client is None:
        client = clients[timeout] = RpcClient(
            component.name, load_private(component.settings.data_dir, component.name),
            component.settings.url("cc"), timeout)
    return await client.call("POST", name, msg, reply=reply)


def _apply(row: Instance, view: InstanceView, now: dt.datetime, to_terminate: list[str],
           grace: float) -> None:
    if view.node_state != "up":
        silent = (now - row.reported_at).total_seconds()
        if silent > grace and row.state_reason != UNREACHABLE:
            row.state_reason = UNREACHABLE
        return
    row.reported_at = now
    state, reason = view.state, view.reason
    if row.state_reason == UNREACHABLE:
        row.state_reason = ""
    if state == "stopped":                   # the guest powered off: instance-store ends
        to_terminate.append(row.id)
        state, reason = "shutting-down", GUEST_SHUTDOWN
    if row.state == "shutting-down" and state in ("pending", "running"):
        return                               # the terminate is on its way
    if view.node and not row.node:
        row.node = view.node
    if state != row.state:
        row.state = state
        row.changed_at = now
        if state == "terminated":
            row.terminated_at = now
            if not row.transition_reason:
                row.transition_reason = f"User initiated ({now:%Y-%m-%d %H:%M:%S} GMT)"
    if reason and state in ("terminated", "shutting-down"):
        row.state_reason = reason


def reconcile(session, views: list[InstanceView], now: dt.datetime, grace: float,
              instance_timeout_s: float, terminated_time_s: float) -> list[str]:
    """Apply the cluster's views to the records (see the module docstring); the ids the
    cluster should terminate (guests that powered off)."""
    by_id = {v.instance_id: v for v in views}
    to_terminate: list[str] = []
    rows = session.scalars(select(Instance).where(Instance.state.in_(LIVE))).all()
    for row in rows:
        view = by_id.get(row.id)
        if view is not None:
            _apply(row, view, now, to_terminate, grace)
            continue
        silent = (now - row.reported_at).total_seconds()
        if silent > instance_timeout_s:
            row.state, row.changed_at, row.terminated_at = "terminated", now, now
            row.state_reason = ("Server.InternalError: no cluster has reported the instance "
                                f"for {int(silent)} s")
        elif silent > grace and row.state != "pending":
            row.state_reason = UNREACHABLE
    horizon = now - dt.timedelta(seconds=terminated_time_s)
    gone = session.scalars(select(Instance.id).where(
        Instance.state == "terminated", Instance.terminated_at <= horizon)).all()
    if gone:
        from eucalyptus.services.ec2 import tags
        session.execute(delete(Instance).where(Instance.id.in_(gone)))
        tags.forget(session, list(gone))
    return to_terminate


class InstanceSync:
    def __init__(self, component, interval: float = 1.0):
        self.component = component
        self.interval = interval
        settings = component.settings
        self.grace = max(3 * settings.nc_polling_frequency, 10)

    def _limits(self, session) -> tuple[float, float]:
        timeout = properties.value(session, "cloud.vmstate.instance_timeout",
                                   self.component.settings)
        kept = properties.value(session, "cloud.vmstate.terminated_time",
                                self.component.settings)
        return timeout * 60.0, kept * 60.0

    async def once(self) -> None:
        try:
            views = await cluster_call(self.component, "cluster/instances/describe",
                                       InstanceIds(), InstanceViews, timeout=10)
            listed = views.instances
        except ServiceError as exc:
            log.info("cluster unreachable: %s", exc.message)
            listed = None

        def write() -> list[str]:
            with self.component.db.session() as s:
                timeout, kept = self._limits(s)
                if listed is None:
                    # no answer at all: every live instance counts as unreported
                    return reconcile(s, [], utcnow(), self.grace, timeout, kept)
                return reconcile(s, listed, utcnow(), self.grace, timeout, kept)
        doomed = await asyncio.to_thread(write)
        if doomed:
            await cluster_call(self.component, "cluster/instances/terminate",
                               InstanceIds(doomed), InstanceViews)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:
                log.exception("instance sync failed")
            await asyncio.sleep(self.interval)

"""The cloud controller's instance records kept in step with what the cluster reports.

``cluster_call(component, name, msg, reply, zone=...)`` is how EC2 handlers reach a zone's
cluster controller (``clc.clusters``). ``InstanceSync.run_forever`` asks every cluster each
``interval`` seconds for the instances it knows and applies ``reconcile`` to the records of
that cluster's zone:

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
from eucalyptus.clc import clusters, properties
from eucalyptus.db.compute import Instance
from eucalyptus.db.schema import utcnow
from eucalyptus.errors import ServiceError

log = logging.getLogger("eucalyptus.clc.instances")
LIVE = ("pending", "running", "stopping", "stopped", "shutting-down")
UNREACHABLE = "Server.InternalError: the instance's node does not answer"
GUEST_SHUTDOWN = "Client.InstanceInitiatedShutdown: Instance initiated shutdown"
USER_SHUTDOWN = "Client.UserInitiatedShutdown: User initiated shutdown"


async def cluster_call(component, name: str, msg=None, reply=None, timeout: float = 60.0,
                       zone: str | None = None):
    """Call the ``name`` route of the cluster controller of ``zone`` as the CLC (None, or a
    zone no longer registered: the home cluster; see ``clc.clusters.route``)."""
    target = clusters.route(component, zone)
    return await clusters.client(component, target.cc_url, timeout).call(
        "POST", name, msg, reply=reply)


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
    if view.private_ip and not row.private_ip:      # learned later (SYSTEM network mode)
        row.private_ip = view.private_ip
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
              instance_timeout_s: float, terminated_time_s: float, where=None) -> list[str]:
    """Apply the cluster's views to the records (see the module docstring); the ids the
    cluster should terminate (guests that powered off). ``where`` (an SQL condition, e.g.
    ``clusters.zone_clause``) limits the records to those of the cluster that answered."""
    by_id = {v.instance_id: v for v in views}
    to_terminate: list[str] = []
    query = select(Instance).where(Instance.state.in_(LIVE))
    if where is not None:
        query = query.where(where)
    rows = session.scalars(query).all()
    from eucalyptus.services.ec2.ebs_instances import reconcile_view
    for row in rows:
        view = by_id.get(row.id)
        if reconcile_view(session, row, view, now):     # EBS-backed stop and start
            continue
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

    async def _ask(self, cluster) -> list[InstanceView] | None:
        try:
            views = await clusters.client(self.component, cluster.cc_url, 10).call(
                "POST", "cluster/instances/describe", InstanceIds(), reply=InstanceViews)
            return views.instances
        except ServiceError as exc:
            log.info("cluster of %s unreachable: %s", cluster.zone, exc.message)
            return None

    async def once(self) -> None:
        """Ask every cluster (concurrently) and reconcile each one's records with its answer;
        a cluster that does not answer leaves its records unreported."""
        every = await asyncio.to_thread(clusters.all, self.component)
        answers = await asyncio.gather(*(self._ask(c) for c in every))

        def write() -> dict[str, list[str]]:
            doomed: dict[str, list[str]] = {}
            with self.component.db.session() as s:
                timeout, kept = self._limits(s)
                for cluster, listed in zip(every, answers):
                    # no answer at all: every live instance counts as unreported
                    doomed[cluster.zone] = reconcile(
                        s, listed or [], utcnow(), self.grace, timeout, kept,
                        where=clusters.zone_clause(Instance.zone, cluster, every))
            return doomed
        for zone, ids in (await asyncio.to_thread(write)).items():
            if not ids:
                continue
            try:
                await cluster_call(self.component, "cluster/instances/terminate",
                                   InstanceIds(ids), InstanceViews, zone=zone)
            except ServiceError as exc:
                log.warning("terminating %s in %s: %s", ids, zone, exc.message)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:
                log.exception("instance sync failed")
            await asyncio.sleep(self.interval)

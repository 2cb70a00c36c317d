"""The cloud controller's cluster registry: which availability zones exist and who serves them.

A cluster is one availability zone with its cluster controller (CC) and storage controller
(SC). The *home* cluster comes from the CLC's own settings (ZONE, CC_HOST/CC_PORT,
SC_HOST/SC_PORT), so cloud-in-a-box has exactly one zone and needs no registration. Every
other cluster is registered by the administrator (``eucalyptus register-cluster``) and kept in
the ``clusters`` table (``eucalyptus.db.clusters``).

    clusters.all(component)          -> [Cluster(zone, cc_url, sc_url, home)], home first
    clusters.of_zone(component, z)   -> Cluster; InvalidZone.NotFound for a zone nobody serves
    clusters.zones(component)        -> ["eucalyptus-1a", ...]
    clusters.route(component, z)     -> Cluster for a call about a resource of zone ``z``:
                                        None or a zone no longer registered go to the home one
    clusters.client(component, url, timeout) -> the CLC's signed RpcClient, reused

The registry is read from the database at most every ``CACHE_SECONDS`` (and at once after a
change made through this process), so per-request routing costs no query. A component without
a database (test doubles) has the home cluster only.

Instances and volumes record their zone; every call about one goes to its zone's cluster
(``route``). The background syncs ask every cluster, and treat records of a zone that is not
registered (any more) as the home cluster's (``zone_clause``).
"""
from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from eucalyptus.clc.cluster_messages import ClusterState, ClusterStates
from eucalyptus.db.clusters import ClusterRecord
from eucalyptus.errors import ClientError, InvalidParameterValue, ServiceError

CACHE_SECONDS = 2.0
ZONE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_CACHE = "_cluster_registry"
_CLIENTS = "_cluster_registry_clients"


@dataclass(frozen=True)
class Cluster:
    zone: str
    cc_url: str
    sc_url: str
    home: bool = False


def zone_not_found(zone: str) -> ClientError:
    return ClientError("InvalidZone.NotFound", f"The zone '{zone}' does not exist.")


def home(component) -> Cluster:
    """The cluster of the component's own settings (URLs empty for settings without any)."""
    settings = component.settings
    url = getattr(settings, "url", None)
    return Cluster(settings.zone, url("cc") if url else "", url("sc") if url else "",
                   home=True)


def _registered(component) -> list[Cluster]:
    db = getattr(component, "db", None)
    if db is None:
        return []
    cached = component.__dict__.get(_CACHE)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    with db.session() as s:
        rows = s.scalars(select(ClusterRecord).order_by(ClusterRecord.zone)).all()
        found = [Cluster(r.zone, r.cc_url, r.sc_url) for r in rows]
    component.__dict__[_CACHE] = (now, found)
    return found


def invalidate(component) -> None:
    """Forget the cached registry (the next lookup reads the database)."""
    component.__dict__.pop(_CACHE, None)


def all(component) -> list[Cluster]:  # noqa: A001 - the registry's own vocabulary
    """Every cluster: the home one first, then the registered ones by zone name."""
    first = home(component)
    return [first] + [c for c in _registered(component) if c.zone != first.zone]


def zones(component) -> list[str]:
    return [c.zone for c in all(component)]


def of_zone(component, zone: str | None) -> Cluster:
    """The cluster serving ``zone`` (None: the home one); InvalidZone.NotFound otherwise."""
    first = home(component)
    if zone is None or zone == first.zone:
        return first
    for c in _registered(component):
        if c.zone == zone:
            return c
    raise zone_not_found(zone)


def route(component, zone: str | None) -> Cluster:
    """Where a call about a resource of ``zone`` goes: its cluster, or the home one when
    ``zone`` is None or no longer registered (records made before a zone was renamed)."""
    try:
        return of_zone(component, zone)
    except ClientError:
        return home(component)


def zone_clause(column: Any, cluster: Cluster, every: list[Cluster]) -> Any:
    """SQL condition on a zone ``column`` selecting the records ``cluster`` answers for: its
    own zone; for the home cluster also every zone not registered."""
    if not cluster.home:
        return column == cluster.zone
    return column.not_in([c.zone for c in every if not c.home] or [""])


def group_by_zone(rows) -> dict[str, list[str]]:
    """``{zone: [id, ...]}`` of records carrying ``zone`` and ``id``, in their order."""
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row.zone, []).append(row.id)
    return out


def client(component, base_url: str, timeout: float):
    """The CLC's signed client to ``base_url`` with ``timeout``, made once and reused."""
    from eucalyptus.rpc.client import RpcClient
    from eucalyptus.rpc.keys import load_private
    clients = component.__dict__.setdefault(_CLIENTS, {})
    found = clients.get((base_url, timeout))
    if found is None:
        found = clients[(base_url, timeout)] = RpcClient(
            component.name, load_private(component.settings.data_dir, component.name),
            base_url, timeout)
    return found


async def close_clients(component) -> None:
    for c in component.__dict__.pop(_CLIENTS, {}).values():
        await c.close()


# -- changes (the admin's internal API) -----------------------------------------------------

def check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise InvalidParameterValue(f"The {what} URL '{url}' is not http://HOST:PORT")
    try:
        parts.port
    except ValueError:
        raise InvalidParameterValue(f"The {what} URL '{url}' has a bad port") from None
    return url.rstrip("/")


def check_new(component, zone: str, cc_url: str, sc_url: str) -> tuple[str, str]:
    """Validate a registration; the normalised URLs."""
    if not isinstance(zone, str) or not ZONE_NAME.fullmatch(zone):
        raise InvalidParameterValue(f"Invalid availability zone name: [{zone}]: lower-case "
                                    "letters, digits and dashes")
    invalidate(component)
    if zone in zones(component):
        raise InvalidParameterValue(f"The availability zone {zone} is already registered")
    return check_url(cc_url, "cluster controller"), check_url(sc_url, "storage controller")


def store(component, zone: str, cc_url: str, sc_url: str) -> None:
    from sqlalchemy.exc import IntegrityError
    try:
        with component.db.session() as s:
            s.add(ClusterRecord(zone=zone, cc_url=cc_url, sc_url=sc_url))
    except IntegrityError:
        raise InvalidParameterValue(f"The availability zone {zone} is already registered") \
            from None
    finally:
        invalidate(component)


def forget(component, zone: str) -> None:
    if zone == component.settings.zone:
        raise InvalidParameterValue(f"The availability zone {zone} is this cloud controller's "
                                    "own (ZONE) and cannot be deregistered")
    with component.db.session() as s:
        row = s.get(ClusterRecord, zone)
        if row is None:
            raise zone_not_found(zone)
        s.delete(row)
    invalidate(component)


async def cluster_answer(component, cluster: Cluster, timeout: float = 5.0):
    """The cluster controller's ``cluster/resources`` answer; ServiceError when it fails."""
    from eucalyptus.rpc.messages import ClusterResources
    return await client(component, cluster.cc_url, timeout).call(
        "POST", "cluster/resources", reply=ClusterResources)


async def states(component) -> ClusterStates:
    """Every cluster with its state and nodes up, asked concurrently."""
    every = await asyncio.to_thread(all, component)

    async def one(c: Cluster) -> ClusterState:
        state = ClusterState(c.zone, c.cc_url, c.sc_url, c.home, "unavailable", 0)
        try:
            got = await cluster_answer(component, c)
        except ServiceError:
            return state
        state.state = "available"
        state.nodes_up = sum(1 for n in got.nodes if n.state == "up")
        return state
    return ClusterStates(list(await asyncio.gather(*(one(c) for c in every))))


async def _verify(component, candidate: Cluster) -> None:
    """The candidate's CC must answer for its zone and its SC must answer at all."""
    from eucalyptus.errors import ServiceUnavailable
    from eucalyptus.sc.messages import StorageCapacity
    try:
        got = await cluster_answer(component, candidate)
    except ServiceError as exc:
        raise ServiceUnavailable(f"The cluster controller at {candidate.cc_url} does not "
                                 f"answer: {exc.message}") from None
    if got.zone != candidate.zone:
        raise InvalidParameterValue(f"The cluster controller at {candidate.cc_url} serves "
                                    f"zone {got.zone}, not {candidate.zone}")
    try:
        await client(component, candidate.sc_url, 10.0).call(
            "POST", "sc/capacity", reply=StorageCapacity)
    except ServiceError as exc:
        raise ServiceUnavailable(f"The storage controller at {candidate.sc_url} does not "
                                 f"answer: {exc.message}") from None


def add_routes(component) -> None:
    """Serve the registry's internal API (``cluster_messages``) to the admin command."""
    from eucalyptus.clc.cluster_messages import ClusterSpec, ZoneRef

    async def describe(_msg: None, _caller: str) -> ClusterStates:
        return await states(component)

    async def register(msg: ClusterSpec, _caller: str) -> ClusterStates:
        cc_url, sc_url = await asyncio.to_thread(check_new, component, msg.zone, msg.cc_url,
                                                 msg.sc_url)
        await _verify(component, Cluster(msg.zone, cc_url, sc_url))
        await asyncio.to_thread(store, component, msg.zone, cc_url, sc_url)
        return await states(component)

    async def deregister(msg: ZoneRef, _caller: str) -> ClusterStates:
        await asyncio.to_thread(forget, component, msg.zone)
        return await states(component)

    add = component.routes.add
    add("POST", "clusters/describe", describe, callers={"admin"})
    add("POST", "clusters/register", register, ClusterSpec, callers={"admin"})
    add("POST", "clusters/deregister", deregister, ZoneRef, callers={"admin"})


def zone_of_instance(component, instance_id: str) -> str | None:
    """The zone recorded for an instance (None when its record is gone)."""
    from eucalyptus.db.compute import Instance
    with component.db.session() as s:
        return s.scalar(select(Instance.zone).where(Instance.id == instance_id))

"""DescribeAvailabilityZones: one zone per cluster, and Eucalyptus' ``verbose`` capacity view.

Zones come from the Cloud Controller's ``cluster_resources()`` (one dict per cluster: zone,
state, cc_url and its nodes' total and free cores, memory and disk). Asking for the zone name
``verbose`` (alone, or among other names) adds after each zone the lines euca-describe-
availability-zones prints: a header, then for each enabled instance type how many more
instances fit (free) and fit at most (max), with the type's vCPUs, MiB and GiB.
"""
from __future__ import annotations

import hashlib

from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws.dispatch import operation
from eucalyptus.errors import InvalidParameterValue
from eucalyptus.services.ec2.instance_types import enabled_types
from eucalyptus.services.ec2.regions import region_name

VERBOSE = "verbose"
ZONE_TYPE = "availability-zone"
VERBOSE_HEADER = ("|- vm types", "free / max   cpu   ram  disk")

ZONE_FILTERS: filter_engine.FilterTable = {
    "group-long-name": "GroupLongName",
    "group-name": "GroupName",
    "message": "Messages.Message",
    "opt-in-status": "OptInStatus",
    "parent-zone-id": "ParentZoneId",
    "parent-zone-name": "ParentZoneName",
    "region-name": "RegionName",
    "state": "State",
    "zone-id": "ZoneId",
    "zone-name": "ZoneName",
    "zone-type": "ZoneType",
}


def zone_id(region: str, zone: str) -> str:
    """A stable id for a zone, distinct from its name (AWS's ZoneId, e.g. ``use1-az1``)."""
    return f"{region}-az-{hashlib.sha256(zone.encode()).hexdigest()[:8]}"


def fits(node: dict, vcpus: int, memory_mib: int, disk_gib: int, which: str) -> int:
    """How many instances of a size fit on one node, by its ``which`` ("total"/"free") figures."""
    counts = []
    for have, need in ((node.get(f"cores_{which}", 0), vcpus),
                       (node.get(f"memory_{which}_mib", 0), memory_mib),
                       (node.get(f"disk_{which}_gib", 0), disk_gib)):
        if need > 0:
            counts.append(max(int(have), 0) // need)
    return min(counts) if counts else 0


def capacity_line(nodes: list[dict], vcpus: int, memory_mib: int, disk_gib: int) -> str:
    """Eucalyptus' ``free / max   cpu   ram  disk`` figures for one instance type."""
    free = sum(fits(n, vcpus, memory_mib, disk_gib, "free") for n in nodes)
    most = sum(fits(n, vcpus, memory_mib, disk_gib, "total") for n in nodes)
    return f"{free:04d} / {most:04d}{vcpus:4d}{memory_mib:7d}{disk_gib:6d}"


def _zone(region: str, cluster: dict) -> dict:
    name = cluster["zone"]
    state = "available" if cluster.get("state") == "available" else "unavailable"
    return {"ZoneName": name, "ZoneId": zone_id(region, name), "State": state,
            "RegionName": region, "ZoneType": ZONE_TYPE, "GroupName": region,
            "NetworkBorderGroup": region, "OptInStatus": "opt-in-not-required",
            "Messages": []}


@operation
async def describe_availability_zones(ctx, zone_names: list[str] | None = None,
                                      zone_ids: list[str] | None = None,
                                      filters: list[dict] | None = None,
                                      all_availability_zones: bool | None = None, **_) -> dict:
    """DescribeAvailabilityZones: the zones named in ZoneNames or ZoneIds (all if neither),
    filtered; unknown names or ids are InvalidParameterValue."""
    filter_engine.validate(filters, ZONE_FILTERS)
    region = region_name(ctx)
    clusters = sorted(await ctx.component.cluster_resources(), key=lambda c: c["zone"])
    zones = [_zone(region, c) for c in clusters]
    names = [n for n in zone_names or [] if n != VERBOSE]
    verbose = VERBOSE in (zone_names or [])
    known_names = {z["ZoneName"] for z in zones}
    known_ids = {z["ZoneId"] for z in zones}
    for name in names:
        if name not in known_names:
            raise InvalidParameterValue(f"The zone '{name}' does not exist.")
    for zid in zone_ids or []:
        if zid not in known_ids:
            raise InvalidParameterValue(f"The zone ID '{zid}' does not exist.")
    if names or zone_ids:   # the zones named either way
        zones = [z for z in zones if z["ZoneName"] in names or z["ZoneId"] in (zone_ids or [])]
    zones = filter_engine.apply(zones, filters, ZONE_FILTERS)
    if not verbose:
        return {"AvailabilityZones": zones}
    nodes_by_zone = {c["zone"]: c.get("nodes") or [] for c in clusters}
    types = enabled_types(ctx.db)
    out = []
    for zone in zones:
        out.append(zone)
        out.append({"ZoneName": VERBOSE_HEADER[0], "State": VERBOSE_HEADER[1]})
        nodes = nodes_by_zone[zone["ZoneName"]]
        for t in types:
            out.append({"ZoneName": f"|- {t.name}",
                        "State": capacity_line(nodes, t.vcpus, t.memory_mib, t.disk_gib)})
    return {"AvailabilityZones": out}

"""DescribeInstances and DescribeInstanceStatus, and the shapes of instances in EC2 output.

Instances are read from the cloud controller's records (kept current by
``clc.instance_sync``), one account at a time. DescribeInstances filters instances (the AWS
filters in ``INSTANCE_FILTERS``, tags included), groups them by reservation and pages by
reservation (MaxResults 5..1000 with NextToken; not together with InstanceIds).
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws import pagination
from eucalyptus.aws.dispatch import operation
from eucalyptus.db.compute import Instance, Reservation
from eucalyptus.errors import InvalidParameterCombination

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}


def state_of(name: str) -> dict:
    return {"Code": STATE_CODES.get(name, 0), "Name": name}


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _iso(value: dt.datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _reason(text: str) -> dict | None:
    if not text:
        return None
    code, _, message = text.partition(": ")
    return {"Code": code, "Message": text if message else code}


def instance_item(row: Instance, groups: list, tags: list[dict] | None = None,
                  public_ip: str = "") -> dict:
    """One instance in the Instance shape of EC2's output (``public_ip``: its public
    address, from ``addresses.public_ips_of``)."""
    item = {
        "InstanceId": row.id, "ImageId": row.image_id, "State": state_of(row.state),
        "PrivateDnsName": row.hostname, "PublicDnsName": "",
        "StateTransitionReason": row.transition_reason, "AmiLaunchIndex": row.launch_index,
        "ProductCodes": [], "InstanceType": row.instance_type,
        "LaunchTime": _utc(row.launched_at),
        "Placement": {"AvailabilityZone": row.zone, "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"}, "Architecture": row.architecture,
        "RootDeviceType": "instance-store", "RootDeviceName": row.root_device_name,
        "BlockDeviceMappings": [], "VirtualizationType": row.virtualization_type,
        "Hypervisor": "xen", "EbsOptimized": False,
        "SecurityGroups": [{"GroupId": gid, "GroupName": name} for gid, name in groups],
        "Tags": list(tags or []), "NetworkInterfaces": [],
    }
    for key, value in (("KernelId", row.kernel_id), ("RamdiskId", row.ramdisk_id),
                       ("KeyName", row.key_name), ("PrivateIpAddress", row.private_ip)):
        if value:
            item[key] = value
    if public_ip and row.state != "terminated":
        from eucalyptus.services.ec2.addresses import public_dns
        item["PublicIpAddress"], item["PublicDnsName"] = public_ip, public_dns(public_ip)
    reason = _reason(row.state_reason)
    if reason:
        item["StateReason"] = reason
    return item


def _groups(reservation: Reservation) -> list:
    return json.loads(reservation.security_groups or "[]")


def reservation_item(reservation: Reservation, rows: list[Instance],
                     tag_map: dict[str, list[dict]], public_ips: dict | None = None) -> dict:
    groups = _groups(reservation)
    public_ips = public_ips or {}
    return {"ReservationId": reservation.id, "OwnerId": reservation.account_id,
            "RequesterId": reservation.requester_id,
            "Groups": [{"GroupId": gid, "GroupName": name} for gid, name in groups],
            "Instances": [instance_item(r, groups, tag_map.get(r.id), public_ips.get(r.id, ""))
                          for r in rows]}


INSTANCE_FILTERS: filter_engine.FilterTable = {
    "affinity": lambda i: [],
    "architecture": "Architecture",
    "availability-zone": "Placement.AvailabilityZone",
    "client-token": lambda i: i["_ClientToken"],
    "dns-name": "PublicDnsName",
    "group-id": "SecurityGroups.GroupId",
    "group-name": "SecurityGroups.GroupName",
    "hypervisor": "Hypervisor",
    "image-id": "ImageId",
    "instance-id": "InstanceId",
    "instance-lifecycle": lambda i: [],
    "instance-state-code": "State.Code",
    "instance-state-name": "State.Name",
    "instance-type": "InstanceType",
    "instance.group-id": "SecurityGroups.GroupId",
    "instance.group-name": "SecurityGroups.GroupName",
    "ip-address": "PublicIpAddress",
    "kernel-id": "KernelId",
    "key-name": "KeyName",
    "launch-index": "AmiLaunchIndex",
    "launch-time": lambda i: _iso(i["LaunchTime"]),
    "monitoring-state": "Monitoring.State",
    "owner-id": lambda i: i["_OwnerId"],
    "placement-group-name": "Placement.GroupName",
    "platform": "Platform",
    "private-dns-name": "PrivateDnsName",
    "private-ip-address": "PrivateIpAddress",
    "product-code": "ProductCodes.ProductCodeId",
    "ramdisk-id": "RamdiskId",
    "reason": "StateTransitionReason",
    "requester-id": lambda i: i["_RequesterId"],
    "reservation-id": lambda i: i["_ReservationId"],
    "root-device-name": "RootDeviceName",
    "root-device-type": "RootDeviceType",
    "state-reason-code": "StateReason.Code",
    "state-reason-message": "StateReason.Message",
    "tenancy": "Placement.Tenancy",
    "virtualization-type": "VirtualizationType",
    **filter_engine.TAG_FILTERS,
}


def _account_rows(ctx, instance_ids: list[str] | None):
    from eucalyptus.services.ec2.instances import owned_instances
    if instance_ids:
        rows = owned_instances(ctx.db, ctx.account_id, instance_ids)
    else:
        rows = ctx.db.scalars(select(Instance).where(
            Instance.account_id == ctx.account_id)).all()
    reservations = {r.id: r for r in ctx.db.scalars(select(Reservation).where(
        Reservation.id.in_({row.reservation_id for row in rows})))} if rows else {}
    return rows, reservations


@operation
def describe_instances(ctx, instance_ids: list[str] | None = None,
                       filters: list[dict] | None = None, max_results: int | None = None,
                       next_token: str | None = None, **_) -> dict:
    """DescribeInstances (see the module docstring)."""
    from eucalyptus.services.ec2 import tags
    filter_engine.validate(filters, INSTANCE_FILTERS)
    if instance_ids and max_results is not None:
        raise InvalidParameterCombination("The parameter instancesSet cannot be used with the "
                                          "parameter maxResults")
    rows, reservations = _account_rows(ctx, instance_ids)
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.id for r in rows])
    from eucalyptus.services.ec2.addresses import public_ips_of
    public_ips = public_ips_of(ctx.db, [r.id for r in rows])
    items = []
    for row in rows:
        res = reservations[row.reservation_id]
        item = instance_item(row, _groups(res), tag_map.get(row.id), public_ips.get(row.id, ""))
        item.update(_ReservationId=res.id, _OwnerId=res.account_id,
                    _RequesterId=res.requester_id, _ClientToken=res.client_token or "")
        items.append(item)
    from eucalyptus.services.ec2.ebs_instances import decorate
    decorate(ctx.db, items)
    items = filter_engine.apply(items, filters, INSTANCE_FILTERS)
    grouped: dict[str, list[dict]] = {}
    for item in items:
        grouped.setdefault(item["_ReservationId"], []).append(item)
    out = []
    for rid, members in grouped.items():
        res = reservations[rid]
        for m in members:
            if res.client_token:
                m["ClientToken"] = res.client_token
            for k in ("_ReservationId", "_OwnerId", "_RequesterId", "_ClientToken"):
                del m[k]
        members.sort(key=lambda m: m["AmiLaunchIndex"])
        groups = _groups(res)
        out.append({"ReservationId": rid, "OwnerId": res.account_id,
                    "RequesterId": res.requester_id,
                    "Groups": [{"GroupId": g, "GroupName": n} for g, n in groups],
                    "Instances": members})
    page = pagination.ec2_page(out, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda r: r["ReservationId"], scope="DescribeInstances")
    return page.ec2_output("Reservations")


STATUS_FILTERS: filter_engine.FilterTable = {
    "availability-zone": "AvailabilityZone",
    "instance-state-code": "InstanceState.Code",
    "instance-state-name": "InstanceState.Name",
    "instance-status.status": "InstanceStatus.Status",
    "instance-status.reachability": "InstanceStatus.Details.Status",
    "system-status.status": "SystemStatus.Status",
    "system-status.reachability": "SystemStatus.Details.Status",
    "event.code": "Events.Code",
}


def _status(row: Instance) -> tuple[str, str]:
    """(system, instance) status: impaired when the node does not answer, initializing for a
    young running instance, ok otherwise."""
    if row.state_reason.startswith("Server.InternalError"):
        return "impaired", "insufficient-data"
    if row.state != "running":
        return "not-applicable", "not-applicable"
    return "ok", "ok"


def _summary(status: str) -> dict:
    reach = {"ok": "passed", "impaired": "failed"}.get(status, "insufficient-data")
    details = [] if status == "not-applicable" else [{"Name": "reachability", "Status": reach}]
    return {"Status": status, "Details": details}


@operation
def describe_instance_status(ctx, instance_ids: list[str] | None = None,
                             filters: list[dict] | None = None,
                             include_all_instances: bool | None = None,
                             max_results: int | None = None, next_token: str | None = None,
                             **_) -> dict:
    """DescribeInstanceStatus: running instances (all live ones with IncludeAllInstances)
    with their system and instance status checks."""
    filter_engine.validate(filters, STATUS_FILTERS)
    if instance_ids and max_results is not None:
        raise InvalidParameterCombination("The parameter instancesSet cannot be used with the "
                                          "parameter maxResults")
    rows, _res = _account_rows(ctx, instance_ids)
    items = []
    for row in rows:
        if row.state == "terminated" or (row.state != "running" and not include_all_instances):
            continue
        system, instance = _status(row)
        items.append({"InstanceId": row.id, "AvailabilityZone": row.zone,
                      "InstanceState": state_of(row.state), "Events": [],
                      "SystemStatus": _summary(system), "InstanceStatus": _summary(instance)})
    items = filter_engine.apply(items, filters, STATUS_FILTERS)
    page = pagination.ec2_page(items, max_results, next_token, minimum=5, maximum=1000,
                               key=lambda i: i["InstanceId"], scope="DescribeInstanceStatus")
    return page.ec2_output("InstanceStatuses")

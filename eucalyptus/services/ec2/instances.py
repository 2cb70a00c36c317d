"""Instances: RunInstances, TerminateInstances, RebootInstances, Stop/StartInstances,
GetConsoleOutput. DescribeInstances and DescribeInstanceStatus are in ``instance_status``,
the attribute calls in ``instance_attributes``.

RunInstances checks everything it can before anything starts (image visible and available,
kernel/ramdisk overrides, instance type, key pair, user-data, zone, security groups, the
account's ``cloud.compute.max_instances``), then asks the zone's cluster to place between
MinCount and MaxCount instances (all or nothing by MinCount: InsufficientInstanceCapacity
when fewer fit) and records the ones placed, pending. A ClientToken seen before in the
account returns that reservation again and launches nothing. The cluster then boots them in
the background and ``clc.instance_sync`` carries their states into the records.

Instances of EBS-backed images boot from volumes made at launch and may stop and start
again (``ebs_instances``); Stop/StartInstances of instance-store ones are
IncorrectInstanceState.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import re

from sqlalchemy import func, select

from eucalyptus import ids
from eucalyptus.aws.dispatch import operation
from eucalyptus.cc.instance_messages import (InstanceIds, InstanceLaunch, InstanceViews,
                                             LaunchReply, LaunchRequest, NodeKeys)
from eucalyptus.clc import clusters, properties
from eucalyptus.clc.instance_sync import USER_SHUTDOWN, cluster_call
from eucalyptus.clc.launch_images import image_refs
from eucalyptus.db.compute import Instance, Reservation
from eucalyptus.db.schema import InstanceType, utcnow
from eucalyptus.errors import (ClientError, InvalidParameterValue, MissingParameter,
                               NotFound, ServerError, ServiceError)
from eucalyptus.services.ec2 import addresses, ebs_instances, images, keypairs, tags
from eucalyptus.services.ec2 import security_groups as group_service
from eucalyptus.services.ec2.instance_status import reservation_item

log = logging.getLogger("eucalyptus.ec2.instances")
DEFAULT_TYPE = "m1.small"
MAX_USER_DATA = 16 * 1024
LIVE = ("pending", "running", "stopping", "stopped", "shutting-down")
_INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")


# -- lookups ----------------------------------------------------------------------------------

def check_instance_ids(instance_ids: list[str] | None) -> list[str]:
    for iid in instance_ids or []:
        if not isinstance(iid, str) or not _INSTANCE_ID.fullmatch(iid):
            raise ClientError("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
    return list(instance_ids or [])


def owned_instances(session, account_id: str, instance_ids: list[str] | None) -> list[Instance]:
    """The account's instances by id, in the order asked; InvalidInstanceID.NotFound naming
    every id the account does not have."""
    wanted = check_instance_ids(instance_ids)
    if not wanted:
        raise MissingParameter("The request must contain the parameter InstanceId")
    rows = {r.id: r for r in session.scalars(select(Instance).where(
        Instance.account_id == account_id, Instance.id.in_(wanted)))}
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise NotFound("InvalidInstanceID.NotFound",
                       f"The instance ID '{', '.join(missing)}' does not exist")
    return [rows[i] for i in dict.fromkeys(wanted)]


def default_group_id(account_id: str) -> str:
    """The id of the account's ``default`` security group (stable per account)."""
    return "sg-" + hashlib.sha256(f"default:{account_id}".encode()).hexdigest()[:8]


def _boot_image(session, account_id: str, image_id: str, kind: str) -> images.Image:
    row = images.visible_image(session, account_id, image_id)
    if row.image_type != kind:
        raise InvalidParameterValue(f"The image id '[{row.id}]' is a {row.image_type} image, "
                                    f"not a {kind}")
    return row


def _user_data(user_data: str | None) -> str:
    if not user_data:
        return ""
    try:
        raw = base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue("Invalid BASE64 encoding of user data.") from None
    if len(raw) > MAX_USER_DATA:
        raise InvalidParameterValue(f"User data is limited to {MAX_USER_DATA} bytes")
    return base64.b64encode(raw).decode()


def _counts(min_count, max_count) -> tuple[int, int]:
    if min_count is None:
        raise MissingParameter("The request must contain the parameter MinCount")
    if max_count is None:
        raise MissingParameter("The request must contain the parameter MaxCount")
    if min_count < 1:
        raise InvalidParameterValue(f"Value ({min_count}) for parameter minCount is invalid. "
                                    "Expected a positive integer.")
    if max_count < min_count:
        raise InvalidParameterValue(f"Value ({max_count}) for parameter maxCount is invalid. "
                                    "It must be greater than or equal to minCount.")
    return min_count, max_count


def _quota(ctx, min_count: int, max_count: int) -> int:
    limit = properties.value(ctx.db, "cloud.compute.max_instances", ctx.settings)
    held = ctx.db.scalar(select(func.count()).select_from(Instance).where(
        Instance.account_id == ctx.account_id, Instance.state.in_(LIVE))) or 0
    room = max(limit - held, 0)
    if min_count > room:
        raise ClientError("InstanceLimitExceeded",
                          f"You have requested more instances ({min_count}) than your current "
                          f"instance limit of {limit} allows for the specified instance type.")
    return min(max_count, room)


def _metadata(ctx, image, kernel, ramdisk, itype: str, key_name, public_key, user_data: str,
              groups: list, reservation_id: str, index: int, zone: str,
              public_ip: str = "") -> dict:
    doc = {"ami-id": image.id, "ami-launch-index": str(index),
           "ami-manifest-path": image.location, "instance-type": itype,
           "reservation-id": reservation_id, "instance-action": "none",
           "security-groups": [name for _gid, name in groups],
           "placement": {"availability-zone": zone, "region": ctx.region},
           "block-device-mapping": {"ami": image.root_device_name,
                                    "root": image.root_device_name},
           "account-id": ctx.account_id, "architecture": image.architecture,
           "pending-time": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    if kernel is not None:
        doc["kernel-id"] = kernel.id
    if ramdisk is not None:
        doc["ramdisk-id"] = ramdisk.id
    if key_name:
        doc["public-keys"] = {key_name: public_key}
    if user_data:
        doc["user-data"] = user_data
    if public_ip:
        doc["public-ipv4"] = public_ip
        doc["public-hostname"] = addresses.public_dns(public_ip)
    return doc


def _reservation_output(ctx, reservation: Reservation) -> dict:
    rows = ctx.db.scalars(select(Instance).where(
        Instance.reservation_id == reservation.id).order_by(Instance.launch_index)).all()
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.id for r in rows])
    out = reservation_item(reservation, rows, tag_map,
                           addresses.public_ips_of(ctx.db, [r.id for r in rows]))
    ebs_instances.decorate(ctx.db, out["Instances"])
    return out


# -- RunInstances -----------------------------------------------------------------------------

@operation
async def run_instances(ctx, image_id: str | None = None, min_count: int | None = None,
                        max_count: int | None = None, instance_type: str | None = None,
                        key_name: str | None = None, user_data: str | None = None,
                        placement: dict | None = None, client_token: str | None = None,
                        security_groups: list[str] | None = None,
                        security_group_ids: list[str] | None = None,
                        kernel_id: str | None = None, ramdisk_id: str | None = None,
                        disable_api_termination: bool | None = None,
                        tag_specifications: list[dict] | None = None,
                        block_device_mappings: list[dict] | None = None, **_) -> dict:
    """RunInstances (see the module docstring)."""
    if not image_id:
        raise MissingParameter("The request must contain the parameter ImageId")
    min_count, max_count = _counts(min_count, max_count)
    if client_token:
        if len(client_token) > 64:
            raise InvalidParameterValue("ClientToken is limited to 64 characters")
        seen = ctx.db.scalar(select(Reservation).where(
            Reservation.account_id == ctx.account_id, Reservation.client_token == client_token))
        if seen is not None:
            return _reservation_output(ctx, seen)
    image = images.launchable_image(ctx.db, ctx.account_id, image_id)
    if image.image_type != "machine":
        raise InvalidParameterValue(f"The image id '[{image.id}]' is a {image.image_type} "
                                    "image; only machine images can be launched")
    itype = instance_type or DEFAULT_TYPE
    size = ctx.db.get(InstanceType, itype)
    if size is None or not size.enabled:
        raise InvalidParameterValue(f"Invalid value '{itype}' for InstanceType.")
    public_key = keypairs.public_key_of(ctx.db, ctx.account_id, key_name) if key_name else ""
    data = _user_data(user_data)
    zone = (placement or {}).get("AvailabilityZone") or ctx.settings.zone
    if zone not in clusters.zones(ctx.component):
        raise InvalidParameterValue(f"Invalid availability zone: [{zone}]")
    groups = group_service.groups_for_launch(
        ctx.db, ctx.account_id, security_groups, security_group_ids, ctx.component)
    kernel_id = kernel_id or image.kernel_id
    ramdisk_id = ramdisk_id or (image.ramdisk_id if kernel_id == image.kernel_id else None)
    kernel = _boot_image(ctx.db, ctx.account_id, kernel_id, "kernel") if kernel_id else None
    ramdisk = _boot_image(ctx.db, ctx.account_id, ramdisk_id, "ramdisk") if ramdisk_id else None
    if ramdisk is not None and kernel is None:
        raise InvalidParameterValue("A ramdisk needs a kernel")
    count = _quota(ctx, min_count, max_count)
    planned = ebs_instances.plan(ctx, image, block_device_mappings)
    ebs = ebs_instances.EbsLaunch(ctx, planned, zone) if planned else None
    ebs_root = ebs is not None and any(p.root for p in planned)

    keys = await cluster_call(ctx.component, "cluster/nodes/keys", None, NodeKeys, timeout=30,
                              zone=zone)
    if not keys.keys:
        raise ServerError("InsufficientInstanceCapacity",
                          f"There is no node in zone {zone} to run instances on.")
    boots = [("kernel", kernel), ("ramdisk", ramdisk)] if kernel else \
        ([] if ebs_root else [("disk", image)])
    refs = await image_refs(ctx, [(role, row) for role, row in boots if row is not None],
                            keys.keys)
    reservation_id = ids.ec2_id("reservation")
    publics = addresses.reserve_for_launch(ctx, count)
    try:
        launches = [InstanceLaunch(ids.ec2_id("instance"), _metadata(
            ctx, image, kernel, ramdisk, itype, key_name, public_key, data, groups,
            reservation_id, i, zone, publics[i] if i < len(publics) else ""))
            for i in range(count)]
        if ebs is not None:
            await ebs.prepare(launches)
        cmdline = _cmdline(ctx) if kernel else ""
        reply = await cluster_call(ctx.component, "cluster/instances/run", LaunchRequest(
            launches, min_count, reservation_id, ctx.account_id, itype, size.vcpus,
            size.memory_mib, size.disk_gib, refs, cmdline, zone,
            groups=[gid for gid, _name in groups]), LaunchReply, timeout=120, zone=zone)
    except BaseException:
        addresses.unreserve(ctx.component, publics)
        if ebs is not None:
            await ebs.undo()
        raise
    try:
        if ebs is not None:
            await ebs.finish(reply)
        return _record(ctx, reply, launches, reservation_id, client_token, groups, image,
                       kernel, ramdisk, itype, key_name, data, zone,
                       bool(disable_api_termination), tag_specifications)
    except BaseException:
        placed = [p.instance_id for p in reply.instances]
        try:
            await cluster_call(ctx.component, "cluster/instances/terminate",
                               InstanceIds(placed), InstanceViews, zone=zone)
        except ServiceError as exc:
            log.error("could not undo the launch of %s: %s", placed, exc.message)
        if ebs is not None:
            await ebs.undo()
        raise
    finally:
        addresses.unreserve(ctx.component, publics)


def _cmdline(ctx) -> str:
    from eucalyptus.images.starter import CMDLINE
    return CMDLINE


def _record(ctx, reply: LaunchReply, launches, reservation_id, client_token, groups, image,
            kernel, ramdisk, itype, key_name, data, zone, no_terminate, tag_specs) -> dict:
    reservation = Reservation(id=reservation_id, account_id=ctx.account_id,
                              requester_id=ctx.principal.user_id, client_token=client_token,
                              security_groups=json.dumps(groups))
    ctx.db.add(reservation)
    ctx.db.flush()
    placed = {p.instance_id: p for p in reply.instances}
    now = utcnow()
    for index, launch in enumerate(launches):
        p = placed.get(launch.instance_id)
        if p is None:
            continue
        ctx.db.add(Instance(
            id=launch.instance_id, account_id=ctx.account_id, reservation_id=reservation_id,
            launch_index=index, image_id=image.id, kernel_id=kernel.id if kernel else None,
            ramdisk_id=ramdisk.id if ramdisk else None, instance_type=itype,
            key_name=key_name or None, user_data=data, zone=zone,
            architecture=image.architecture, root_device_name=image.root_device_name,
            virtualization_type=image.virtualization_type,
            disable_api_termination=no_terminate, node=p.node, private_ip=p.private_ip,
            mac=p.mac, hostname=p.hostname, state="pending", launched_at=now, changed_at=now,
            reported_at=now))
    ctx.db.flush()
    given = {launch.instance_id: launch.metadata["public-ipv4"] for launch in launches
             if launch.instance_id in placed and launch.metadata.get("public-ipv4")}
    addresses.record_launch(ctx.db, ctx.component, ctx.account_id, given)
    tags.apply_tag_specifications(ctx.db, ctx.account_id, tag_specs,
                                  {iid: "instance" for iid in placed})
    ctx.db.flush()
    return _reservation_output(ctx, reservation)


# -- the life cycle ---------------------------------------------------------------------------

def _state(name: str) -> dict:
    from eucalyptus.services.ec2.instance_status import state_of
    return state_of(name)


@operation
async def terminate_instances(ctx, instance_ids: list[str] | None = None, **_) -> dict:
    """TerminateInstances: OperationNotPermitted when one has disableApiTermination set;
    terminated instances stay terminated (and listed)."""
    rows = owned_instances(ctx.db, ctx.account_id, instance_ids)
    for row in rows:
        if row.disable_api_termination:
            raise ClientError("OperationNotPermitted",
                              f"The instance '{row.id}' may not be terminated. Modify its "
                              "'disableApiTermination' instance attribute and try again.")
    previous = {r.id: r.state for r in rows}
    live = [r.id for r in rows if r.state != "terminated"]     # stopped ones: nothing runs
    views = {}
    for zone, zone_ids in clusters.group_by_zone(
            r for r in rows if r.state != "terminated").items():
        try:
            got = await cluster_call(ctx.component, "cluster/instances/terminate",
                                     InstanceIds(zone_ids), InstanceViews, zone=zone)
            views.update({v.instance_id: v for v in got.instances})
        except ServiceError as exc:
            log.warning("terminate %s: %s", zone_ids, exc.message)
    now = utcnow()
    for row in rows:
        if row.state == "terminated":
            continue
        view = views.get(row.id)
        row.state = "terminated" if (view is not None and view.state == "terminated") \
            or previous[row.id] == "stopped" else "shutting-down"
        row.state_reason = USER_SHUTDOWN
        row.transition_reason = f"User initiated ({now:%Y-%m-%d %H:%M:%S} GMT)"
        row.changed_at = now
        if row.state == "terminated":
            row.terminated_at = now
    ctx.db.flush()
    addresses.release_for(ctx.db, ctx.component, live)
    return {"TerminatingInstances": [
        {"InstanceId": r.id, "CurrentState": _state(r.state),
         "PreviousState": _state(previous[r.id])} for r in rows]}


@operation
async def reboot_instances(ctx, instance_ids: list[str] | None = None, **_) -> dict:
    """RebootInstances: running instances reboot (a real guest reset); others are left."""
    rows = owned_instances(ctx.db, ctx.account_id, instance_ids)
    running = [r for r in rows if r.state == "running"]
    for zone, zone_ids in clusters.group_by_zone(running).items():
        await cluster_call(ctx.component, "cluster/instances/reboot", InstanceIds(zone_ids),
                           InstanceViews, zone=zone)
    return {}


@operation
def stop_instances(ctx, instance_ids: list[str] | None = None, force: bool | None = None,
                   **_) -> dict:
    """StopInstances: EBS-backed instances stop (``ebs_instances``); instance-store roots
    cannot (IncorrectInstanceState)."""
    rows = owned_instances(ctx.db, ctx.account_id, instance_ids)
    return ebs_instances.stop(ctx, rows, bool(force))


@operation
async def start_instances(ctx, instance_ids: list[str] | None = None, **_) -> dict:
    """StartInstances: stopped EBS-backed instances start again (``ebs_instances``);
    instance-store roots never stop, so never start (IncorrectInstanceState)."""
    rows = owned_instances(ctx.db, ctx.account_id, instance_ids)
    return await ebs_instances.start(ctx, rows)


@operation
async def get_console_output(ctx, instance_id: str | None = None, latest: bool | None = None,
                             **_) -> dict:
    """GetConsoleOutput: the guest's serial console, base64, with its timestamp."""
    (row,) = owned_instances(ctx.db, ctx.account_id, [instance_id] if instance_id else None)
    out = {"InstanceId": row.id, "Timestamp": dt.datetime.now(dt.timezone.utc)}
    if row.state in ("pending", "terminated"):
        return out
    from eucalyptus.nc.messages import ConsoleOutput
    try:
        console = await cluster_call(ctx.component, "cluster/instances/console",
                                     InstanceIds([row.id]), ConsoleOutput, zone=row.zone)
    except NotFound:
        return out
    out["Output"] = console.output
    out["Timestamp"] = dt.datetime.fromtimestamp(console.timestamp, dt.timezone.utc)
    return out

"""euca-create-volume, euca-delete-volume, euca-describe-volumes, euca-attach-volume,
euca-detach-volume.

Records (tab-separated, as euca2ools prints them)::

    VOLUME  <id>  <size>  <snapshot>  <zone>  <status>  <create time>  <type>  <iops>
    ATTACHMENT  <volume>  <instance>  <device>  <status>  <attach time>
    TAG  volume  <id>  <key>  <value>
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, filter_arg, filters_param
from eucalyptus.cli.connection import CommandError


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if hasattr(value, "strftime") else \
        str(value or "")


def tag_records(kind: str, resource_id: str, tags: list[dict]) -> Iterable[Record]:
    for tag in tags or []:
        yield "TAG", kind, resource_id, tag["Key"], tag.get("Value", "")


def attachment_record(a: dict) -> Record:
    return ("ATTACHMENT", a.get("VolumeId"), a.get("InstanceId"), a.get("Device"),
            a.get("State"), when(a.get("AttachTime")))


def volume_records(v: dict) -> Iterable[Record]:
    yield ("VOLUME", v["VolumeId"], v.get("Size"), v.get("SnapshotId") or "",
           v.get("AvailabilityZone"), v.get("State"), when(v.get("CreateTime")),
           v.get("VolumeType") or "standard", v.get("Iops"))
    for attachment in v.get("Attachments", []):
        yield attachment_record(attachment)
    yield from tag_records("volume", v["VolumeId"], v.get("Tags"))


def _create_build(args: argparse.Namespace) -> dict[str, Any]:
    if args.size is None and not args.snapshot:
        raise CommandError("give -s/--size or --snapshot (or both)")
    params: dict[str, Any] = {}
    if args.size is not None:
        params["Size"] = args.size
    if args.snapshot:
        params["SnapshotId"] = args.snapshot
    if args.tag:
        tags = [{"Key": k, "Value": v} for k, _, v in (t.partition("=") for t in args.tag)]
        params["TagSpecifications"] = [{"ResourceType": "volume", "Tags": tags}]
    return params


create_volume = Command(
    name="euca-create-volume", service="ec2", operation="CreateVolume",
    help="Create a volume, empty or from a snapshot.",
    args=[arg("-s", "--size", type=int, help="size in GiB"),
          arg("--snapshot", metavar="SNAPSHOT", help="snapshot to make the volume from"),
          arg("-z", "--availability-zone", param="AvailabilityZone", required=True,
              metavar="ZONE"),
          arg("-t", "--type", param="VolumeType", help="volume type (standard, gp2, io1, ..)"),
          arg("-i", "--iops", param="Iops", type=int, help="provisioned IOPS (io1, io2)"),
          arg("--tag", action="append", default=[], metavar="KEY[=VALUE]",
              help="tag the new volume (repeatable)")],
    build=_create_build,
    records=lambda response, args: [("VOLUME", response["VolumeId"], response.get("Size"),
                                     response.get("SnapshotId") or "",
                                     response.get("AvailabilityZone"), response.get("State"),
                                     when(response.get("CreateTime")))],
)

delete_volume = Command(
    name="euca-delete-volume", service="ec2", operation="DeleteVolume",
    help="Delete a volume that is not attached.",
    args=[arg("VolumeId", param="VolumeId", metavar="VOLUME")],
    records=lambda response, args: [("VOLUME", args.VolumeId)],
)

describe_volumes = Command(
    name="euca-describe-volumes", service="ec2", operation="DescribeVolumes",
    help="Show volumes with their attachments and tags.",
    args=[arg("VolumeIds", param="VolumeIds", nargs="*", metavar="VOLUME"), filter_arg()],
    build=lambda args: {"Filters": filters_param(args.filters)} if args.filters else {},
    records=lambda response, args: (r for v in response.get("Volumes", [])
                                     for r in volume_records(v)),
    json_output=True,
)

attach_volume = Command(
    name="euca-attach-volume", service="ec2", operation="AttachVolume",
    help="Attach a volume to a running instance; the guest sees it with the volume id as "
         "its disk serial.",
    args=[arg("VolumeId", param="VolumeId", metavar="VOLUME"),
          arg("-i", "--instance", param="InstanceId", required=True, metavar="INSTANCE"),
          arg("-d", "--device", param="Device", required=True, metavar="DEVICE",
              help="device name, such as /dev/sdf")],
    records=lambda response, args: [attachment_record(response)],
)

detach_volume = Command(
    name="euca-detach-volume", service="ec2", operation="DetachVolume",
    help="Detach a volume from its instance.",
    args=[arg("VolumeId", param="VolumeId", metavar="VOLUME"),
          arg("-i", "--instance", param="InstanceId", metavar="INSTANCE",
              help="only if attached to this instance"),
          arg("-d", "--device", param="Device", metavar="DEVICE",
              help="only if attached at this device"),
          arg("-f", "--force", param="Force", action="store_const", const=True,
              help="detach even when the guest does not release the disk")],
    records=lambda response, args: [attachment_record(response)],
)

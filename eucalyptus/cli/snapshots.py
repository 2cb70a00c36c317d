"""euca-create-snapshot, euca-delete-snapshot, euca-describe-snapshots,
euca-modify-snapshot-attribute, euca-describe-snapshot-attribute,
euca-reset-snapshot-attribute.

Records (tab-separated, as euca2ools prints them)::

    SNAPSHOT  <id>  <volume>  <status>  <start time>  <progress>  <owner>  <size>  <description>
    TAG  snapshot  <id>  <key>  <value>
    createVolumePermission  <id>  [ADD|REMOVE]  group|userId  <all|account>
"""
from __future__ import annotations

import argparse
from typing import Iterable

from eucalyptus.cli.command import Command, Record, arg, call, filter_arg, filters_param
from eucalyptus.cli.connection import CommandError
from eucalyptus.cli.volumes import tag_records, when

PERMISSION = "createVolumePermission"


def snapshot_records(s: dict) -> Iterable[Record]:
    yield ("SNAPSHOT", s["SnapshotId"], s.get("VolumeId"), s.get("State"),
           when(s.get("StartTime")), s.get("Progress"), s.get("OwnerId"), s.get("VolumeSize"),
           s.get("Description") or "")
    yield from tag_records("snapshot", s["SnapshotId"], s.get("Tags"))


def _describe_build(args: argparse.Namespace) -> dict:
    params: dict = {}
    if args.filters:
        params["Filters"] = filters_param(args.filters)
    if args.owner:
        params["OwnerIds"] = args.owner
    if args.restorable_by:
        params["RestorableByUserIds"] = args.restorable_by
    return params


def _entity(value: str) -> dict:
    return {"Group": "all"} if value == "all" else {"UserId": value}


def _modify(connection, client, args: argparse.Namespace) -> dict:
    if not args.create_volume_permission:
        raise CommandError("give -c/--create-volume-permission (the one attribute there is)")
    if not args.add and not args.remove:
        raise CommandError("give -a ENTITY to share or -r ENTITY to unshare (account id or "
                           "all)")
    change: dict = {}
    if args.add:
        change["Add"] = [_entity(v) for v in args.add]
    if args.remove:
        change["Remove"] = [_entity(v) for v in args.remove]
    call(client, "ModifySnapshotAttribute", SnapshotId=args.SnapshotId, Attribute=PERMISSION,
         CreateVolumePermission=change)
    return {"lines": [(PERMISSION, args.SnapshotId, op, "group" if v == "all" else "userId", v)
                      for op, values in (("ADD", args.add), ("REMOVE", args.remove))
                      for v in values]}


def _describe_attribute(connection, client, args: argparse.Namespace) -> dict:
    attribute = "productCodes" if args.product_codes else PERMISSION
    response = call(client, "DescribeSnapshotAttribute", SnapshotId=args.SnapshotId,
                    Attribute=attribute)
    sid = response.get("SnapshotId", args.SnapshotId)
    lines = [(PERMISSION, sid, "group" if "Group" in p else "userId",
              p.get("Group") or p.get("UserId"))
             for p in response.get("CreateVolumePermissions", [])]
    lines += [("productCodes", sid, p.get("ProductCodeId"), p.get("ProductCodeType"))
              for p in response.get("ProductCodes", [])]
    return {"lines": lines}


def _lines(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield from response["lines"]


create_snapshot = Command(
    name="euca-create-snapshot", service="ec2", operation="CreateSnapshot",
    help="Snapshot a volume (it stays attached and usable meanwhile).",
    args=[arg("VolumeId", param="VolumeId", metavar="VOLUME"),
          arg("-d", "--description", param="Description")],
    records=lambda response, args: snapshot_records(response),
)

delete_snapshot = Command(
    name="euca-delete-snapshot", service="ec2", operation="DeleteSnapshot",
    help="Delete a snapshot.",
    args=[arg("SnapshotId", param="SnapshotId", metavar="SNAPSHOT")],
    records=lambda response, args: [("SNAPSHOT", args.SnapshotId)],
)

describe_snapshots = Command(
    name="euca-describe-snapshots", service="ec2", operation="DescribeSnapshots",
    help="Show the snapshots you own or may restore.",
    args=[arg("SnapshotIds", param="SnapshotIds", nargs="*", metavar="SNAPSHOT"),
          arg("-o", "--owner", action="append", default=[],
              help="self or an account id (repeatable)"),
          arg("-r", "--restorable-by", action="append", default=[],
              help="self, all or an account id (repeatable)"),
          arg("-a", "--all", action="store_true",
              help="every snapshot you may see (the default)"),
          filter_arg()],
    build=_describe_build,
    records=lambda response, args: (r for s in response.get("Snapshots", [])
                                     for r in snapshot_records(s)),
    json_output=True,
)

modify_snapshot_attribute = Command(
    name="euca-modify-snapshot-attribute", service="ec2",
    help="Share a snapshot (-c -a ACCOUNT|all) or stop sharing it (-c -r ACCOUNT|all).",
    args=[arg("SnapshotId", metavar="SNAPSHOT"),
          arg("-c", "--create-volume-permission", action="store_true",
              help="change who may make volumes from it"),
          arg("-a", "--add", action="append", default=[], metavar="ENTITY"),
          arg("-r", "--remove", action="append", default=[], metavar="ENTITY")],
    run=_modify,
    records=_lines,
)

describe_snapshot_attribute = Command(
    name="euca-describe-snapshot-attribute", service="ec2",
    help="Show who may make volumes from a snapshot (-c, the default) or its product codes.",
    args=[arg("SnapshotId", metavar="SNAPSHOT"),
          arg("-c", "--create-volume-permission", action="store_true"),
          arg("-p", "--product-codes", action="store_true")],
    run=_describe_attribute,
    records=_lines,
)

reset_snapshot_attribute = Command(
    name="euca-reset-snapshot-attribute", service="ec2", operation="ResetSnapshotAttribute",
    help="Make a snapshot private to its owner again.",
    args=[arg("SnapshotId", param="SnapshotId", metavar="SNAPSHOT"),
          arg("-c", "--create-volume-permission", action="store_true")],
    build=lambda args: {"Attribute": PERMISSION},
    records=lambda response, args: [(PERMISSION, args.SnapshotId, "RESET")],
)

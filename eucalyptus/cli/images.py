"""euca-register, euca-describe-images, euca-deregister, euca-modify-image-attribute,
euca-describe-image-attribute, euca-create-image.

Records (tab-separated, as euca2ools prints them)::

    IMAGE  <id>  <location>  <owner>  <state>  public|private  <arch>  <type>  <kernel>
           <ramdisk>  instance-store  <virtualization>
    launchPermission  <id>  group|userId  <all|account>       (describe-image-attribute -l)
    description  <id>  <text>
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, call, filter_arg, filters_param
from eucalyptus.cli.connection import CommandError


def image_record(image: dict) -> tuple:
    return ("IMAGE", image.get("ImageId"), image.get("ImageLocation"),
            image.get("ImageOwnerAlias") or image.get("OwnerId"), image.get("State"),
            "public" if image.get("Public") else "private", image.get("Architecture"),
            image.get("ImageType"), image.get("KernelId"), image.get("RamdiskId"),
            image.get("RootDeviceType"), image.get("VirtualizationType"))


def _describe_build(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.filters:
        params["Filters"] = filters_param(args.filters)
    if args.all:
        params.setdefault("ExecutableUsers", ["all"])
    return params


def _register_build(args: argparse.Namespace) -> dict[str, Any]:
    """EBS-backed registration: ``--snapshot`` and ``-b`` mappings (cli.block_devices)."""
    from eucalyptus.cli.block_devices import mappings_param
    mappings = mappings_param(args.block_device_mapping, args.snapshot, args.RootDeviceName)
    if not mappings and not args.ImageLocation:
        raise CommandError("give a LOCATION, or --snapshot/-b for an EBS-backed image")
    return {"BlockDeviceMappings": mappings} if mappings else {}


def _create_image_build(args: argparse.Namespace) -> dict[str, Any]:
    from eucalyptus.cli.block_devices import mappings_param
    mappings = mappings_param(args.block_device_mapping)
    return {"BlockDeviceMappings": mappings} if mappings else {}


def _register_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield "IMAGE", response.get("ImageId")


def _deregister(connection, client, args: argparse.Namespace) -> dict:
    call(client, "DeregisterImage", ImageId=args.ImageId)
    return {"ImageId": args.ImageId}


def _entity(value: str) -> dict:
    return {"Group": "all"} if value == "all" else {"UserId": value}


def _modify(connection, client, args: argparse.Namespace) -> dict:
    if args.description is not None:
        call(client, "ModifyImageAttribute", ImageId=args.ImageId,
             Description={"Value": args.description})
        return {"lines": [("description", args.ImageId, args.description)]}
    if not args.launch_permission or not (args.add or args.remove):
        raise CommandError("use -l with -a/-r ACCOUNT|all, or --description TEXT")
    change = {}
    if args.add:
        change["Add"] = [_entity(v) for v in args.add]
    if args.remove:
        change["Remove"] = [_entity(v) for v in args.remove]
    call(client, "ModifyImageAttribute", ImageId=args.ImageId, LaunchPermission=change)
    lines = [("launchPermission", args.ImageId, op, "group" if v == "all" else "userId", v)
             for op, values in (("ADD", args.add), ("REMOVE", args.remove)) for v in values]
    return {"lines": lines}


ATTRIBUTE_FLAGS = (("launch_permission", "launchPermission"), ("description", "description"),
                   ("kernel", "kernel"), ("ramdisk", "ramdisk"),
                   ("block_device_mapping", "blockDeviceMapping"))


def _describe_attribute(connection, client, args: argparse.Namespace) -> dict:
    chosen = [name for flag, name in ATTRIBUTE_FLAGS if getattr(args, flag)]
    if len(chosen) != 1:
        raise CommandError("choose one of -l, --description, --kernel, --ramdisk, -B")
    response = call(client, "DescribeImageAttribute", ImageId=args.ImageId,
                    Attribute=chosen[0])
    image_id, lines = response.get("ImageId", args.ImageId), []
    for perm in response.get("LaunchPermissions", []):
        lines.append(("launchPermission", image_id, "group" if "Group" in perm else "userId",
                      perm.get("Group") or perm.get("UserId")))
    for key, label in (("Description", "description"), ("KernelId", "kernel"),
                       ("RamdiskId", "ramdisk")):
        if response.get(key, {}).get("Value"):
            lines.append((label, image_id, response[key]["Value"]))
    for mapping in response.get("BlockDeviceMappings", []):
        lines.append(("blockDeviceMapping", image_id, mapping.get("DeviceName"),
                      mapping.get("VirtualName")))
    return {"lines": lines}


def _lines(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield from response["lines"]


register = Command(
    name="euca-register", service="ec2", operation="RegisterImage",
    help="Register an image from a bundle manifest (BUCKET/PREFIX.manifest.xml) or a disk "
         "object (BUCKET/KEY), or an EBS-backed image from a snapshot (--snapshot, -b).",
    args=[arg("ImageLocation", param="ImageLocation", metavar="LOCATION", nargs="?"),
          arg("-s", "--snapshot", dest="snapshot", metavar="SNAPSHOT",
              help="the root device's snapshot (an EBS-backed image)"),
          arg("-b", "--block-device-mapping", dest="block_device_mapping", action="append",
              default=[], metavar="DEVICE=MAPPED",
              help="DEVICE=SNAPSHOT[:SIZE[:DELETE_ON_TERMINATION[:TYPE]]], DEVICE=:SIZE, "
                   "DEVICE=ephemeralN or DEVICE=none (repeatable)"),
          arg("-n", "--name", param="Name", required=True),
          arg("-d", "--description", param="Description"),
          arg("-a", "--arch", param="Architecture", choices=("i386", "x86_64", "arm64")),
          arg("--kernel", param="KernelId", metavar="EKI"),
          arg("--ramdisk", param="RamdiskId", metavar="ERI"),
          arg("--root-device-name", param="RootDeviceName"),
          arg("--virtualization-type", param="VirtualizationType",
              choices=("paravirtual", "hvm"))],
    build=_register_build,
    records=_register_records,
)

create_image = Command(
    name="euca-create-image", service="ec2", operation="CreateImage",
    help="Make an EBS-backed image of an EBS-backed instance (snapshots of its volumes).",
    args=[arg("InstanceId", param="InstanceId", metavar="INSTANCE"),
          arg("-n", "--name", param="Name", required=True),
          arg("-d", "--description", param="Description"),
          arg("--no-reboot", param="NoReboot", action="store_true", default=None),
          arg("-b", "--block-device-mapping", dest="block_device_mapping", action="append",
              default=[], metavar="DEVICE=none",
              help="DEVICE=none leaves a volume out of the image (repeatable)")],
    build=_create_image_build,
    records=_register_records,
)

describe_images = Command(
    name="euca-describe-images", service="ec2", operation="DescribeImages",
    help="Show images you may launch.",
    args=[arg("ImageIds", param="ImageIds", nargs="*", metavar="IMAGE"),
          arg("-o", "--owner", param="Owners", action="append",
              help="self, an account id or an alias such as eucalyptus (repeatable)"),
          arg("-x", "--executable-by", param="ExecutableUsers", action="append",
              help="self, all or an account id (repeatable)"),
          arg("-a", "--all", action="store_true", help="public images too"),
          filter_arg()],
    build=_describe_build,
    records=lambda response, args: (image_record(i) for i in response.get("Images", [])),
    json_output=True,
)

deregister = Command(
    name="euca-deregister", service="ec2",
    help="Deregister an image (its bundle stays in Walrus).",
    args=[arg("ImageId", metavar="IMAGE")],
    run=_deregister,
    records=lambda response, args: [("IMAGE", response["ImageId"])],
)

modify_image_attribute = Command(
    name="euca-modify-image-attribute", service="ec2",
    help="Share an image (-l -a ACCOUNT|all), unshare it (-l -r ...) or set its description.",
    args=[arg("ImageId", metavar="IMAGE"),
          arg("-l", "--launch-permission", action="store_true"),
          arg("-a", "--add", action="append", default=[], metavar="ENTITY"),
          arg("-r", "--remove", action="append", default=[], metavar="ENTITY"),
          arg("--description", help="new description")],
    run=_modify,
    records=_lines,
)

describe_image_attribute = Command(
    name="euca-describe-image-attribute", service="ec2",
    help="Show one attribute of an image.",
    args=[arg("ImageId", metavar="IMAGE"),
          arg("-l", "--launch-permission", action="store_true"),
          arg("--description", action="store_true"),
          arg("--kernel", action="store_true"),
          arg("--ramdisk", action="store_true"),
          arg("-B", "--block-device-mapping", action="store_true")],
    run=_describe_attribute,
    records=_lines,
)

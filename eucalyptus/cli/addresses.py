"""euca-allocate-address, euca-associate-address, euca-disassociate-address,
euca-release-address, euca-describe-addresses.

Records (euca2ools')::

    ADDRESS  <public ip>  <domain>  <allocation id>                          (allocate)
    ADDRESS  <public ip>  <instance>                   (associate by address)
    ADDRESS  <instance>  <allocation id>  <association id>  (associate with -a)
    ADDRESS  <public ip or id>                          (disassociate, release)
    ADDRESS  <public ip>  <instance>  <domain>  <allocation id>  <association id>  <eni>
             <private ip>                              (describe)

``euca-describe-addresses verbose`` run by the cloud administrator lists the whole public pool
with each address' holder, as Eucalyptus does.
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, filter_arg
from eucalyptus.cli.connection import CommandError


def _target(args: argparse.Namespace, id_flag: str, id_member: str) -> dict[str, Any]:
    """PublicIp from the positional address (or -p), or the id given with ``id_flag``; an
    id given positionally works too."""
    address = args.address or getattr(args, "public_ip", None)
    given = getattr(args, id_member)
    if address and given:
        raise CommandError(f"argument {id_flag}: not allowed with an IP address")
    if address and address.startswith(("eipalloc-", "eipassoc-")):
        return {id_member: address}
    if address:
        return {"PublicIp": address}
    if given:
        return {id_member: given}
    raise CommandError(f"an IP address or {id_flag} is required")


def _associate_build(args: argparse.Namespace) -> dict[str, Any]:
    out = _target(args, "-a/--allocation-id", "AllocationId")
    if args.allow_reassociation:
        out["AllowReassociation"] = True
    return out


def _associate_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    target = _associate_build(args)
    if "AllocationId" in target:
        return [("ADDRESS", args.InstanceId, target["AllocationId"],
                 response.get("AssociationId"))]
    return [("ADDRESS", target["PublicIp"], args.InstanceId)]


def _one_record(id_flag: str, id_member: str):
    def records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
        target = _target(args, id_flag, id_member)
        return [("ADDRESS", target.get("PublicIp") or target[id_member])]
    return records


def _describe_build(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in args.addresses:
        key = "AllocationIds" if item.startswith("eipalloc-") else "PublicIps"
        out.setdefault(key, []).append(item)
    return out


def address_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for a in response.get("Addresses", []):
        yield ("ADDRESS", a.get("PublicIp"), a.get("InstanceId"), a.get("Domain") or "standard",
               a.get("AllocationId"), a.get("AssociationId"), a.get("NetworkInterfaceId"),
               a.get("PrivateIpAddress"))


allocate_address = Command(
    name="euca-allocate-address", service="ec2", operation="AllocateAddress",
    help="Allocate a public (elastic) address from the cloud's pool.",
    args=[arg("-d", "--domain", param="Domain", choices=("standard", "vpc"),
              help="address domain (default standard)")],
    records=lambda response, args: [("ADDRESS", response.get("PublicIp"),
                                     response.get("Domain") or "standard",
                                     response.get("AllocationId"))],
)

associate_address = Command(
    name="euca-associate-address", service="ec2", operation="AssociateAddress",
    help="Associate a public address with an instance (moving it if it is elsewhere).",
    args=[arg("address", nargs="?", metavar="ADDRESS", help="the public address"),
          arg("-i", "--instance-id", param="InstanceId", required=True,
              help="instance to associate the address with (required)"),
          arg("-p", "--public-ip", metavar="ADDRESS", help="the public address"),
          arg("-a", "--allocation-id", dest="AllocationId", metavar="ALLOC",
              help="the address' allocation id"),
          arg("--allow-reassociation", action="store_true",
              help="move the address even if it is associated (with -a)")],
    build=_associate_build,
    records=_associate_records,
)

disassociate_address = Command(
    name="euca-disassociate-address", service="ec2", operation="DisassociateAddress",
    help="Disassociate a public address from its instance.",
    args=[arg("address", nargs="?", metavar="ADDRESS", help="the public address"),
          arg("-a", "--association-id", dest="AssociationId", metavar="ASSOC",
              help="the association id")],
    build=lambda args: _target(args, "-a/--association-id", "AssociationId"),
    records=_one_record("-a/--association-id", "AssociationId"),
)

release_address = Command(
    name="euca-release-address", service="ec2", operation="ReleaseAddress",
    help="Release a public address back to the pool.",
    args=[arg("address", nargs="?", metavar="ADDRESS", help="the public address"),
          arg("-a", "--allocation-id", dest="AllocationId", metavar="ALLOC",
              help="the allocation id")],
    build=lambda args: _target(args, "-a/--allocation-id", "AllocationId"),
    records=_one_record("-a/--allocation-id", "AllocationId"),
)

describe_addresses = Command(
    name="euca-describe-addresses", service="ec2", operation="DescribeAddresses",
    help="Show public addresses ('verbose': the whole pool, for the cloud administrator).",
    args=[arg("addresses", nargs="*", metavar="ADDRESS",
              help="public addresses or allocation ids (or 'verbose')"), filter_arg()],
    build=_describe_build,
    records=address_records,
    json_output=True,
)

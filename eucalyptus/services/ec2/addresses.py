"""Public (elastic) addresses: Allocate/Associate/Disassociate/Release/DescribeAddresses, and
the public address every instance gets at launch in the managed network modes.

Addresses come from the pool VNET_PUBLICIPS; a row of ``public_addresses`` holds each one in
use. An account allocates an address (``eipalloc-`` id, Domain standard or vpc) and associates
it with one of its live instances (a new ``eipassoc-`` id each time). As Eucalyptus does, every
instance launched in a managed mode also gets a public address of its own from the pool
(``auto_assigned``; its owner's DescribeAddresses does not list it). Associating an elastic
address returns the instance's automatic one to the pool; disassociating (or releasing) an
elastic address gives the instance a new automatic one when the pool has one. Addresses follow
instances out: when an instance terminates (or is gone), its automatic address returns to the
pool and an elastic one stays allocated, unassociated (``release_for``/``reap``); a stopped
instance gives back its automatic address and gets a new one when it runs again.

Moving an associated address to another instance: a PublicIp (EC2-classic) call just moves it;
an AllocationId call needs AllowReassociation (Resource.AlreadyAssociated otherwise).

The cloud administrator's ``DescribeAddresses`` with the public IP ``verbose`` (euca2ools'
``euca-describe-addresses verbose``) lists the whole pool as Eucalyptus does: InstanceId reads
``available`` for a free address, and ``<instance or nobody> (<owner account>)`` for a taken one.

In the STATIC and SYSTEM modes AllocateAddress and AssociateAddress answer UnsupportedOperation
and no address is given at launch. Every change is pushed to the cluster after the request
commits (``clc.network_sync``).
"""
from __future__ import annotations

import ipaddress
from typing import Iterator

from sqlalchemy import select

from eucalyptus import ids
from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws.dispatch import operation
from eucalyptus.clc import network_sync
from eucalyptus.db.compute import Instance
from eucalyptus.db.network import PublicAddress
from eucalyptus.db.schema import Account
from eucalyptus.errors import (ClientError, InvalidParameterCombination, InvalidParameterValue,
                               MissingParameter)
from eucalyptus.services.ec2 import tags
from eucalyptus.services.ec2.security_groups import managed, require_managed

LIVE = ("pending", "running")
GOING = ("shutting-down", "terminated")
PAUSED = ("stopping", "stopped")
VERBOSE = "verbose"


# -- the pool -----------------------------------------------------------------------------------

def pool(settings) -> Iterator[str]:
    """Every address of VNET_PUBLICIPS, in order."""
    for item in settings.vnet_publicips or ():
        first, _, last = item.partition("-")
        a = int(ipaddress.IPv4Address(first))
        b = int(ipaddress.IPv4Address(last)) if last else a
        for value in range(a, b + 1):
            yield str(ipaddress.IPv4Address(value))


def _reserved(component) -> set[str]:
    """Addresses picked for launches still in flight (this process only)."""
    if component is None:
        return set()
    return component.__dict__.setdefault("_public_ips_in_flight", set())


def pick(session, settings, component, count: int = 1) -> list[str]:
    """Up to ``count`` free pool addresses, lowest first (none are taken by this call)."""
    taken = set(session.scalars(select(PublicAddress.public_ip))) | _reserved(component)
    out = []
    for ip in pool(settings):
        if len(out) == count:
            break
        if ip not in taken:
            out.append(ip)
    return out


def public_dns(public_ip: str) -> str:
    """Eucalyptus' public host name of an address: ``euca-10-88-0-50``."""
    return "euca-" + public_ip.replace(".", "-")


def public_ips_of(session, instance_ids: list[str]) -> dict[str, str]:
    """instance id -> its public address (elastic or automatic), for DescribeInstances."""
    if not instance_ids:
        return {}
    out: dict[str, str] = {}
    for row in session.scalars(select(PublicAddress).where(
            PublicAddress.instance_id.in_(list(instance_ids)))):
        if row.instance_id not in out or not row.auto_assigned:
            out[row.instance_id] = row.public_ip
    return out


# -- automatic addresses --------------------------------------------------------------------------

def reserve_for_launch(ctx, count: int) -> list[str]:
    """Addresses for ``count`` instances about to launch (fewer when the pool runs out, none in
    STATIC/SYSTEM), held for this process until ``unreserve``."""
    if not managed(ctx.settings):
        return []
    got = pick(ctx.db, ctx.settings, ctx.component, count)
    _reserved(ctx.component).update(got)
    return got


def unreserve(component, public_ips: list[str]) -> None:
    _reserved(component).difference_update(public_ips)


def _auto_row(account_id: str, instance_id: str, public_ip: str) -> PublicAddress:
    return PublicAddress(public_ip=public_ip, allocation_id=ids.ec2_id("allocation"),
                         account_id=account_id, domain="standard", auto_assigned=True,
                         instance_id=instance_id, association_id=ids.ec2_id("association"))


def record_launch(session, component, account_id: str, given: dict[str, str]) -> None:
    """Record the automatic addresses of launched instances (``instance id -> address``)."""
    for instance_id, public_ip in given.items():
        session.add(_auto_row(account_id, instance_id, public_ip))
    session.flush()
    network_sync.changed(session, component, addresses=list(given.values()))


def ensure_public(session, settings, component, instance: Instance) -> str | None:
    """Give a live instance without a public address an automatic one (if the pool has one)."""
    if not managed(settings) or instance.state not in LIVE:
        return None
    held = session.scalar(select(PublicAddress.public_ip).where(
        PublicAddress.instance_id == instance.id))
    if held is not None:
        return held
    got = pick(session, settings, component)
    if not got:
        return None
    session.add(_auto_row(instance.account_id, instance.id, got[0]))
    session.flush()
    network_sync.changed(session, component, addresses=got)
    return got[0]


def _let_go(session, component, rows: list[PublicAddress]) -> None:
    """Automatic addresses back to the pool; elastic ones unassociated."""
    for row in rows:
        if row.auto_assigned:
            session.delete(row)
        else:
            row.instance_id = row.association_id = None
    if rows:
        session.flush()
        network_sync.changed(session, component, addresses=[r.public_ip for r in rows])


def release_for(session, component, instance_ids: list[str]) -> None:
    """The addresses of instances that are terminating let go (see the module docstring)."""
    if instance_ids:
        _let_go(session, component, list(session.scalars(select(PublicAddress).where(
            PublicAddress.instance_id.in_(list(instance_ids))))))


def reap(session, settings, component, limit: int = 20) -> int:
    """Keep addresses in step with instance states; how many addresses changed hands.

    Instances shutting down, terminated or gone let their addresses go; stopping or stopped
    ones give their automatic address back; running ones without a public address (the pool
    was empty, or they were stopped) get an automatic one, at most ``limit`` per call."""
    rows = session.execute(select(PublicAddress, Instance.state).outerjoin(
        Instance, Instance.id == PublicAddress.instance_id).where(
        PublicAddress.instance_id.is_not(None))).all()
    doomed = [row for row, state in rows if state is None or state in GOING
              or (row.auto_assigned and state in PAUSED)]
    _let_go(session, component, doomed)
    given = 0
    if managed(settings):
        bare = session.scalars(select(Instance).outerjoin(
            PublicAddress, PublicAddress.instance_id == Instance.id).where(
            Instance.state == "running", PublicAddress.public_ip.is_(None)).limit(limit)).all()
        for instance in bare:
            if ensure_public(session, settings, component, instance) is None:
                break                                  # the pool is empty
            given += 1
    return len(doomed) + given


# -- lookups --------------------------------------------------------------------------------------

def _check_ip(value: str, parameter: str = "PublicIp") -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError):
        raise InvalidParameterValue(f"Invalid value '{value}' for {parameter}") from None


def _not_yours(public_ip: str) -> ClientError:
    return ClientError("AuthFailure", f"The address '{public_ip}' does not belong to you.")


def _by_ip(session, account_id: str, public_ip: str) -> PublicAddress:
    row = session.get(PublicAddress, _check_ip(public_ip))
    if row is None or row.auto_assigned or row.account_id != account_id:
        raise _not_yours(public_ip)
    return row


def _by_allocation(session, account_id: str, allocation_id: str) -> PublicAddress:
    row = session.scalar(select(PublicAddress).where(
        PublicAddress.allocation_id == allocation_id))
    if row is None or row.auto_assigned or row.account_id != account_id:
        raise ClientError("InvalidAllocationID.NotFound",
                          f"The allocation ID '{allocation_id}' does not exist")
    return row


def _one_of(public_ip, other, other_name: str) -> None:
    if public_ip and other:
        raise InvalidParameterCombination(f"You may specify either PublicIp or {other_name}, "
                                          "not both")
    if not public_ip and not other:
        raise MissingParameter(f"The request must contain the parameter PublicIp or "
                               f"{other_name}")


def _detach(session, settings, component, row: PublicAddress) -> None:
    """Unassociate ``row``; its instance gets a new automatic address."""
    instance_id = row.instance_id
    row.instance_id = row.association_id = None
    session.flush()
    network_sync.changed(session, component, addresses=[row.public_ip])
    if instance_id:
        instance = session.get(Instance, instance_id)
        if instance is not None:
            ensure_public(session, settings, component, instance)


# -- the API --------------------------------------------------------------------------------------

def _item(row: PublicAddress, private_ips: dict[str, str], tag_list: list | None) -> dict:
    item = {"PublicIp": row.public_ip, "AllocationId": row.allocation_id, "Domain": row.domain,
            "Tags": list(tag_list or [])}
    if row.instance_id:
        item["InstanceId"] = row.instance_id
        item["AssociationId"] = row.association_id
        if private_ips.get(row.instance_id):
            item["PrivateIpAddress"] = private_ips[row.instance_id]
    return item


@operation
def allocate_address(ctx, domain: str | None = None, address: str | None = None,
                     tag_specifications: list[dict] | None = None, **_) -> dict:
    """AllocateAddress: a free pool address for the caller (AddressLimitExceeded if none)."""
    require_managed(ctx, "AllocateAddress")
    domain = domain or "standard"
    if domain not in ("standard", "vpc"):
        raise InvalidParameterValue(f"Invalid value '{domain}' for domain.")
    if address:
        ip = _check_ip(address, "Address")
        if ip not in set(pool(ctx.settings)):
            raise InvalidParameterValue(f"The address {ip} is not in the public address pool")
        if ip in _reserved(ctx.component) or ctx.db.get(PublicAddress, ip) is not None:
            raise ClientError("InvalidIPAddress.InUse", f"The address {ip} is in use")
    else:
        got = pick(ctx.db, ctx.settings, ctx.component)
        if not got:
            raise ClientError("AddressLimitExceeded", "Too many addresses allocated: the "
                                                      "public address pool is exhausted")
        ip = got[0]
    row = PublicAddress(public_ip=ip, allocation_id=ids.ec2_id("allocation"),
                        account_id=ctx.account_id, domain=domain)
    ctx.db.add(row)
    ctx.db.flush()
    tags.apply_tag_specifications(ctx.db, ctx.account_id, tag_specifications,
                                  {row.allocation_id: "elastic-ip"})
    network_sync.changed(ctx.db, ctx.component, addresses=[ip])
    return {"PublicIp": ip, "AllocationId": row.allocation_id, "Domain": domain}


@operation
def associate_address(ctx, instance_id: str | None = None, public_ip: str | None = None,
                      allocation_id: str | None = None,
                      allow_reassociation: bool | None = None,
                      network_interface_id: str | None = None, **_) -> dict:
    """AssociateAddress: the caller's address to one of its live instances."""
    from eucalyptus.services.ec2.instances import owned_instances
    require_managed(ctx, "AssociateAddress")
    if network_interface_id:
        raise InvalidParameterValue("Network interfaces are not supported by this cloud")
    if not instance_id:
        raise MissingParameter("The request must contain the parameter instanceId")
    _one_of(public_ip, allocation_id, "AllocationId")
    row = (_by_ip(ctx.db, ctx.account_id, public_ip) if public_ip
           else _by_allocation(ctx.db, ctx.account_id, allocation_id))
    (instance,) = owned_instances(ctx.db, ctx.account_id, [instance_id])
    if instance.state not in LIVE:
        raise ClientError("IncorrectInstanceState", f"The instance '{instance.id}' is not in "
                                                    "a valid state for this operation.")
    if row.instance_id == instance.id:
        return {"AssociationId": row.association_id}
    if row.instance_id and allocation_id and not allow_reassociation:
        raise ClientError("Resource.AlreadyAssociated", f"The address with allocation id "
                          f"[{row.allocation_id}] is already associated with {row.instance_id}")
    held = list(ctx.db.scalars(select(PublicAddress).where(
        PublicAddress.instance_id == instance.id)))
    _let_go(ctx.db, ctx.component, held)           # its automatic address back to the pool
    previous = row.instance_id
    row.instance_id, row.association_id = instance.id, ids.ec2_id("association")
    ctx.db.flush()
    network_sync.changed(ctx.db, ctx.component, addresses=[row.public_ip])
    if previous:
        other = ctx.db.get(Instance, previous)
        if other is not None:
            ensure_public(ctx.db, ctx.settings, ctx.component, other)
    return {"AssociationId": row.association_id}


@operation
def disassociate_address(ctx, public_ip: str | None = None, association_id: str | None = None,
                         **_) -> dict:
    """DisassociateAddress: the instance gets a new automatic address if the pool has one."""
    _one_of(public_ip, association_id, "AssociationId")
    if public_ip:
        row = _by_ip(ctx.db, ctx.account_id, public_ip)
    else:
        row = ctx.db.scalar(select(PublicAddress).where(
            PublicAddress.association_id == association_id,
            PublicAddress.account_id == ctx.account_id,
            PublicAddress.auto_assigned.is_(False)))
        if row is None:
            raise ClientError("InvalidAssociationID.NotFound",
                              f"The association ID '{association_id}' does not exist")
    if row.instance_id:
        _detach(ctx.db, ctx.settings, ctx.component, row)
    return {}


@operation
def release_address(ctx, public_ip: str | None = None, allocation_id: str | None = None,
                    **_) -> dict:
    """ReleaseAddress: only the owner; an associated standard address is disassociated first,
    an associated vpc one is InvalidIPAddress.InUse."""
    _one_of(public_ip, allocation_id, "AllocationId")
    row = (_by_ip(ctx.db, ctx.account_id, public_ip) if public_ip
           else _by_allocation(ctx.db, ctx.account_id, allocation_id))
    if row.instance_id:
        if row.domain == "vpc":
            raise ClientError("InvalidIPAddress.InUse", f"Address {row.public_ip} is in use "
                              f"by {row.instance_id}")
        _detach(ctx.db, ctx.settings, ctx.component, row)
    ctx.db.delete(row)
    ctx.db.flush()
    tags.forget(ctx.db, [row.allocation_id])
    network_sync.changed(ctx.db, ctx.component, addresses=[row.public_ip])
    return {}


ADDRESS_FILTERS: filter_engine.FilterTable = {
    "allocation-id": "AllocationId",
    "association-id": "AssociationId",
    "domain": "Domain",
    "instance-id": "InstanceId",
    "network-interface-id": "NetworkInterfaceId",
    "network-interface-owner-id": "NetworkInterfaceOwnerId",
    "private-ip-address": "PrivateIpAddress",
    "public-ip": "PublicIp",
    **filter_engine.TAG_FILTERS,
}


def _verbose(ctx) -> list[dict]:
    rows = {r.public_ip: r for r in ctx.db.scalars(select(PublicAddress))}
    owners = dict(ctx.db.execute(select(Account.id, Account.name)).all())
    out = []
    for ip in list(dict.fromkeys([*pool(ctx.settings), *sorted(rows)])):
        row = rows.get(ip)
        if row is None:
            out.append({"PublicIp": ip, "Domain": "standard", "InstanceId": "available"})
            continue
        holder = row.instance_id or "nobody"
        item = {"PublicIp": ip, "AllocationId": row.allocation_id, "Domain": row.domain,
                "InstanceId": f"{holder} ({owners.get(row.account_id, row.account_id)})"}
        if row.association_id:
            item["AssociationId"] = row.association_id
        out.append(item)
    return out


@operation
def describe_addresses(ctx, public_ips: list[str] | None = None,
                       allocation_ids: list[str] | None = None,
                       filters: list[dict] | None = None, **_) -> dict:
    """DescribeAddresses: the caller's elastic addresses (or, for the cloud administrator
    asking ``verbose``, the whole pool)."""
    filter_engine.validate(filters, ADDRESS_FILTERS)
    asked = list(public_ips or [])
    if VERBOSE in asked:
        asked.remove(VERBOSE)
        principal = ctx.principal
        if principal is not None and principal.is_cloud_admin and not asked \
                and not allocation_ids:
            return {"Addresses": filter_engine.apply(_verbose(ctx), filters, ADDRESS_FILTERS)}
    wanted = [_check_ip(ip) for ip in asked]
    rows = list(ctx.db.scalars(select(PublicAddress).where(
        PublicAddress.account_id == ctx.account_id,
        PublicAddress.auto_assigned.is_(False)).order_by(PublicAddress.public_ip)))
    if wanted:
        have = {r.public_ip for r in rows}
        for ip in wanted:
            if ip not in have:
                raise ClientError("InvalidAddress.NotFound", f"Address '{ip}' not found.")
        rows = [r for r in rows if r.public_ip in set(wanted)]
    if allocation_ids:
        have = {r.allocation_id for r in rows}
        for aid in allocation_ids:
            if aid not in have:
                raise ClientError("InvalidAllocationID.NotFound",
                                  f"The allocation ID '{aid}' does not exist")
        rows = [r for r in rows if r.allocation_id in set(allocation_ids)]
    instance_ids = [r.instance_id for r in rows if r.instance_id]
    private = dict(ctx.db.execute(select(Instance.id, Instance.private_ip).where(
        Instance.id.in_(instance_ids))).all()) if instance_ids else {}
    tag_map = tags.tags_of(ctx.db, ctx.account_id, [r.allocation_id for r in rows])
    items = [_item(r, private, tag_map.get(r.allocation_id)) for r in rows]
    return {"Addresses": filter_engine.apply(items, filters, ADDRESS_FILTERS)}

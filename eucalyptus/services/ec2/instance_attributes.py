"""Describe/Modify/ResetInstanceAttribute: instanceType, userData, kernel, ramdisk,
disableApiTermination (and the read-only rootDeviceName, groupSet, blockDeviceMapping).

instanceType, userData, kernel and ramdisk only change while an instance is stopped, and
instance-store instances never are: changing them is IncorrectInstanceState, as EC2 answers
for a running instance. disableApiTermination changes any time; while true,
TerminateInstances refuses the instance (OperationNotPermitted).
"""
from __future__ import annotations

import json

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.compute import Reservation
from eucalyptus.errors import ClientError, InvalidParameterCombination, InvalidParameterValue
from eucalyptus.services.ec2.instances import owned_instances

READABLE = ("instanceType", "userData", "kernel", "ramdisk", "disableApiTermination",
            "rootDeviceName", "groupSet", "blockDeviceMapping",
            "instanceInitiatedShutdownBehavior")
NEEDS_STOPPED = ("instanceType", "userData", "kernel", "ramdisk")
RESETTABLE = ("kernel", "ramdisk", "sourceDestCheck", "disableApiTermination")


def _one(ctx, instance_id):
    (row,) = owned_instances(ctx.db, ctx.account_id, [instance_id] if instance_id else None)
    return row


def _not_stopped(row) -> ClientError:
    return ClientError("IncorrectInstanceState",
                       f"The instance '{row.id}' is not in the 'stopped' state.")


@operation
def describe_instance_attribute(ctx, instance_id: str | None = None,
                                attribute: str | None = None, **_) -> dict:
    if attribute not in READABLE:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    "Unknown attribute.")
    row = _one(ctx, instance_id)
    out: dict = {"InstanceId": row.id}
    if attribute == "instanceType":
        out["InstanceType"] = {"Value": row.instance_type}
    elif attribute == "userData":
        out["UserData"] = {"Value": row.user_data} if row.user_data else {}
    elif attribute == "kernel":
        out["KernelId"] = {"Value": row.kernel_id} if row.kernel_id else {}
    elif attribute == "ramdisk":
        out["RamdiskId"] = {"Value": row.ramdisk_id} if row.ramdisk_id else {}
    elif attribute == "disableApiTermination":
        out["DisableApiTermination"] = {"Value": row.disable_api_termination}
    elif attribute == "rootDeviceName":
        out["RootDeviceName"] = {"Value": row.root_device_name}
    elif attribute == "groupSet":
        res = ctx.db.get(Reservation, row.reservation_id)
        out["Groups"] = [{"GroupId": g, "GroupName": n}
                         for g, n in json.loads(res.security_groups or "[]")]
    elif attribute == "blockDeviceMapping":
        from eucalyptus.services.ec2.ebs_instances import decorate
        item = {"InstanceId": row.id}
        decorate(ctx.db, [item])
        out["BlockDeviceMappings"] = item["BlockDeviceMappings"]
    else:
        from eucalyptus.services.ec2.ebs_instances import root_device_of
        behaviour = "stop" if root_device_of(ctx.db, row.id) else "terminate"
        out["InstanceInitiatedShutdownBehavior"] = {"Value": behaviour}
    return out


def _value(attr: dict | None):
    return None if attr is None else attr.get("Value")


@operation
def modify_instance_attribute(ctx, instance_id: str | None = None,
                              attribute: str | None = None, value: str | None = None,
                              disable_api_termination: dict | None = None,
                              instance_type: dict | None = None,
                              user_data: dict | None = None, kernel: dict | None = None,
                              ramdisk: dict | None = None, **_) -> dict:
    row = _one(ctx, instance_id)
    changes = {"disableApiTermination": _value(disable_api_termination),
               "instanceType": _value(instance_type), "userData": _value(user_data),
               "kernel": _value(kernel), "ramdisk": _value(ramdisk)}
    if attribute is not None:
        if attribute not in changes:
            raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is "
                                        "invalid. Unknown attribute.")
        changes[attribute] = value
    given = {k: v for k, v in changes.items() if v is not None}
    if len(given) != 1:
        raise InvalidParameterCombination("Exactly one attribute must be modified at a time")
    (name, new), = given.items()
    if name in NEEDS_STOPPED:
        raise _not_stopped(row)
    if isinstance(new, str):
        if new.lower() not in ("true", "false"):
            raise InvalidParameterValue(f"Value ({new}) for parameter disableApiTermination "
                                        "is invalid. Expecting true or false.")
        new = new.lower() == "true"
    row.disable_api_termination = bool(new)
    ctx.db.flush()
    return {}


@operation
def reset_instance_attribute(ctx, instance_id: str | None = None,
                             attribute: str | None = None, **_) -> dict:
    if attribute not in RESETTABLE:
        raise InvalidParameterValue(f"Value ({attribute}) for parameter attribute is invalid. "
                                    f"Only {', '.join(RESETTABLE)} can be reset.")
    row = _one(ctx, instance_id)
    if attribute in ("kernel", "ramdisk"):
        raise _not_stopped(row)
    if attribute == "disableApiTermination":
        row.disable_api_termination = False
    ctx.db.flush()
    return {}

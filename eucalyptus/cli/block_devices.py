"""Block device mappings on the command line, written as euca2ools writes them.

    -b DEVICE=SNAPSHOT[:SIZE[:DELETE_ON_TERMINATION[:TYPE[:IOPS]]]]   an EBS device
    -b DEVICE=:SIZE[:...]                                             an empty EBS volume
    -b DEVICE=ephemeralN                                              an instance-store device
    -b DEVICE=none                                                    no device

``mappings_param(values, snapshot=None, root="/dev/sda1")`` gives the BlockDeviceMappings
member of RegisterImage, RunInstances or CreateImage; ``snapshot`` (euca-register
``--snapshot``) maps the root device to that snapshot unless ``-b`` maps the root already.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from eucalyptus.cli.connection import CommandError

_EPHEMERAL = re.compile(r"ephemeral[0-9]{1,2}")


def mapping_param(text: str) -> dict[str, Any]:
    """One ``-b`` value as a BlockDeviceMapping; CommandError when malformed."""
    device, sep, target = text.partition("=")
    if not sep or not device or not target:
        raise CommandError(f"block device mapping {text!r} is not DEVICE=MAPPED")
    if target.lower() == "none":
        return {"DeviceName": device, "NoDevice": ""}
    if _EPHEMERAL.fullmatch(target):
        return {"DeviceName": device, "VirtualName": target}
    fields = target.split(":")
    if len(fields) > 5:
        raise CommandError(f"block device mapping {text!r} has too many fields")
    fields += [""] * (5 - len(fields))
    snapshot, size, delete, vtype, iops = fields
    ebs: dict[str, Any] = {}
    if snapshot:
        if not snapshot.startswith("snap-"):
            raise CommandError(f"{snapshot!r} in {text!r} is not a snapshot id")
        ebs["SnapshotId"] = snapshot
    try:
        if size:
            ebs["VolumeSize"] = int(size)
        if iops:
            ebs["Iops"] = int(iops)
    except ValueError:
        raise CommandError(f"size and iops in {text!r} must be whole numbers") from None
    if delete:
        if delete.lower() not in ("true", "false"):
            raise CommandError(f"delete-on-termination in {text!r} must be true or false")
        ebs["DeleteOnTermination"] = delete.lower() == "true"
    if vtype:
        ebs["VolumeType"] = vtype
    if "SnapshotId" not in ebs and "VolumeSize" not in ebs:
        raise CommandError(f"block device mapping {text!r} needs a snapshot or a size")
    return {"DeviceName": device, "Ebs": ebs}


def mappings_param(values: Sequence[str] | None, snapshot: str | None = None,
                   root: str | None = None) -> list[dict[str, Any]]:
    out = [mapping_param(v) for v in values or []]
    root = root or "/dev/sda1"
    if snapshot and not any(m["DeviceName"] == root for m in out):
        out.insert(0, {"DeviceName": root, "Ebs": {"SnapshotId": snapshot}})
    return out

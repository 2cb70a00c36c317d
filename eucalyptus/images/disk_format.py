"""What kind of disk file an image is, from its first bytes: raw, or qcow2 (by QEMU's magic).

    fmt = disk_format(header)            # "qcow2" or "raw"
    why = unsafe_qcow2(header)           # "" when the qcow2 image stands on its own

A qcow2 image that names a backing file or an external data file would make QEMU open another
file of the host, so such images are refused wherever a user's disk enters the cloud (at
RegisterImage and again on the node before anything boots it). ``HEADER_BYTES`` is how much of
the file these need.
"""
from __future__ import annotations

import struct

QCOW2_MAGIC = b"QFI\xfb"
HEADER_BYTES = 512
_EXTERNAL_DATA_FILE = 1 << 2          # qcow2 v3 incompatible feature bit


def disk_format(header: bytes) -> str:
    return "qcow2" if header[:4] == QCOW2_MAGIC else "raw"


def unsafe_qcow2(header: bytes) -> str:
    """Why a qcow2 header may not be booted ("" when it may, or when it is not qcow2)."""
    if disk_format(header) != "qcow2":
        return ""
    if len(header) < 32:
        return "the qcow2 header is truncated"
    version, backing_offset, backing_size = struct.unpack(">IQI", header[4:20])
    if version not in (2, 3):
        return f"qcow2 version {version} is not supported"
    if backing_offset or backing_size:
        return "the qcow2 image names a backing file"
    if version == 3:
        if len(header) < 80:
            return "the qcow2 header is truncated"
        incompatible = struct.unpack(">Q", header[72:80])[0]
        if incompatible & _EXTERNAL_DATA_FILE:
            return "the qcow2 image uses an external data file"
    return ""

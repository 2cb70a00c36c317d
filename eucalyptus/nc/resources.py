"""What a node offers to instances: real host values capped by MAX_CORES/MAX_MEM/MAX_DISK.

``host_capacity(settings)`` reads the host (cores this process may run on, MemTotal from
/proc/meminfo, the size of the file system holding INSTANCE_PATH); a non-zero MAX_* setting
caps the value. ``report(...)`` subtracts what running instances use.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from eucalyptus.config import Settings
from eucalyptus.rpc.messages import NodeResources


@dataclass(frozen=True)
class Capacity:
    cores: int
    memory_mib: int
    disk_gib: int


@dataclass(frozen=True)
class Usage:
    """What one instance holds on the node."""
    cores: int
    memory_mib: int
    disk_gib: int


def _cap(real: int, limit: int) -> int:
    return min(real, limit) if limit > 0 else real


def host_memory_mib(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no MemTotal in {meminfo}")


def host_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def host_disk_gib(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).total // 2 ** 30


def host_capacity(settings: Settings) -> Capacity:
    return Capacity(cores=_cap(host_cores(), settings.max_cores),
                    memory_mib=_cap(host_memory_mib(), settings.max_mem),
                    disk_gib=_cap(host_disk_gib(settings.instance_path), settings.max_disk))


def report(host: str, capacity: Capacity, instances: list[Usage],
           hypervisor: str = "") -> NodeResources:
    """The node's resources: free = total minus what ``instances`` use (never below zero)."""
    used = Usage(sum(u.cores for u in instances), sum(u.memory_mib for u in instances),
                 sum(u.disk_gib for u in instances))
    return NodeResources(
        host=host, cores_total=capacity.cores,
        cores_free=max(capacity.cores - used.cores, 0),
        memory_total_mib=capacity.memory_mib,
        memory_free_mib=max(capacity.memory_mib - used.memory_mib, 0),
        disk_total_gib=capacity.disk_gib, disk_free_gib=max(capacity.disk_gib - used.disk_gib, 0),
        instances=len(instances), hypervisor=hypervisor)

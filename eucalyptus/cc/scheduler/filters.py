"""Scheduler filters: ``filter(node, size, zone) -> bool``, whether a node may take one more
instance of ``size``. Nodes are ``Candidate``s: a node's address, zone, enabled flag and its
free and total cores, memory and disk as the scheduler currently counts them."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable


@dataclass(frozen=True)
class Size:
    cores: int
    memory_mib: int
    disk_gib: int


@dataclass
class Candidate:
    address: str
    free: Size
    total: Size
    zone: str = ""
    enabled: bool = True
    instances: int = 0

    def copy(self) -> "Candidate":
        return replace(self)

    def take(self, size: Size) -> None:
        self.free = Size(self.free.cores - size.cores, self.free.memory_mib - size.memory_mib,
                         self.free.disk_gib - size.disk_gib)
        self.instances += 1

    @property
    def used_fraction(self) -> float:
        """How busy the node is: the largest used share of cores, memory and disk."""
        shares = [1 - f / t for f, t in ((self.free.cores, self.total.cores),
                                         (self.free.memory_mib, self.total.memory_mib),
                                         (self.free.disk_gib, self.total.disk_gib)) if t > 0]
        return max(shares) if shares else 1.0


Filter = Callable[[Candidate, Size, str], bool]


def node_enabled(node: Candidate, _size: Size, _zone: str) -> bool:
    """Only nodes that are up and enabled take instances."""
    return node.enabled


def in_zone(node: Candidate, _size: Size, zone: str) -> bool:
    """An instance asked for in a zone goes to a node of that zone (any zone when empty)."""
    return not zone or not node.zone or node.zone == zone


def fits_capacity(node: Candidate, size: Size, _zone: str) -> bool:
    """The node has the cores, memory and disk free for one more instance."""
    return (node.free.cores >= size.cores and node.free.memory_mib >= size.memory_mib
            and node.free.disk_gib >= size.disk_gib)

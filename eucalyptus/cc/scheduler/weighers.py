"""Scheduler weighers: among the nodes the filters let through, the lowest weight wins.

A weigher has ``weight(node)`` (any sortable value) and ``chosen(node)``, told which node got
the instance (ROUNDROBIN remembers it)."""
from __future__ import annotations

from typing import Any, Protocol

from eucalyptus.cc.scheduler.filters import Candidate


class Weigher(Protocol):
    def weight(self, node: Candidate) -> Any: ...
    def chosen(self, node: Candidate) -> None: ...


class _ByAddress:
    """GREEDY: always the first node by address that fits, so it fills before the next."""

    def weight(self, node: Candidate) -> Any:
        return node.address

    def chosen(self, node: Candidate) -> None:
        pass


class _BusiestFirst:
    """POWERSAVE: the node already busiest (by its largest used share) first, then by address;
    idle nodes only when the busy ones are full."""

    def weight(self, node: Candidate) -> Any:
        return (-node.used_fraction, -node.instances, node.address)

    def chosen(self, node: Candidate) -> None:
        pass


class RoundRobin:
    """ROUNDROBIN: the first node (by address) after the one chosen last, wrapping around."""

    def __init__(self) -> None:
        self.last = ""

    def weight(self, node: Candidate) -> Any:
        return (node.address <= self.last, node.address)

    def chosen(self, node: Candidate) -> None:
        self.last = node.address


by_address = _ByAddress()
busiest_first = _BusiestFirst()

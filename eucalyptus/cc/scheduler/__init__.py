"""Placement of instances on nodes: small filters and weighers, and the SCHEDPOLICY policies.

    nodes = [Candidate("10.0.0.1:8775", free=Size(4, 4096, 100), total=..., zone="z1"), ...]
    plan = place(policy("GREEDY"), nodes, Size(1, 256, 1), count=3, zone="z1")
    # -> ["10.0.0.1:8775", "10.0.0.1:8775", "10.0.0.1:8775"], at most ``count`` entries

A *filter* says whether a node may take one more instance; a *weigher* orders the nodes that
may (lower weight first). A policy is a list of filters plus one weigher:

    GREEDY      fill the first node (by address) before using the next
    ROUNDROBIN  each instance on the next node after the one used last
    POWERSAVE   the busiest node first, so idle nodes stay idle (and could be powered off)

``place`` picks nodes one instance at a time, taking each placement's size off the chosen
node's free figures, so a multi-instance request never overbooks a node. It returns fewer
entries than ``count`` when nothing more fits; the caller decides (MinCount) whether that is
enough.
"""
from __future__ import annotations

from eucalyptus.cc.scheduler.filters import (Candidate, Filter, Size, fits_capacity, in_zone,
                                             node_enabled)
from eucalyptus.cc.scheduler.weighers import (Weigher, busiest_first, by_address,
                                              RoundRobin)

__all__ = ["Candidate", "Size", "Policy", "policy", "place"]


class Policy:
    def __init__(self, name: str, filters: list[Filter], weigher: Weigher):
        self.name = name
        self.filters = filters
        self.weigher = weigher

    def choose(self, nodes: list[Candidate], size: Size, zone: str) -> Candidate | None:
        fitting = [n for n in nodes if all(f(n, size, zone) for f in self.filters)]
        if not fitting:
            return None
        chosen = min(fitting, key=self.weigher.weight)
        self.weigher.chosen(chosen)
        return chosen


STANDARD_FILTERS: list[Filter] = [node_enabled, in_zone, fits_capacity]
_ROUND_ROBIN = RoundRobin()


def policy(name: str) -> Policy:
    """The policy SCHEDPOLICY names (GREEDY, ROUNDROBIN, POWERSAVE); ValueError otherwise.
    ROUNDROBIN's position is kept for the life of the process."""
    name = name.upper()
    if name == "GREEDY":
        return Policy(name, STANDARD_FILTERS, by_address)
    if name == "ROUNDROBIN":
        return Policy(name, STANDARD_FILTERS, _ROUND_ROBIN)
    if name == "POWERSAVE":
        return Policy(name, STANDARD_FILTERS, busiest_first)
    raise ValueError(f"unknown scheduling policy {name!r}")


def place(chosen_policy: Policy, nodes: list[Candidate], size: Size, count: int,
          zone: str = "") -> list[str]:
    """Node addresses for up to ``count`` instances of ``size`` (see the module docstring).
    ``nodes`` are copied; the caller's figures are left alone."""
    pool = [n.copy() for n in nodes]
    out: list[str] = []
    for _ in range(count):
        node = chosen_policy.choose(pool, size, zone)
        if node is None:
            break
        node.take(size)
        out.append(node.address)
    return out

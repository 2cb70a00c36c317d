"""The scheduler's filters, weighers and policies."""
from __future__ import annotations

import pytest

from eucalyptus.cc.scheduler import Candidate, Size, place, policy

SMALL = Size(1, 256, 5)


def nodes(*free_cores: int, enabled=None) -> list[Candidate]:
    return [Candidate(f"10.0.0.{n + 1}:8775", Size(c, 4096, 100), Size(4, 4096, 100),
                      zone="z1", enabled=True if enabled is None else enabled[n])
            for n, c in enumerate(free_cores)]


def test_greedy_fills_the_first_node_first():
    assert place(policy("GREEDY"), nodes(4, 4), SMALL, 5) == ["10.0.0.1:8775"] * 4 + [
        "10.0.0.2:8775"]


def test_roundrobin_rotates_across_calls():
    p = policy("ROUNDROBIN")
    first = place(p, nodes(4, 4, 4), SMALL, 4)
    assert first == ["10.0.0.1:8775", "10.0.0.2:8775", "10.0.0.3:8775", "10.0.0.1:8775"]
    assert place(p, nodes(4, 4, 4), SMALL, 1) == ["10.0.0.2:8775"]


def test_powersave_packs_the_busiest_node():
    assert place(policy("POWERSAVE"), nodes(4, 1, 4), SMALL, 2) == ["10.0.0.2:8775",
                                                                    "10.0.0.1:8775"]


def test_capacity_zone_and_disabled_nodes_are_filtered():
    pool = nodes(1, 2, enabled=[True, False])
    assert place(policy("GREEDY"), pool, SMALL, 3) == ["10.0.0.1:8775"]
    assert place(policy("GREEDY"), pool, SMALL, 1, zone="other") == []
    assert pool[0].free.cores == 1          # the caller's figures are left alone


def test_unknown_policy():
    with pytest.raises(ValueError):
        policy("FASTEST")

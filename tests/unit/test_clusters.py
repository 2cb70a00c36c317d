"""The cloud controller's cluster registry (eucalyptus.clc.clusters) on a real database."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from eucalyptus.clc import clusters
from eucalyptus.config import load_settings, ports_from_base
from eucalyptus.db.clusters import ClusterRecord
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.errors import ClientError, InvalidParameterValue

B_CC, B_SC = "http://127.0.0.1:30001", "http://127.0.0.1:30003"


@pytest.fixture
def clc(tmp_path):
    settings = load_settings(tmp_path, env={}, overrides=ports_from_base(20000))
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    yield SimpleNamespace(name="clc", settings=settings, db=db)
    db.dispose()


def test_home_cluster_comes_from_the_settings(clc):
    (home,) = clusters.all(clc)
    assert home == clusters.Cluster("eucalyptus-1a", "http://127.0.0.1:20001",
                                    "http://127.0.0.1:20003", home=True)
    assert clusters.zones(clc) == ["eucalyptus-1a"]
    assert clusters.of_zone(clc, None) == clusters.of_zone(clc, "eucalyptus-1a") == home


def test_component_without_database_has_the_home_cluster_only(clc):
    bare = SimpleNamespace(settings=clc.settings)
    assert clusters.zones(bare) == ["eucalyptus-1a"]
    with pytest.raises(ClientError) as err:
        clusters.of_zone(bare, "eucalyptus-1b")
    assert err.value.code == "InvalidZone.NotFound"


def test_registered_clusters_follow_the_home_one_by_name(clc):
    for zone, port in (("zone-c", 40001), ("eucalyptus-1b", 30001)):
        cc, sc = clusters.check_new(clc, zone, f"http://127.0.0.1:{port}/",
                                    f"http://127.0.0.1:{port + 2}")
        assert not cc.endswith("/")
        clusters.store(clc, zone, cc, sc)
    assert clusters.zones(clc) == ["eucalyptus-1a", "eucalyptus-1b", "zone-c"]
    b = clusters.of_zone(clc, "eucalyptus-1b")
    assert (b.cc_url, b.sc_url, b.home) == (B_CC, B_SC, False)
    with pytest.raises(ClientError) as err:
        clusters.of_zone(clc, "zone-x")
    assert err.value.code == "InvalidZone.NotFound"
    assert clusters.route(clc, "zone-x").home          # a zone no longer registered
    assert clusters.route(clc, None).home
    assert clusters.route(clc, "zone-c").cc_url == "http://127.0.0.1:40001"


@pytest.mark.parametrize("zone, cc, sc", [
    ("Bad_Zone", B_CC, B_SC), ("", B_CC, B_SC), ("eucalyptus-1a", B_CC, B_SC),
    ("zone-b", "ftp://127.0.0.1:1", B_SC), ("zone-b", B_CC, "http://127.0.0.1:1/x"),
    ("zone-b", "http://:80", B_SC), ("zone-b", B_CC, "http://127.0.0.1:99999")])
def test_bad_registrations_are_refused(clc, zone, cc, sc):
    with pytest.raises(InvalidParameterValue):
        clusters.check_new(clc, zone, cc, sc)


def test_a_zone_registers_once(clc):
    clusters.store(clc, "zone-b", B_CC, B_SC)
    with pytest.raises(InvalidParameterValue):
        clusters.check_new(clc, "zone-b", B_CC, B_SC)
    with pytest.raises(InvalidParameterValue):      # a race past the check: the key holds
        clusters.store(clc, "zone-b", B_CC, B_SC)


def test_deregister(clc):
    clusters.store(clc, "zone-b", B_CC, B_SC)
    with pytest.raises(InvalidParameterValue):
        clusters.forget(clc, "eucalyptus-1a")
    clusters.forget(clc, "zone-b")
    assert clusters.zones(clc) == ["eucalyptus-1a"]
    with pytest.raises(ClientError) as err:
        clusters.forget(clc, "zone-b")
    assert err.value.code == "InvalidZone.NotFound"


def test_registry_is_cached_briefly_then_reread(clc, monkeypatch):
    assert clusters.zones(clc) == ["eucalyptus-1a"]
    with clc.db.session() as s:                    # another process registers a zone
        s.add(ClusterRecord(zone="zone-b", cc_url=B_CC, sc_url=B_SC))
    assert clusters.zones(clc) == ["eucalyptus-1a"]
    monkeypatch.setattr(clusters, "CACHE_SECONDS", 0.0)
    assert clusters.zones(clc) == ["eucalyptus-1a", "zone-b"]


def test_zone_clause_gives_unregistered_zones_to_the_home_cluster(clc):
    clusters.store(clc, "zone-b", B_CC, B_SC)
    clusters.store(clc, "zone-c", "http://127.0.0.1:40001", "http://127.0.0.1:40003")
    every = clusters.all(clc)
    with clc.db.session() as s:
        s.add(ClusterRecord(zone="renamed", cc_url="http://x:1", sc_url="http://x:2"))
    served = {}
    with clc.db.session() as s:
        for c in every:
            served[c.zone] = sorted(s.scalars(select(ClusterRecord.zone).where(
                clusters.zone_clause(ClusterRecord.zone, c, every))))
    assert served == {"eucalyptus-1a": ["renamed"], "zone-b": ["zone-b"],
                      "zone-c": ["zone-c"]}


def test_group_by_zone_keeps_order():
    rows = [SimpleNamespace(id=i, zone=z) for i, z in
            (("i-1", "a"), ("i-2", "b"), ("i-3", "a"))]
    assert clusters.group_by_zone(rows) == {"a": ["i-1", "i-3"], "b": ["i-2"]}

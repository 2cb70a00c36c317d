"""The lifecycle sweeper against a real database and blob store, with a clock it is given:
election by file lock, expiration in unversioned and versioned buckets, delete-marker
cleanup, stale uploads, and changes made after planning."""
from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from eucalyptus.config import load_settings
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.objects import Bucket, ObjectVersion, Part, Upload
from eucalyptus.drivers import objects as blob_drivers
from eucalyptus.services.s3 import lifecycle
from eucalyptus.walrus.sweeper import Action, LifecycleSweeper, plan_key

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 10, 12, 0)          # naive UTC, as the database keeps times


@pytest.fixture
def walrus(tmp_path):
    settings = load_settings(tmp_path, env={})
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    component = SimpleNamespace(settings=settings, db=db,
                                blobs=blob_drivers.load("fs", tmp_path / "walrus"))
    yield component
    db.dispose()


def blob(walrus, data: bytes = b"data") -> str:
    writer = walrus.blobs.writer()
    writer.write(data)
    return writer.commit()


def add_bucket(walrus, name: str, rules: list[dict], versioning: str = "") -> None:
    with walrus.db.session() as s:
        s.add(Bucket(name=name, account_id="000000000001", versioning=versioning,
                     lifecycle=lifecycle.dump(lifecycle.validate({"Rules": rules}))))


def add_version(walrus, bucket: str, key: str, when: dt.datetime, version_id: str = "null",
                marker: bool = False, latest: bool = True) -> str | None:
    data = None if marker else blob(walrus)
    with walrus.db.session() as s:
        if latest:
            for old in s.scalars(select(ObjectVersion).where(ObjectVersion.bucket == bucket,
                                                             ObjectVersion.key == key)):
                old.is_latest = False
            s.flush()
        s.add(ObjectVersion(bucket=bucket, key=key, version_id=version_id, is_latest=latest,
                            delete_marker=marker, account_id="000000000001", size=4,
                            blob=data, last_modified=when))
    return data


def versions(walrus, bucket: str) -> list[tuple[str, str, bool, bool]]:
    with walrus.db.session() as s:
        return [(r.key, r.version_id, r.is_latest, r.delete_marker) for r in s.scalars(
            select(ObjectVersion).where(ObjectVersion.bucket == bucket)
            .order_by(ObjectVersion.key, ObjectVersion.seq))]


def at(days: float) -> dt.datetime:
    return (T0 + dt.timedelta(days=days)).replace(tzinfo=UTC)


def sweeper(walrus, days: float) -> LifecycleSweeper:
    return LifecycleSweeper(walrus, interval=1, day_seconds=86400, clock=lambda: at(days))


def test_one_sweeper_elected_per_data_directory(walrus):
    first, second = sweeper(walrus, 0), sweeper(walrus, 0)
    assert first.elected() and first.elected()
    assert not second.elected()
    asyncio.run(first.stop())
    assert second.elected()
    asyncio.run(second.stop())


def test_unversioned_expiration_removes_rows_and_blobs(walrus):
    add_bucket(walrus, "b", [{"ID": "t", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                              "Expiration": {"Days": 1}}])
    gone = add_version(walrus, "b", "tmp/a", T0)
    kept = add_version(walrus, "b", "keep", T0)
    assert sweeper(walrus, 1).sweep().changes == 0          # due at midnight after a day
    report = sweeper(walrus, 1.6).sweep()
    assert report.expired == 1 and not report.errors
    assert versions(walrus, "b") == [("keep", "null", True, False)]
    assert set(walrus.blobs.blob_ids()) == {kept} and gone not in walrus.blobs.blob_ids()


def test_versioned_expiration_then_noncurrent_then_marker(walrus):
    add_bucket(walrus, "v", [
        {"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "m", "Status": "Enabled", "Filter": {},
         "Expiration": {"ExpiredObjectDeleteMarker": True}}], versioning="Enabled")
    add_version(walrus, "v", "k", T0, "v1")
    report = sweeper(walrus, 2).sweep()
    assert report.expired == 1
    rows = versions(walrus, "v")
    assert [(r[1], r[2], r[3]) for r in rows][0] == ("v1", False, False)
    assert rows[1][2:] == (True, True)                       # a delete marker is now latest
    # The marker was made "now" by the wall clock; sweep far enough after it.
    far = LifecycleSweeper(walrus, interval=1, day_seconds=86400,
                           clock=lambda: dt.datetime.now(UTC) + dt.timedelta(days=3))
    report = far.sweep()
    assert (report.noncurrent, report.markers) == (1, 1)
    assert versions(walrus, "v") == [] and list(walrus.blobs.blob_ids()) == []


def test_noncurrent_kept_when_newer_noncurrent_versions_asked(walrus):
    add_bucket(walrus, "n", [{"ID": "x", "Status": "Enabled", "Filter": {},
                              "NoncurrentVersionExpiration": {"NoncurrentDays": 1,
                                                              "NewerNoncurrentVersions": 1}}],
               versioning="Enabled")
    for i in range(4):
        add_version(walrus, "n", "k", T0 + dt.timedelta(hours=i), f"v{i}")
    report = sweeper(walrus, 5).sweep()
    assert report.noncurrent == 2                            # v0, v1 go; v2 kept; v3 current
    assert [r[1] for r in versions(walrus, "n")] == ["v2", "v3"]


def test_stale_uploads_aborted_with_their_parts(walrus):
    add_bucket(walrus, "u", [{"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "big/"},
                              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}])
    part_blob = blob(walrus, b"part")
    with walrus.db.session() as s:
        s.add(Upload(upload_id="up1", bucket="u", key="big/file", account_id="000000000001",
                     created_at=T0))
        s.add(Upload(upload_id="up2", bucket="u", key="small/file", account_id="000000000001",
                     created_at=T0))
        s.flush()
        s.add(Part(upload_id="up1", part_number=1, size=4, blob=part_blob))
    assert sweeper(walrus, 1).sweep().uploads == 0
    assert sweeper(walrus, 3).sweep().uploads == 1
    with walrus.db.session() as s:
        assert [u.upload_id for u in s.scalars(select(Upload))] == ["up2"]
        assert list(s.scalars(select(Part))) == []
    assert part_blob not in set(walrus.blobs.blob_ids())


def test_object_rewritten_after_planning_is_left_alone(walrus):
    rules = [{"ID": "t", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
    add_bucket(walrus, "r", rules)
    add_version(walrus, "r", "k", T0)
    with walrus.db.session() as s:
        rows = list(s.scalars(select(ObjectVersion).where(ObjectVersion.bucket == "r")))
        s.expunge_all()
    planned = plan_key(lifecycle.load(lifecycle.dump(rules)), rows, at(3), 86400)
    assert planned == [Action.on("expire", rows[0])]
    with walrus.db.session() as s:                           # overwritten meanwhile
        s.delete(s.get(ObjectVersion, rows[0].seq))
        s.flush()
        s.add(ObjectVersion(bucket="r", key="k", version_id="null", account_id="000000000001",
                            blob=blob(walrus, b"new"), last_modified=T0 + dt.timedelta(days=3)))
    assert not sweeper(walrus, 3)._apply("r", planned[0])
    assert versions(walrus, "r") == [("k", "null", True, False)]

"""The lifecycle sweeper: carries out buckets' lifecycle rules in the background.

Walrus runs several worker processes; the sweeper runs in exactly one of them at a time. Each
worker starts a ``LifecycleSweeper``; before every run it tries to take an exclusive lock on
``DIR/run/walrus-lifecycle.lock`` (``flock``, held for the life of the process), so one worker
sweeps and, should it die, another takes over at its next turn.

A run (every WALRUS_LIFECYCLE_INTERVAL seconds, the first one right after start) visits each
bucket that has a lifecycle configuration and, as decided by ``services.s3.lifecycle``:

* expires current versions: a delete marker in a versioned (or suspended) bucket, removal
  otherwise: the same ``versioning.install`` / ``versioning.remove`` DeleteObject uses;
* removes noncurrent versions (and noncurrent delete markers) past NoncurrentDays;
* removes delete markers left as the only version of their key (ExpiredObjectDeleteMarker);
* aborts multipart uploads older than DaysAfterInitiation, removing their parts.

Every change is its own short transaction that re-reads the row under the key's lock and
skips it if the object changed since it was planned; blobs are removed only after the
transaction that stopped naming them commits. A "day" lasts WALRUS_LIFECYCLE_DAY_SECONDS.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sqlalchemy import select

from eucalyptus.aws.dispatch import RequestContext
from eucalyptus.db.objects import Bucket, ObjectVersion, Part, Upload
from eucalyptus.db.schema import utcnow
from eucalyptus.services.s3 import lifecycle, versioning
from eucalyptus.services.s3.lifecycle import Version
from eucalyptus.services.s3.storage import defer_blob_delete, lock_key

log = logging.getLogger("eucalyptus.walrus.lifecycle")
UTC = dt.timezone.utc
LOCK_NAME = "walrus-lifecycle.lock"
KEYS_PER_BATCH = 500
REPORT_FIELDS = {"expire": "expired", "noncurrent": "noncurrent", "marker": "markers"}


def aware(when: dt.datetime) -> dt.datetime:
    """A database time (naive UTC) as an aware datetime."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@dataclass
class SweepReport:
    """What one run did."""
    expired: int = 0            # current versions expired (marker placed or removed)
    noncurrent: int = 0         # noncurrent versions removed
    markers: int = 0            # lone delete markers removed
    uploads: int = 0            # multipart uploads aborted
    skipped: int = 0            # planned changes dropped because the object changed meanwhile
    errors: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return self.expired + self.noncurrent + self.markers + self.uploads


@dataclass(frozen=True)
class Action:
    """One planned change to the version ``seq`` of ``key``; ``version_id`` and ``blob`` tell
    that row apart from a later one that reused its ``seq``."""
    kind: str                   # "expire" | "noncurrent" | "marker"
    key: str
    seq: int
    version_id: str = ""
    blob: str | None = None

    @classmethod
    def on(cls, kind: str, row: ObjectVersion) -> "Action":
        return cls(kind, row.key, row.seq, row.version_id, row.blob)

    def still_names(self, row: ObjectVersion | None) -> bool:
        return (row is not None and row.key == self.key and row.version_id == self.version_id
                and row.blob == self.blob)


def plan_key(rules: list[dict], versions: list[ObjectVersion], now: dt.datetime,
             day: float) -> list[Action]:
    """The changes due for one key; ``versions`` newest first."""
    actions: list[Action] = []
    if not versions:
        return actions
    newest = versions[0]
    if (newest.is_latest and not newest.delete_marker
            and lifecycle.current_expired(rules, _view(newest), now, day)):
        actions.append(Action.on("expire", newest))
    remaining = 0
    for index, row in enumerate(versions[1:], start=1):
        became_noncurrent = aware(versions[index - 1].last_modified)
        if lifecycle.noncurrent_expired(rules, _view(row), became_noncurrent, index - 1, now,
                                        day):
            actions.append(Action.on("noncurrent", row))
        else:
            remaining += 1
    if (newest.is_latest and newest.delete_marker and remaining == 0
            and lifecycle.marker_expired(rules, newest.key, other_versions=0)):
        actions.append(Action.on("marker", newest))
    return actions


def _view(row: ObjectVersion) -> Version:
    return Version(key=row.key, version_id=row.version_id, created=aware(row.last_modified),
                   size=row.size or 0, is_latest=row.is_latest,
                   is_delete_marker=row.delete_marker, tags=_tags(row.tags))


def _tags(text: str | None) -> dict[str, str]:
    from eucalyptus.services.s3 import tagging
    return tagging.load(text)


class LifecycleSweeper:
    """Applies lifecycle rules for one Walrus component (see the module docstring)."""

    def __init__(self, component: Any, interval: float | None = None,
                 day_seconds: float | None = None,
                 clock: Callable[[], dt.datetime] | None = None):
        settings = component.settings
        self.component = component
        self.interval = float(interval or settings.walrus_lifecycle_interval)
        self.day = float(day_seconds or settings.walrus_lifecycle_day_seconds)
        self.clock = clock or (lambda: dt.datetime.now(UTC))
        self.lock_path = settings.path("run", LOCK_NAME)
        self._lock_fd: int | None = None
        self._task: asyncio.Task | None = None

    # -- running ----------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)     # closing the descriptor releases the lock
            self._lock_fd = None

    def elected(self) -> bool:
        """Whether this process holds (or just took) the sweeper lock."""
        if self._lock_fd is not None:
            return True
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.elected():
                try:
                    report = await loop.run_in_executor(None, self.sweep)
                    if report.changes or report.errors:
                        log.info("lifecycle: %d expired, %d noncurrent removed, %d markers "
                                 "removed, %d uploads aborted, %d skipped, %d errors",
                                 report.expired, report.noncurrent, report.markers,
                                 report.uploads, report.skipped, len(report.errors))
                except Exception:
                    log.exception("lifecycle sweep failed")
            await asyncio.sleep(self.interval)

    # -- one run ----------------------------------------------------------------------------
    def sweep(self) -> SweepReport:
        """One pass over every bucket with a lifecycle configuration."""
        report = SweepReport()
        now = self.clock()
        with self.component.db.session() as session:
            buckets = list(session.execute(select(Bucket.name, Bucket.lifecycle).where(
                Bucket.lifecycle.is_not(None))))
        for name, text in buckets:
            rules = [r for r in lifecycle.load(text) if r.get("Status") == "Enabled"]
            if not rules:
                continue
            try:
                self._sweep_objects(name, rules, now, report)
                self._sweep_uploads(name, rules, now, report)
            except Exception as exc:  # one bucket's trouble must not stop the others
                log.exception("lifecycle sweep of bucket %s failed", name)
                report.errors.append(f"{name}: {exc}")
        return report

    def _key_groups(self, bucket: str) -> Iterator[list[ObjectVersion]]:
        """Every key's versions (newest first), read a batch of keys at a time."""
        after = None
        while True:
            with self.component.db.session() as session:
                query = select(ObjectVersion.key).where(ObjectVersion.bucket == bucket)
                if after is not None:
                    query = query.where(ObjectVersion.key > after)
                keys = list(session.scalars(query.distinct().order_by(ObjectVersion.key)
                                            .limit(KEYS_PER_BATCH)))
                if not keys:
                    return
                rows = list(session.scalars(select(ObjectVersion).where(
                    ObjectVersion.bucket == bucket, ObjectVersion.key.in_(keys))
                    .order_by(ObjectVersion.key, ObjectVersion.seq.desc())))
                session.expunge_all()
            groups: dict[str, list[ObjectVersion]] = {}
            for row in rows:
                groups.setdefault(row.key, []).append(row)
            yield from groups.values()
            after = keys[-1]

    def _sweep_objects(self, bucket: str, rules: list[dict], now: dt.datetime,
                       report: SweepReport) -> None:
        for versions in self._key_groups(bucket):
            for action in plan_key(rules, versions, now, self.day):
                if self._apply(bucket, action):
                    counter = REPORT_FIELDS[action.kind]
                    setattr(report, counter, getattr(report, counter) + 1)
                else:
                    report.skipped += 1

    def _context(self, session) -> RequestContext:
        return RequestContext(request_id="lifecycle", service="s3", operation="Lifecycle",
                              region=self.component.settings.region, db=session,
                              settings=self.component.settings, component=self.component)

    def _run(self, change: Callable[[RequestContext], bool]) -> bool:
        """Run ``change`` in its own transaction; after-commit work (blob removal) follows."""
        with self.component.db.session() as session:
            ctx = self._context(session)
            done = change(ctx)
        for cleanup in ctx.extra.get("after_commit", ()):
            try:
                cleanup()
            except OSError as exc:
                log.warning("lifecycle cleanup failed: %s", exc)
        return done

    def _apply(self, bucket_name: str, action: Action) -> bool:
        def change(ctx: RequestContext) -> bool:
            session = ctx.db
            bucket = session.get(Bucket, bucket_name)
            if bucket is None:
                return False
            lock_key(session, bucket_name, action.key)
            row = session.get(ObjectVersion, action.seq, populate_existing=True)
            if not action.still_names(row):
                return False
            if action.kind == "expire":
                if not row.is_latest or row.delete_marker:
                    return False
                if bucket.versioning in versioning.STATES:
                    versioning.install(ctx, bucket, ObjectVersion(
                        bucket=bucket.name, key=row.key,
                        version_id=versioning.new_version_id(bucket),
                        account_id=bucket.account_id, owner_arn="", size=0, etag="",
                        blob=None, last_modified=utcnow(), delete_marker=True))
                else:
                    versioning.remove(ctx, bucket, row)
                return True
            if action.kind == "noncurrent":
                if row.is_latest:
                    return False
                versioning.remove(ctx, bucket, row)
                return True
            others = session.scalars(select(ObjectVersion.seq).where(
                ObjectVersion.bucket == bucket_name, ObjectVersion.key == action.key,
                ObjectVersion.seq != action.seq).limit(1)).first()
            if not (row.is_latest and row.delete_marker) or others is not None:
                return False
            versioning.remove(ctx, bucket, row)
            return True
        return self._run(change)

    def _sweep_uploads(self, bucket: str, rules: list[dict], now: dt.datetime,
                       report: SweepReport) -> None:
        with self.component.db.session() as session:
            uploads = list(session.execute(select(Upload.upload_id, Upload.key,
                                                  Upload.created_at)
                                           .where(Upload.bucket == bucket)))
        for upload_id, key, created in uploads:
            if lifecycle.upload_stale(rules, key, aware(created), now, self.day):
                if self._run(lambda ctx, uid=upload_id: abort_upload(ctx, uid)):
                    report.uploads += 1


def abort_upload(ctx: RequestContext, upload_id: str) -> bool:
    """Remove an upload and its parts (their blobs after commit); False when already gone."""
    session = ctx.db
    lock_key(session, "upload", upload_id)
    upload = session.get(Upload, upload_id, populate_existing=True)
    if upload is None:
        return False
    for part in session.scalars(select(Part).where(Part.upload_id == upload_id)):
        defer_blob_delete(ctx, part.blob)
        session.delete(part)
    session.delete(upload)
    return True

"""Start-up recovery of the blob store after a crash.

Uploads write a blob (durably) before the row that names it commits, and old blobs are
removed only after the commit that dropped them. A crash can therefore leave (a) half-written
temporary files and (b) whole blobs no row names; never a row naming a missing blob.
``recover`` removes both before any worker serves: the store's own ``recover()`` for (a), and a
sweep removing every blob the object and part tables do not name for (b).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from eucalyptus.config import Settings
from eucalyptus.db.engine import Database
from eucalyptus.db.objects import ObjectVersion, Part
from eucalyptus.drivers import objects as blob_drivers

log = logging.getLogger("eucalyptus.walrus")


def referenced_blobs(db: Database) -> set[str]:
    with db.session() as session:
        named = set(session.scalars(select(ObjectVersion.blob)
                                    .where(ObjectVersion.blob.is_not(None))))
        named.update(session.scalars(select(Part.blob).where(Part.blob.is_not(None))))
    return named


def recover(settings: Settings, db: Database) -> tuple[int, int]:
    """(temporary files removed, unnamed blobs removed)."""
    store = blob_drivers.load("fs", settings.path("walrus"))
    temps = store.recover()
    orphans = store.remove_unnamed(referenced_blobs(db))
    if temps or orphans:
        log.info("walrus recovery: removed %d partial uploads and %d unnamed blobs", temps,
                 orphans)
    return temps, orphans

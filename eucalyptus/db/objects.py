"""Walrus' tables: buckets, object versions, multipart uploads and their parts.

Object bytes never live here: each version or part names an immutable blob of the blob store
(``eucalyptus.drivers.objects``) by its id. Every row carries the owning ``account_id``.

* ``Bucket``: name (global), owner account, location, versioning state ("" never enabled,
  "Enabled", "Suspended"), and the configuration documents other features keep as text:
  ``acl`` (JSON: owner + grants; None means private to the owner), ``policy``, ``cors``,
  ``lifecycle`` (their documents, None when unset) and ``tags`` (JSON object, None when unset).
* ``ObjectVersion``: one version of a key (or a delete marker). ``seq`` orders versions
  (newest highest); exactly one version per (bucket, key) has ``is_latest`` (a partial unique
  index holds that). Unversioned buckets keep a single version whose ``version_id`` is "null".
* ``Upload`` / ``Part``: a multipart upload in progress and its uploaded parts (kept apart
  until completion).

Keys compare byte-wise (SQLite's default; the "C" collation on PostgreSQL) so listings come
back in S3's order.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base, utcnow

KEY_TYPE = String(1024).with_variant(String(1024, collation="C"), "postgresql")
SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")


class Bucket(Base):
    __tablename__ = "s3_buckets"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    owner_arn: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    location: Mapped[str] = mapped_column(String(64), default="")
    versioning: Mapped[str] = mapped_column(String(16), default="")
    acl: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy: Mapped[str | None] = mapped_column(Text, nullable=True)
    cors: Mapped[str | None] = mapped_column(Text, nullable=True)
    lifecycle: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)


class ObjectVersion(Base):
    __tablename__ = "s3_objects"
    __table_args__ = (
        UniqueConstraint("bucket", "key", "version_id", name="uq_s3_objects_version"),
        Index("ix_s3_objects_latest", "bucket", "key", unique=True,
              sqlite_where=text("is_latest"), postgresql_where=text("is_latest")),
        Index("ix_s3_objects_key_seq", "bucket", "key", "seq"),
    )
    seq: Mapped[int] = mapped_column(SEQ_TYPE, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(ForeignKey("s3_buckets.name", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(KEY_TYPE)
    version_id: Mapped[str] = mapped_column(String(64))
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    delete_marker: Mapped[bool] = mapped_column(Boolean, default=False)
    account_id: Mapped[str] = mapped_column(String(12))
    owner_arn: Mapped[str] = mapped_column(String(512), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    etag: Mapped[str] = mapped_column(String(80), default="")
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_modified: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    headers: Mapped[str] = mapped_column(Text, default="{}")     # Content-Type & co (JSON)
    metadata_json: Mapped[str] = mapped_column("metadata", Text, default="{}")  # x-amz-meta-*
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(128), nullable=True)
    checksum_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    parts_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    storage_class: Mapped[str] = mapped_column(String(32), default="STANDARD")
    acl: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)


class Upload(Base):
    __tablename__ = "s3_uploads"
    __table_args__ = (Index("ix_s3_uploads_bucket_key", "bucket", "key", "created_at"),)
    upload_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    bucket: Mapped[str] = mapped_column(ForeignKey("s3_buckets.name", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(KEY_TYPE)
    account_id: Mapped[str] = mapped_column(String(12))
    initiator_arn: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    headers: Mapped[str] = mapped_column(Text, default="{}")
    metadata_json: Mapped[str] = mapped_column("metadata", Text, default="{}")
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    storage_class: Mapped[str] = mapped_column(String(32), default="STANDARD")
    acl: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[str | None] = mapped_column(Text, nullable=True)


class Part(Base):
    __tablename__ = "s3_parts"
    upload_id: Mapped[str] = mapped_column(ForeignKey("s3_uploads.upload_id", ondelete="CASCADE"),
                                           primary_key=True)
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    etag: Mapped[str] = mapped_column(String(80), default="")
    blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_modified: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    checksum_algorithm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(128), nullable=True)


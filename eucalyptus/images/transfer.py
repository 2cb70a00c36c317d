"""Moving bundles between a directory and Walrus with an S3 client (boto3/botocore).

``upload_bundle`` puts every part, then the manifest (so a manifest in Walrus always has its
parts), with the canned ACL ``aws-exec-read`` by default, creating the bucket when it does not
exist. ``download_bundle`` fetches the manifest and each part, checking every part's SHA-1 as
it streams in; a part that does not match is deleted and ``BundleError`` raised, so a download
never leaves a damaged part behind. Keys may carry a prefix: ``bucket/some/path`` puts the
bundle's files under ``some/path/``.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions

from eucalyptus.images import manifest as mf
from eucalyptus.images.progress import Reporter
from eucalyptus.images.unbundle import BundleError

CHUNK = 1024 * 1024
DEFAULT_ACL = "aws-exec-read"


@dataclass
class Location:
    bucket: str
    prefix: str                # "" or "some/path/" (always ending in "/")

    @classmethod
    def parse(cls, text: str) -> "Location":
        bucket, _, rest = text.strip().strip("/").partition("/")
        if not bucket:
            raise ValueError(f"{text!r} does not name a bucket")
        return cls(bucket, f"{rest.strip('/')}/" if rest.strip("/") else "")

    def key(self, name: str) -> str:
        return self.prefix + name


def _ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except botocore.exceptions.ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status != 404 and exc.response.get("Error", {}).get("Code") not in (
                "404", "NoSuchBucket", "NotFound"):
            raise
    try:
        s3.create_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise


def upload_bundle(s3: Any, manifest_path: Path, location: Location,
                  part_directory: Path | None = None, acl: str | None = DEFAULT_ACL,
                  progress: Reporter | None = None) -> str:
    """Upload the parts and the manifest; returns ``bucket/key`` of the manifest in Walrus."""
    manifest_path = Path(manifest_path)
    man = mf.parse(manifest_path.read_text())
    directory = Path(part_directory or manifest_path.parent)
    paths = [directory / part.filename for part in man.parts]
    for path in paths:
        if not path.is_file():
            raise BundleError(f"part {path.name} is missing from {directory}")
    _ensure_bucket(s3, location.bucket)
    extra = {"ACL": acl} if acl else {}
    total = sum(p.stat().st_size for p in paths) + manifest_path.stat().st_size
    progress = progress or Reporter()
    with progress.task(f"uploading {manifest_path.name}", total) as advance:
        for path in paths + [manifest_path]:
            with open(path, "rb") as body:
                s3.put_object(Bucket=location.bucket, Key=location.key(path.name), Body=body,
                              **extra)
            advance(path.stat().st_size)
    return f"{location.bucket}/{location.key(manifest_path.name)}"


def _fetch(s3: Any, bucket: str, key: str, target: Path, part: mf.Part | None,
           advance) -> None:
    tmp = target.with_name(f".{target.name}.downloading")
    digest = hashlib.sha1()
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with open(tmp, "wb") as out:
            while chunk := body.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                advance(len(chunk))
        if part is not None and digest.hexdigest() != part.digest:
            raise BundleError(f"part {part.filename} does not match its digest in the manifest "
                              "(corrupted or altered)")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def download_bundle(s3: Any, location: Location, manifest_name: str, directory: Path,
                    progress: Reporter | None = None) -> Path:
    """Download ``manifest_name`` and its parts into ``directory``; the manifest's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    raw = s3.get_object(Bucket=location.bucket, Key=location.key(manifest_name))["Body"].read()
    man = mf.parse(raw)
    progress = progress or Reporter()
    with progress.task(f"downloading {manifest_name}", man.bundled_size) as advance:
        for part in man.parts:
            _fetch(s3, location.bucket, location.key(part.filename), directory / part.filename,
                   part, advance)
    manifest_path = directory / manifest_name
    manifest_path.write_bytes(raw)
    return manifest_path


"""Snapshots in Walrus: a raw image streamed as chunk objects plus a manifest.

Layout in the snapshot bucket::

    <snapshot-id>/manifest.json      written last: its presence means the snapshot is whole
    <snapshot-id>/chunk-000000       one object per chunk of ``chunk_size`` bytes holding data

The manifest (JSON) records ``format``, ``snapshot_id``, ``volume_id``, ``size`` (bytes),
``chunk_size`` and ``chunks``: ``[index, sha256-hex]`` for each chunk that is not all zero.
Chunks that are holes or all zero are skipped on upload and left as holes on restore, so a
sparse volume's snapshot costs what its data costs. A restore checks every chunk's length and
digest against the manifest and fails (nothing left behind) on any mismatch.

``upload`` reads the image in a thread one chunk at a time, with ``concurrency`` PUTs in
flight; ``restore`` GETs chunks with the same bound and writes each at its offset. Memory stays
at about ``(concurrency + 1) * chunk_size``; the image is never held whole.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

from eucalyptus.drivers.volume.extents import has_data
from eucalyptus.sc.object_store import SnapshotObjects

FORMAT = "eucalyptus-sc-snapshot/1"
Progress = Callable[[int], None]


class SnapshotCorrupt(Exception):
    """A snapshot's manifest or chunks do not match what the manifest promises."""


def manifest_key(snapshot_id: str) -> str:
    return f"{snapshot_id}/manifest.json"


def chunk_key(snapshot_id: str, index: int) -> str:
    return f"{snapshot_id}/chunk-{index:06d}"


def chunk_count(size: int, chunk_size: int) -> int:
    return (size + chunk_size - 1) // chunk_size


def _read_chunk(fd: int, offset: int, length: int, zeros: bytes) -> tuple[bytes, str] | None:
    """The chunk at ``offset`` and its digest, or None when it is a hole or all zero."""
    if not has_data(fd, offset, offset + length):
        return None
    data = os.pread(fd, length, offset)
    if len(data) != length:
        raise OSError(f"short read at {offset}: {len(data)} of {length} bytes")
    if data == zeros[:length]:
        return None
    return data, hashlib.sha256(data).hexdigest()


def _raise_first(finished: set[asyncio.Task]) -> None:
    """Raise the first failure among ``finished`` (every one retrieved, none left unseen)."""
    failures = [t.exception() for t in finished if not t.cancelled()]
    for failure in failures:
        if failure is not None:
            raise failure


async def upload(store: SnapshotObjects, snapshot_id: str, volume_id: str, image: Path,
                 chunk_size: int, progress: Progress, concurrency: int = 4) -> dict:
    """Stream the raw ``image`` to Walrus as snapshot ``snapshot_id``; the manifest.

    ``progress(percent)`` is called as chunks are done (0-99; 100 once the manifest is in)."""
    fd = os.open(image, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        total = chunk_count(size, chunk_size)
        zeros = bytes(chunk_size)
        chunks: list[list] = []
        pending: set[asyncio.Task] = set()
        done = 0

        def advance() -> None:
            nonlocal done
            done += 1
            progress(min(99, done * 100 // max(total, 1)))

        async def put(index: int, data: bytes) -> None:
            await store.put(chunk_key(snapshot_id, index), data)
            advance()

        await store.ensure_bucket()
        try:
            for index in range(total):
                offset = index * chunk_size
                length = min(chunk_size, size - offset)
                found = await asyncio.to_thread(_read_chunk, fd, offset, length, zeros)
                if found is None:
                    advance()
                    continue
                data, digest = found
                chunks.append([index, digest])
                if len(pending) >= concurrency:
                    finished, pending = await asyncio.wait(
                        pending, return_when=asyncio.FIRST_COMPLETED)
                    _raise_first(finished)
                pending.add(asyncio.create_task(put(index, data)))
            while pending:
                finished, pending = await asyncio.wait(pending,
                                                       return_when=asyncio.FIRST_COMPLETED)
                _raise_first(finished)
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
    finally:
        os.close(fd)
    manifest = {"format": FORMAT, "snapshot_id": snapshot_id, "volume_id": volume_id,
                "size": size, "chunk_size": chunk_size, "chunks": chunks}
    await store.put(manifest_key(snapshot_id), json.dumps(manifest).encode())
    progress(100)
    return manifest


def check_manifest(manifest: object, snapshot_id: str) -> dict:
    """``manifest`` if it is a well-formed manifest of ``snapshot_id``; SnapshotCorrupt."""
    try:
        assert isinstance(manifest, dict) and manifest["format"] == FORMAT
        assert manifest["snapshot_id"] == snapshot_id
        size, chunk_size = manifest["size"], manifest["chunk_size"]
        assert isinstance(size, int) and size >= 0
        assert isinstance(chunk_size, int) and chunk_size > 0
        total = chunk_count(size, chunk_size)
        seen = set()
        for index, digest in manifest["chunks"]:
            assert isinstance(index, int) and 0 <= index < total and index not in seen
            assert isinstance(digest, str) and len(digest) == 64
            seen.add(index)
    except (AssertionError, KeyError, TypeError, ValueError):
        raise SnapshotCorrupt(f"the manifest of {snapshot_id} is not valid") from None
    return manifest


async def read_manifest(store: SnapshotObjects, snapshot_id: str) -> dict:
    """The checked manifest of ``snapshot_id``; ObjectMissing when there is none."""
    raw = await store.get(manifest_key(snapshot_id), limit=64 << 20)
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise SnapshotCorrupt(f"the manifest of {snapshot_id} is not JSON") from None
    return check_manifest(manifest, snapshot_id)


def _write_chunk(fd: int, offset: int, data: bytes, digest: str, where: str) -> None:
    if hashlib.sha256(data).hexdigest() != digest:
        raise SnapshotCorrupt(f"{where} does not match its digest")
    written = os.pwrite(fd, data, offset)
    if written != len(data):
        raise OSError(f"short write at {offset}")


async def restore(store: SnapshotObjects, manifest: dict, dest: Path, size: int,
                  progress: Progress, concurrency: int = 4) -> None:
    """Write the snapshot described by ``manifest`` to the new raw file ``dest`` of ``size``
    bytes (at least the snapshot's size); ``dest`` is removed when anything fails."""
    snapshot_id, chunk_size = manifest["snapshot_id"], manifest["chunk_size"]
    chunks = manifest["chunks"]
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, max(size, manifest["size"]))
        semaphore = asyncio.Semaphore(concurrency)
        done = 0

        async def fetch(index: int, digest: str) -> None:
            nonlocal done
            offset = index * chunk_size
            length = min(chunk_size, manifest["size"] - offset)
            key = chunk_key(snapshot_id, index)
            async with semaphore:
                data = await store.get(key, limit=chunk_size)
                if len(data) != length:
                    raise SnapshotCorrupt(f"{key} has {len(data)} bytes, not {length}")
                await asyncio.to_thread(_write_chunk, fd, offset, data, digest, key)
            done += 1
            progress(min(99, done * 100 // max(len(chunks), 1)))

        tasks = [asyncio.create_task(fetch(index, digest)) for index, digest in chunks]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    except BaseException:
        os.close(fd)
        Path(dest).unlink(missing_ok=True)
        raise
    os.close(fd)
    progress(100)


async def delete(store: SnapshotObjects, snapshot_id: str) -> int:
    """Remove every object of ``snapshot_id`` (manifest first); how many were removed."""
    await store.delete(manifest_key(snapshot_id))
    keys = await store.keys(f"{snapshot_id}/")
    for key in keys:
        await store.delete(key)
    return len(keys)

"""Every blob-store driver keeps the contract written in ``drivers/objects/base.py``."""
from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time

import pytest

from eucalyptus.drivers import objects
from eucalyptus.drivers.objects.base import BlobNotFound, blob_start


@pytest.fixture(params=sorted(objects.DRIVERS))
def store(request, tmp_path):
    return objects.load(request.param, tmp_path / "blobs")


def _write(store, *pieces: bytes) -> str:
    writer = store.writer()
    for piece in pieces:
        writer.write(piece)
    return writer.commit()


def test_write_read_delete(store):
    blob = _write(store, b"hello ", b"world")
    assert store.size(blob) == 11
    with store.open(blob) as handle:
        assert handle.read() == b"hello world"
    store.delete(blob)
    store.delete(blob)                      # idempotent
    with pytest.raises(BlobNotFound):
        store.open(blob)
    with pytest.raises(BlobNotFound):
        store.size("0" * 32)


def test_a_crash_mid_write_leaves_nothing_after_recover(store, request):
    before = set(store.blob_ids())
    writer = store.writer()
    writer.write(b"partial")
    assert set(store.blob_ids()) == before          # not visible before commit
    writer.abort()
    writer.abort()                                  # idempotent
    name = request.node.callspec.params["store"]
    crash = ("import os, sys; from eucalyptus.drivers import objects; "
             f"w = objects.load({name!r}, sys.argv[1]).writer(); w.write(b'x' * 100000); "
             "os._exit(9)")
    result = subprocess.run([sys.executable, "-c", crash, str(store.root)])
    assert result.returncode == 9
    assert store.recover() >= 1
    assert store.recover() == 0
    assert set(store.blob_ids()) == before


def test_open_readers_survive_delete(store):
    blob = _write(store, b"x" * 100000)
    handle = store.open(blob)
    store.delete(blob)
    assert len(handle.read()) == 100000
    handle.close()


def test_concatenate_and_copy_range(store):
    a, b = _write(store, b"abc"), _write(store, b"defgh")
    joined = store.concatenate([a, b, a])
    with store.open(joined) as handle:
        assert handle.read() == b"abcdefghabc"
    part = store.copy_range(joined, 2, 4)
    with store.open(part) as handle:
        assert handle.read() == b"cdef"
    tail = store.copy_range(joined, 8)
    assert store.size(tail) == 3
    with store.open(a) as handle:
        assert handle.read() == b"abc"       # sources unchanged
    assert {a, b, joined, part, tail} <= set(store.blob_ids())
    with pytest.raises(BlobNotFound):
        store.copy_range("f" * 32)


def test_large_blob_delete_is_immediate_and_finishes(store, tmp_path):
    """A blob big enough to be unlinked in the background is gone from the store as soon as
    ``delete`` returns, and closing the store finishes the removal."""
    writer = store.writer()
    chunk = os.urandom(1 << 20)
    for _ in range(9):
        writer.write(chunk)
    blob = writer.commit()
    store.delete(blob)
    with pytest.raises(BlobNotFound):
        store.open(blob)
    assert blob not in set(store.blob_ids())
    store.close()
    leftovers = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []


def _trickle(sock, data: bytes, step: int) -> threading.Thread:
    """Send ``data`` in ``step``-byte pieces with pauses (so a reader has to wait), then
    close the sending end."""
    def send():
        for start in range(0, len(data), step):
            sock.sendall(data[start:start + step])
            time.sleep(0.002)
        sock.close()
    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_splice_from_a_socket_and_map_what_was_written(store):
    """A store with the ``splice`` flag appends bytes straight from a non-blocking socket,
    calling ``wait`` when it has none and ``progress`` with growing sizes, and ``mapped``
    shows the written bytes at any offset."""
    if not store.splice:
        pytest.skip("this driver does not splice")
    data = os.urandom(3 << 20)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sender = _trickle(theirs, data[100:], 300_001)
    waits, sizes = [], []

    def wait():
        waits.append(1)
        select.select([ours], [], [], 5)
    writer = store.writer()
    writer.write(data[:100])
    writer.splice_from(ours.fileno(), len(data) - 100, wait, sizes.append)
    sender.join()
    ours.close()
    assert waits and sizes == sorted(sizes) and sizes[-1] == len(data) == writer.size
    for start, end in ((0, len(data)), (5, 4097), (70_000, 1_234_567), (len(data) - 1,
                                                                          len(data))):
        with writer.mapped(start, end) as view:
            assert view == data[start:end]
    blob = writer.commit()
    with store.open(blob) as handle:
        assert handle.read() == data


def test_splice_from_a_socket_that_ends_early(store):
    if not store.splice:
        pytest.skip("this driver does not splice")
    before = set(store.blob_ids())
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sender = _trickle(theirs, b"x" * 5000, 1000)
    writer = store.writer()
    with pytest.raises(EOFError):
        writer.splice_from(ours.fileno(), 6000, lambda: select.select([ours], [], [], 5),
                           lambda size: None)
    sender.join()
    ours.close()
    writer.abort()
    assert store.recover() == 0 and set(store.blob_ids()) == before


def test_put_stores_whole_blobs_of_any_size(store):
    small, large = os.urandom(3000), os.urandom(300_000)
    ids = [store.put(small), store.put(large), store.put(b"")]
    for blob, data in zip(ids, (small, large, b"")):
        assert store.size(blob) == len(data)
        with store.open(blob) as handle:
            assert handle.read() == data
            handle.seek(len(data) // 2)
            assert handle.read(10) == data[len(data) // 2:len(data) // 2 + 10]
            if store.sendfile and data:        # the real file holds it at blob_start
                assert os.pread(handle.fileno(), len(data), blob_start(handle)) == data
    joined = store.concatenate([ids[0], ids[1], ids[0]])
    with store.open(joined) as handle:
        assert handle.read() == small + large + small
    with store.open(store.copy_range(ids[0], 1000, 50)) as handle:
        assert handle.read() == small[1000:1050]
    store.delete(ids[0])
    with pytest.raises(BlobNotFound):
        store.open(ids[0])


def test_remove_unnamed_keeps_exactly_the_named(store):
    kept = [store.put(os.urandom(n)) for n in (10, 5000, 200_000)]
    dropped = [store.put(os.urandom(n)) for n in (20, 7000, 150_000)]
    assert 0 < store.remove_unnamed(set(kept)) <= len(dropped)   # (neighbours count once)
    assert store.remove_unnamed(set(kept)) == 0
    for blob in kept:
        with store.open(blob) as handle:
            assert len(handle.read()) == store.size(blob)
    fresh = objects.load(type(store).__module__.rsplit(".", 1)[1], store.root)
    for blob in dropped:                      # gone, for this process and any other
        with pytest.raises(BlobNotFound):
            fresh.open(blob)

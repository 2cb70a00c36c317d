"""This machine's reference ceilings, measured in the same run as the servers.

* ``loopback_mb_s(total)``: TCP throughput over 127.0.0.1 between two threads of this process,
  one pushing ``total`` bytes with ``sendall`` of a 1 MiB memoryview, the other reading them
  with ``recv_into`` a 1 MiB buffer (both release the GIL, so two cores can work). The most a
  server can send to a client on this machine through the kernel's loopback.
* ``disk_write_mb_s(total, directory)``: writing ``total`` bytes to a new file in 1 MiB writes,
  then one ``fsync``, timed together; the file is removed afterwards.
* ``md5_mb_s(total)``: ``hashlib.md5`` over ``total`` bytes fed in 1 MiB pieces on one core:
  the ceiling of a PUT that must compute an MD5 ETag while it streams.

Each returns a ``Ceiling`` (name, bytes, seconds, MB/s where MB is 10**6 bytes).
"""
from __future__ import annotations

import hashlib
import os
import random
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass

BLOCK = 1 << 20
MB = 1e6


@dataclass
class Ceiling:
    name: str
    nbytes: int
    seconds: float

    @property
    def mb_s(self) -> float:
        return self.nbytes / MB / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "mb_s": round(self.mb_s, 1)}


def pattern_block(size: int = BLOCK) -> memoryview:
    """``size`` pseudo-random bytes that do not compress, the same on every call."""
    return memoryview(random.Random(20241121).randbytes(size))


def loopback_mb_s(total: int = 1 << 30) -> Ceiling:
    block = pattern_block()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    listener.close()
    errors: list[BaseException] = []

    def push() -> None:
        try:
            left = total
            while left > 0:
                piece = block[:min(left, len(block))]
                sender.sendall(piece)
                left -= len(piece)
        except BaseException as exc:        # surfaced by the reader's short count
            errors.append(exc)
        finally:
            sender.shutdown(socket.SHUT_WR)

    sink = memoryview(bytearray(BLOCK))
    began = time.perf_counter()
    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    got = 0
    try:
        while got < total:
            n = receiver.recv_into(sink)
            if n == 0:
                break
            got += n
        elapsed = time.perf_counter() - began
    finally:
        thread.join()
        sender.close()
        receiver.close()
    if errors or got != total:
        raise OSError(f"loopback transfer moved {got} of {total} bytes: {errors}")
    return Ceiling("loopback TCP", total, elapsed)


def disk_write_mb_s(total: int = 256 << 20, directory: str | None = None) -> Ceiling:
    block = pattern_block()
    fd, path = tempfile.mkstemp(prefix="bench-disk-", dir=directory)
    try:
        began = time.perf_counter()
        left = total
        while left > 0:
            piece = block[:min(left, len(block))]
            written = os.write(fd, piece)
            left -= written
        os.fsync(fd)
        elapsed = time.perf_counter() - began
    finally:
        os.close(fd)
        os.unlink(path)
    return Ceiling("disk write+fsync", total, elapsed)


def md5_mb_s(total: int = 256 << 20) -> Ceiling:
    block = pattern_block()
    digest = hashlib.md5()
    began = time.perf_counter()
    left = total
    while left > 0:
        piece = block[:min(left, len(block))]
        digest.update(piece)
        left -= len(piece)
    digest.hexdigest()
    return Ceiling("MD5 one core", total, time.perf_counter() - began)


def measure_all(loopback: int = 1 << 30, disk: int = 256 << 20, md5: int = 256 << 20,
                directory: str | None = None) -> dict[str, Ceiling]:
    """All three, keyed ``loopback``, ``disk``, ``md5``."""
    return {"loopback": loopback_mb_s(loopback), "disk": disk_write_mb_s(disk, directory),
            "md5": md5_mb_s(md5)}

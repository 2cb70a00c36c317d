"""The node's image cache: digests verified, LRU eviction, images in use kept."""
from __future__ import annotations

import hashlib
import os
import time

import pytest

from eucalyptus.nc.image_cache import ImageCache


def _file(tmp_path, name, size):
    data = os.urandom(size)
    p = tmp_path / name
    p.write_bytes(data)
    return p, hashlib.sha256(data).hexdigest()


def test_put_get_verify_and_lru(tmp_path):
    used: set[str] = set()
    cache = ImageCache(tmp_path / "cache", max_bytes=2500, in_use=used.__contains__)
    a, da = _file(tmp_path, "a", 1000)
    b, db = _file(tmp_path, "b", 1000)
    c, dc = _file(tmp_path, "c", 1000)
    bad, _ = _file(tmp_path, "bad", 10)
    with pytest.raises(ValueError, match="mismatch"):
        cache.put(da, bad)
    assert not bad.exists() and cache.get(da) is None
    pa = cache.put(da, a)
    assert pa.read_bytes() and not a.exists()
    cache.put(db, b)
    old = time.time() - 100
    os.utime(cache.get(db), (old, old))      # b least recently used
    cache.get(da)
    cache.put(dc, c)                           # over the bound: b goes
    assert cache.get(db) is None and cache.get(da) and cache.get(dc)
    used.add(da)
    assert cache.evict(da) is False and cache.evict(dc) is True
    assert [e[0] for e in cache.entries()] == [da]
    with pytest.raises(ValueError):
        cache.get("../etc/passwd")
    tmp = cache.temp_file()
    assert tmp.parent == cache.root and tmp.name.startswith(".incoming-")

"""C library calls Python's ``os`` module lacks (``sync_file_range``, ``fallocate`` with
flags), found once by name."""
from __future__ import annotations

import ctypes
from typing import Any, Callable


def function(name: str, *argtypes: Any) -> Callable[..., int] | None:
    """The C library's ``name`` taking ``argtypes`` (errno kept), or None where it has none."""
    try:
        found = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    found.argtypes = list(argtypes)
    return found

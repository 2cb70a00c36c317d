"""Polling with a deadline, for tests that wait on a cloud, a guest or a process."""
from __future__ import annotations

import time


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    """The first truthy value of ``predicate()``, polled every ``interval`` seconds; it is
    asked once more when ``timeout`` has passed, then an AssertionError names ``what`` and
    the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; "
                                 f"last: {value!r}")
        time.sleep(interval)

"""The node's instance state machine, as data.

    pending -> running        QEMU is up
    pending -> terminated     the launch failed (reason says why)
    running -> shutting-down  terminate asked
    running -> stopped        the guest powered itself off (or its QEMU died)
    stopped -> shutting-down  terminate asked
    shutting-down -> terminated   QEMU gone, files removed

``advance(record, new, reason)`` applies a transition or raises IncorrectInstanceState.
"""
from __future__ import annotations

import time

from eucalyptus.errors import ClientError
from eucalyptus.nc.messages import InstanceInfo

PENDING, RUNNING, SHUTTING_DOWN, TERMINATED, STOPPED = (
    "pending", "running", "shutting-down", "terminated", "stopped")

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, TERMINATED}),
    RUNNING: frozenset({SHUTTING_DOWN, STOPPED}),
    STOPPED: frozenset({SHUTTING_DOWN}),
    SHUTTING_DOWN: frozenset({TERMINATED}),
    TERMINATED: frozenset(),
}

GUEST_SHUTDOWN = "Client.InstanceInitiatedShutdown: Instance initiated shutdown"
USER_TERMINATE = "Client.UserInitiatedShutdown: User initiated shutdown"


class IncorrectInstanceState(ClientError):
    code = "IncorrectInstanceState"
    status = 409


def advance(record: InstanceInfo, new: str, reason: str = "") -> InstanceInfo:
    """Move ``record`` to ``new`` (stamping ``changed_at``); same-state is a no-op."""
    if new == record.state:
        return record
    if new not in TRANSITIONS.get(record.state, frozenset()):
        raise IncorrectInstanceState(
            f"instance {record.instance_id} is {record.state}; it cannot become {new}")
    record.state = new
    record.changed_at = time.time()
    if reason:
        record.reason = reason
    return record

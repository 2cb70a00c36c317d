"""CPU time of a process tree, read from /proc.

``tree_cpu_seconds(pid)`` is the user+system time of ``pid`` and every live descendant, plus the
time of descendants already reaped (the cutime/cstime fields of their waiting parents), so the
figure never drops when a child exits between two readings. Two readings subtracted give the
CPU a server spent over an interval, on however many cores it ran.
"""
from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def read_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime+stime+cutime+cstime in clock ticks) of one process, None if gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is parenthesised and may hold spaces or parentheses.
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); ppid is field 4, utime..cstime are fields 14..17.
    ppid = int(fields[1])
    ticks = sum(int(value) for value in fields[11:15])
    return ppid, ticks


def descendants(root: int) -> set[int]:
    """``root`` and every live process below it (one scan of /proc)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = read_stat(int(entry.name))
        if stat is not None:
            children.setdefault(stat[0], []).append(int(entry.name))
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root`` and its descendants (live and reaped)."""
    total = 0
    for pid in descendants(root):
        stat = read_stat(pid)
        if stat is not None:
            total += stat[1]
    return total / CLOCK_TICKS


def self_cpu_seconds() -> float:
    """CPU seconds (user+system) this process has used so far."""
    times = os.times()
    return times.user + times.system

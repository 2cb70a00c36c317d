"""Progress of long byte-moving work (bundling, uploading, downloading, unbundling).

``reporter(quiet, stream)`` picks how progress is shown: nothing with ``quiet``; a rich
progress bar when ``stream`` is a terminal; otherwise plain lines ``<label>: 40% (42/105 MB)``
printed at every 10% step. A reporter is used as::

    with reporter(False, sys.stderr).task("bundling disk.img", total_bytes) as advance:
        advance(n)            # n more bytes done
"""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator, TextIO

Advance = Callable[[int], None]


class Reporter:
    """Shows nothing (the ``--quiet`` reporter and the base of the others)."""

    @contextlib.contextmanager
    def task(self, label: str, total: int) -> Iterator[Advance]:
        yield lambda n: None


class LineReporter(Reporter):
    """One line per 10% step, for logs and pipes."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    @contextlib.contextmanager
    def task(self, label: str, total: int) -> Iterator[Advance]:
        done = 0
        shown = -1

        def advance(n: int) -> None:
            nonlocal done, shown
            done += n
            step = 100 if total <= 0 else min(100, done * 100 // total) // 10 * 10
            if step > shown:
                shown = step
                print(f"{label}: {step}% ({done / 1e6:.1f}/{max(total, done) / 1e6:.1f} MB)",
                      file=self.stream, flush=True)

        advance(0)
        yield advance
        if shown < 100:
            advance(max(total - done, 0))


class BarReporter(Reporter):
    """A rich progress bar with transfer speed and time left, on a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    @contextlib.contextmanager
    def task(self, label: str, total: int) -> Iterator[Advance]:
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(file=self.stream), transient=False) as bar:
            task_id = bar.add_task(label, total=max(total, 1))
            yield lambda n: bar.advance(task_id, n)
            bar.update(task_id, completed=max(total, 1))


def reporter(quiet: bool = False, stream: TextIO | None = None) -> Reporter:
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return Reporter()
    if hasattr(stream, "isatty") and stream.isatty():
        return BarReporter(stream)
    return LineReporter(stream)

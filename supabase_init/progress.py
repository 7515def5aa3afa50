"""A one-line progress display on a terminal while a script runs (CLI side).

Shown on stderr only when it is a TTY, and only once a run has taken longer
than ``delay``: short scripts finish without any flicker. A background
thread redraws the line so that a statement that waits (for the advisory
lock, or for a lock held by live traffic) shows its elapsed time ticking.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TextIO

from .sqlsplit import Statement


def terminal_escapes(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` may get colours and other terminal escapes: only a terminal,
    and never with NO_COLOR set (no-color.org: present and not empty) or TERM=dumb."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class StatementProgress:
    """Callable as ``on_statement(index, total, statement)``; a context manager."""

    def __init__(self, stream: TextIO | None = None, *, delay: float = 0.5,
                 interval: float = 0.1, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = terminal_escapes(self.stream) if enabled is None else enabled
        self.delay = delay
        self.interval = interval
        self._state: tuple[int, int, Statement, float] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        self._started = time.monotonic()

    def __call__(self, index: int, total: int, statement: Statement) -> None:
        with self._lock:
            self._state = (index, total, statement, time.monotonic())

    def __enter__(self) -> StatementProgress:
        self._started = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            self._draw()
            self._stop.wait(self.interval)

    def _draw(self) -> None:
        with self._lock:
            state = self._state
        if state is None:
            return
        index, total, statement, since = state
        now = time.monotonic()
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        head = (f"[{index:>{len(str(total))}}/{total}] {now - self._started:5.1f}s "
                f"line {statement.line}: ")
        waiting = now - since
        tail = f" ({waiting:.1f}s)" if waiting >= 1 else ""
        room = max(width - len(head) - len(tail), 0)
        text = statement.first_line
        if len(text) > room:
            text = text[:max(room - 3, 0)] + "..."
        self.stream.write("\r\x1b[K" + head + text + tail)
        self.stream.flush()
        self._drawn = True

"""SIGTERM and SIGHUP as exceptions, and blocks that a signal does not cut short.

Python turns SIGINT into ``KeyboardInterrupt``, but SIGTERM and SIGHUP end
the process on the spot, with no ``finally`` run: whatever a command
started (a throwaway server, its temporary directory) would be left behind.
Inside ``signals_raise`` they raise ``Interrupted`` instead, so that the
command unwinds and cleans up; inside ``signals_held`` (the clean-up itself)
SIGINT, SIGTERM and SIGHUP wait until the block has ended. Python only lets
the main thread set handlers: elsewhere both blocks change nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_RAISED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_HELD = (signal.SIGINT, *_RAISED)


class Interrupted(SystemExit):
    """A command stopped by a signal; exit status ``128 + signum``.

    A ``SystemExit``: not caught by ``except Exception``, and psycopg cancels
    the running query for it as it does for Ctrl-C.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Interrupted`` inside the block (where no handler is set)."""
    if not _main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in _RAISED
                if signal.getsignal(signum) == signal.SIG_DFL}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def signals_held() -> Iterator[None]:
    """Run the block to its end: a signal that arrives meanwhile acts after it.

    When the block ends by an exception, that exception goes on and the
    signal is dropped: the command is already unwinding.
    """
    if not _main_thread():
        yield
        return
    pending: list[int] = []

    def defer(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, defer) for signum in _HELD}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    try:
        yield
    except BaseException:
        restore()
        raise
    restore()
    if pending:
        signal.raise_signal(pending[0])

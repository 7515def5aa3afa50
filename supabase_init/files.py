"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The new content goes to a temporary file next to the target, which then
replaces it. That temporary file is removed on every way out of the write:
an exception, Ctrl-C (KeyboardInterrupt), and SIGTERM or SIGHUP, which would
otherwise end the process without any cleanup. Only SIGKILL cannot be
caught: the temporary file's name carries the writer's process id, and the
next write to the same directory removes those whose writer is gone (the
names are also in .gitignore).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"
# A temporary file older than this is stale even if a process with its
# writer's id exists: process ids get reused.
_STALE_AFTER_SECONDS = 24 * 3600
_CAUGHT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                        if hasattr(signal, name))


def describe_os_error(error: OSError) -> str:
    """One line for an OS error on a file: ``path: reason`` (no traceback, no errno)."""
    reason = error.strerror or type(error).__name__
    if error.filename is None:
        return reason
    where = os.fsdecode(error.filename)
    if error.filename2 is not None:
        where += f" -> {os.fsdecode(error.filename2)}"
    return f"{where}: {reason}"


def _current_umask() -> int:
    # There is no way to read the umask without setting it; the two calls are
    # back to back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _writer_pid(name: str, prefix: str) -> int | None:
    """The process id in a temporary file name ``.<target>.<pid>.<random>.tmp``."""
    middle = name[len(prefix):-len(TEMP_SUFFIX)]
    pid, sep, _ = middle.partition(".")
    return int(pid) if sep and pid.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return True
    return True


def remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files a killed writer of ``path`` left behind."""
    prefix = _temp_prefix(path)
    now = time.time()
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        pid = _writer_pid(entry.name, prefix)
        if pid is None or pid == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            if not _running(pid) or now - entry.stat(follow_symlinks=False).st_mtime \
                    > _STALE_AFTER_SECONDS:
                os.unlink(entry.path)


class _Terminated(BaseException):
    """A caught SIGTERM / SIGHUP, raised where the write was, so that it unwinds."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def signals_raising(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP call ``handler`` (which raises, so that the
    block unwinds) instead of ending the process on the spot.

    Handlers that a program installed itself are left alone, and so is
    everything when not on the main thread (Python only lets the main thread
    set handlers). The previous handlers are back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in _CAUGHT_SIGNALS
                if signal.getsignal(signum) == signal.SIG_DFL}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception for the duration of the block.

    After the block has cleaned up, the signal is delivered again with its
    previous handler, so the process ends exactly as it would have.
    """
    def handler(signum: int, frame: object) -> None:
        raise _Terminated(signum)

    try:
        with signals_raising(handler):
            yield
    except _Terminated as e:
        signal.raise_signal(e.signum)
        raise SystemExit(128 + e.signum) from None  # only if the default did not end us


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically.

    ``mode``: the file's permission bits. By default an existing file keeps
    its mode and a new one gets what ``open()`` would give (0666 less the
    umask). The temporary file is created 0600, so content meant to be
    private (``mode=0o600``) is never readable by others, not even briefly.
    The directory must exist: it is never created.
    """
    if not path.parent.is_dir():
        # A mistyped -o must not leave a tree of new directories behind.
        raise FileNotFoundError(errno.ENOENT, f"the directory {path.parent} does not exist "
                                "(it is not created)", str(path))
    remove_stale_temporaries(path)
    with _signals_unwind():
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}.",
                                       suffix=TEMP_SUFFIX, dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is None:
                try:
                    mode = path.stat().st_mode & 0o777
                except FileNotFoundError:
                    mode = 0o666 & ~_current_umask()
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise

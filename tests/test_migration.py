"""`supabase-init migration`: the rendered SQL as Supabase CLI migrations (issue acceptance).

The first run writes a file, a second run writes none, `--force` writes one;
the real Supabase CLI (`supabase db push`) applies the files and verify is
then clean, and a forced migration heals drift. The CLI is found through
SUPABASE_INIT_TEST_SUPABASE_CLI or as `supabase` on PATH (`.ci/run` installs
it from npm); it is given the database as `--remote=URL` where it has that
option (version 3 on, which deprecates `--db-url`), else as `--db-url URL`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import run_cli, unavailable

NAME = re.compile(r"^\d{14}_supabase_init\.sql$")


def migration(project: Path, directory: Path, *args: str):
    result = run_cli("migration", "--project", str(project), "--dir", str(directory), *args)
    assert result.returncode == 0, result.stderr
    return result


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_first_run_writes_a_file_a_second_none_and_force_one(project, tmp_path):
    directory = tmp_path / "supabase" / "migrations"
    first = migration(project, directory)
    [name] = files(directory)
    assert NAME.match(name), name
    assert first.stdout == f"Wrote {directory / name}\n"
    text = (directory / name).read_text(encoding="utf-8")
    rendered = run_cli("render", "--project", str(project)).stdout
    assert text.startswith("-- supabase-init migration:") and text.endswith(rendered)

    second = migration(project, directory)
    assert second.stdout.startswith("No changes: ") and name in second.stdout
    assert files(directory) == [name]

    migration(project, directory, "--force")
    names = files(directory)
    assert len(names) == 2 and names[0] == name and NAME.match(names[1])
    assert names[1] > names[0]  # the Supabase CLI applies them in name order


def test_other_sql_writes_a_new_file_and_files_not_ours_are_ignored(project, tmp_path):
    directory = tmp_path / "migrations"
    migration(project, directory)
    # A later hand-written migration, and one under our name but not by us.
    (directory / "29991231235959_hand_written.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert migration(project, directory).stdout.startswith("No changes: ")
    migration(project, directory, "-var", "schema=crm")
    names = files(directory)
    assert len(names) == 3 and names[-1] > "29991231235959", names  # after every file there
    assert '"crm"' in (directory / names[-1]).read_text(encoding="utf-8")
    assert migration(project, directory, "-var", "schema=crm").stdout.startswith("No changes")


@pytest.fixture(scope="session")
def supabase_cli() -> str:
    path = os.environ.get("SUPABASE_INIT_TEST_SUPABASE_CLI") or shutil.which("supabase")
    if not path:
        unavailable("the Supabase CLI is not installed (npm install supabase; set "
                    "SUPABASE_INIT_TEST_SUPABASE_CLI or put `supabase` on PATH)")
    return path


def url_of(conninfo: str) -> str:
    """A postgresql:// URL for a key=value string (the Supabase CLI takes URLs only)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    auth = quote(str(params.get("user", "postgres")), safe="")
    if params.get("password"):
        auth += ":" + quote(str(params["password"]), safe="")
    return (f"postgresql://{auth}@{params['host']}:{params.get('port', 5432)}/"
            f"{quote(str(params['dbname']), safe='')}")


@pytest.fixture
def tcp_database_url(server_url: str, admin_conn, request) -> Iterator[str]:
    """A fresh database the Supabase CLI can reach: on the test server when it listens
    on TCP, else on a kept embedded server of its own (it listens on 127.0.0.1)."""
    from psycopg.conninfo import conninfo_to_dict

    from supabase_init import api

    if not str(conninfo_to_dict(server_url).get("host", "/")).startswith("/"):
        db = request.getfixturevalue("database")
        yield url_of(db.url)
        return
    with api.TargetChoice(embedded=True, keep=True).open() as target:
        assert target.server is not None
        try:
            yield target.dsn
        finally:
            api.stop_embedded(target.server.root)


@functools.cache
def has_remote_option(cli: str) -> bool:
    """The CLI takes a database URL as --remote=URL (version 3 on); older ones only
    as --db-url URL, which version 3 deprecates (a warning on every command) and
    version 4 removes."""
    shown = subprocess.run([cli, "db", "push", "--help"], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL,
                           env={**os.environ, "DO_NOT_TRACK": "1"})
    return "--remote" in shown.stdout + shown.stderr


def database_option(cli: str, url: str) -> list[str]:
    return [f"--remote={url}"] if has_remote_option(cli) else ["--db-url", url]


def push(cli: str, workdir: Path, url: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([cli, "db", "push", *database_option(cli, url), "--yes",
                             "--workdir", str(workdir)], capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL,
                            env={**os.environ, "DO_NOT_TRACK": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    # The option the installed CLI wants: no deprecation warning.
    assert "deprecated" not in (result.stdout + result.stderr).lower(), result.stderr
    return result


def verify(project: Path, url: str) -> subprocess.CompletedProcess[str]:
    return run_cli("verify", "--project", str(project), "--database-url", url)


def test_supabase_db_push_applies_the_migrations_and_a_forced_one_heals_drift(
        supabase_cli, tcp_database_url, project, tmp_path):
    url = tcp_database_url
    directory = tmp_path / "supabase" / "migrations"
    migration(project, directory)
    [name] = files(directory)

    pushed = push(supabase_cli, tmp_path, url)
    assert name in pushed.stdout + pushed.stderr
    assert verify(project, url).returncode == 0

    # Drift by hand: a migration already applied is never run again by the CLI.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON public.campaigns FROM authenticated")
        history = conn.execute("SELECT version FROM supabase_migrations.schema_migrations"
                               " ORDER BY version").fetchall()
    assert history == [(name[:14],)]
    drift = verify(project, url)
    assert drift.returncode == 2 and "grant SELECT on table campaigns" in drift.stdout
    assert migration(project, directory).stdout.startswith("No changes: ")

    migration(project, directory, "--force")
    push(supabase_cli, tmp_path, url)
    healed = verify(project, url)
    assert healed.returncode == 0, healed.stdout + healed.stderr

"""Failing applies: a broken statement mid-script, a held lock, an unreachable server.

Each leaves the catalog exactly as it was and says what went wrong, where.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from apply_helpers import (
    PASSWORD,
    apply_cli,
    assert_no_password,
    build_project,
    line_of,
    lock_waits,
    render_project,
    url_with_password,
)
from catalog import catalog_fingerprint
from conftest import REPO, project_entry_template, run_cli

FAILING_TEMPLATE = """\
-- A test template: several objects, then a statement that fails.
CREATE TABLE IF NOT EXISTS "{{ var('schema') }}".failure_probe_a (id integer PRIMARY KEY);
CREATE TABLE IF NOT EXISTS "{{ var('schema') }}".failure_probe_b (id integer);
CREATE INDEX IF NOT EXISTS failure_probe_b_idx ON "{{ var('schema') }}".failure_probe_b (id);
CREATE OR REPLACE VIEW "{{ var('schema') }}".failure_probe_v AS
    SELECT id FROM "{{ var('schema') }}".failure_probe_a;
SELECT id
  FROM "{{ var('schema') }}".failure_probe_a
 WHERE no_such_column = 1;
"""


@pytest.fixture(scope="module")
def failing_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """A project copy with the failing template included between the tables and the
    views, built; with the failing statement's line and the error's line in the SQL."""
    project = tmp_path_factory.mktemp("failing") / "project"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(
        ".*", "tests", "bench", "*.egg-info", "__pycache__", ".terraform*", "*.tfstate*"))
    (project / "templates" / "_failure_probe.sql.j2").write_text(FAILING_TEMPLATE)
    entry = project_entry_template(project)
    text = entry.read_text()
    marker = "{% for view in objects.views %}"
    assert marker in text
    entry.write_text(text.replace(marker, '{% include "_failure_probe.sql.j2" %}\n' + marker))
    build_project(project)
    sql = render_project(project)
    start = line_of(sql, "SELECT id")
    assert sql.split("\n")[start + 1].startswith(" WHERE no_such_column")
    assert start > line_of(sql, "CREATE INDEX IF NOT EXISTS failure_probe_b_idx ON "
                                '"public".failure_probe_b (id);')
    return project, start, start + 2


@pytest.mark.parametrize("state", ["empty", "already applied"])
def test_a_failing_statement_leaves_the_catalog_as_it_was_and_names_its_line(
        database, failing_project, state):
    project, start, error_line = failing_project
    url = url_with_password(database.url)
    if state == "already applied":
        first = apply_cli(url)
        assert first.returncode == 0, first.stderr
    before = catalog_fingerprint(database.url)

    out = apply_cli(url, "--json", project=project)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr == (
        # The template line the failing line came from, then the rendered SQL's.
        f"Error: templates/_failure_probe.sql.j2:9 (line {start} of the rendered SQL): "
        f"SELECT id (error at line {error_line}): column "
        '"no_such_column" does not exist [SQLSTATE 42703] (rolled back: nothing was '
        'changed)\n'), out.stderr
    assert catalog_fingerprint(database.url) == before
    assert database.scalar("SELECT to_regclass('public.failure_probe_a')") is None
    assert_no_password(out.stdout, out.stderr)


def apply_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str, float]:
    """Run `supabase-init apply` in this process, timed without interpreter start-up."""
    from supabase_init.cli import main

    capsys.readouterr()
    started = time.monotonic()
    code = main(["apply", "--project", str(REPO), *args])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    return code, out, err, elapsed


def test_a_held_lock_fails_within_lock_timeout_and_says_so(database, capsys):
    url = url_with_password(database.url)
    first = apply_cli(url)
    assert first.returncode == 0, first.stderr
    before = catalog_fingerprint(database.url)
    with database.connect() as holder, lock_waits(database.url) as watched:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE public.campaigns IN ACCESS EXCLUSIVE MODE")
        holder_pid = holder.info.backend_pid
        code, out, err, elapsed = apply_in_process(
            capsys, "--database-url", url, "--lock-timeout", "1s")
        holder.execute("ROLLBACK")
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "could not get a lock within lock_timeout (1s)" in err
    assert "[SQLSTATE 55P03]" in err
    assert "public.campaigns (AccessExclusiveLock, pid " in err
    assert elapsed >= 1.0, elapsed
    # One wait, as long as lock_timeout, timed by the server (a loaded machine stretches
    # the run around it).
    [wait] = watched.waits("relation", "public.campaigns", not_pid=holder_pid)
    assert wait.seen_for < 1.0 + 2.0, wait
    assert catalog_fingerprint(database.url) == before
    assert_no_password(out, err)


def test_on_an_empty_database_the_lock_wait_is_bounded_by_the_variable(database, capsys):
    """Without the option the lock_timeout variable applies, through the script's SET LOCAL;
    on an empty database the wait is in a statement of the script."""
    database.execute("CREATE TABLE public.campaigns (id uuid PRIMARY KEY)")
    with database.connect() as holder, lock_waits(database.url) as watched:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE public.campaigns IN ACCESS EXCLUSIVE MODE")
        holder_pid = holder.info.backend_pid
        code, out, err, elapsed = apply_in_process(
            capsys, "--database-url", database.url, "-var", "lock_timeout=1500ms")
        holder.execute("ROLLBACK")
    assert code == 1 and out == ""
    assert "could not get a lock within lock_timeout (1500ms): another session" in err, err
    assert re.match(r"Error: line \d+: ", err), err  # a statement of the script waited
    assert "public.campaigns (AccessExclusiveLock, pid " in err
    assert elapsed >= 1.5, elapsed
    [wait] = watched.waits("relation", "public.campaigns", not_pid=holder_pid)
    assert wait.seen_for < 1.5 + 2.0, wait
    assert database.scalar("SELECT to_regclass('public.campaign_executions')") is None


# ------------------------------------------------------------------ passwords


@contextmanager
def closed_port() -> Iterator[int]:
    """A port nothing listens on: bound, and kept bound so that no other process can
    listen there meanwhile, but not listening (a connection is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("form", ["url", "conninfo", "DATABASE_URL"])
def test_a_connection_failure_names_the_target_but_never_the_password(form):
    with closed_port() as port:
        connection_failure(form, port)


def connection_failure(form: str, port: int) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/crm_db"
    args = ["apply", "--database-url", url]
    env = {}
    if form == "conninfo":
        args[-1] = f"host=127.0.0.1 port={port} dbname=crm_db password='{PASSWORD}'"
    elif form == "DATABASE_URL":
        args, env = ["apply"], {"DATABASE_URL": url}
    out = run_cli(*args, "--json", cwd=REPO, env=env)
    assert out.returncode == 1
    assert_no_password(out.stdout, out.stderr)
    assert out.stdout == "" and "Traceback" not in out.stderr
    message = out.stderr
    assert message.startswith("Error: could not connect to PostgreSQL at host 127.0.0.1, "
                              f"port {port}, database crm_db"), message
    assert "--database-url" in message and "--embedded" in message
    assert message.count("\n") == 1


def test_no_password_in_any_output_against_the_real_server(database):
    url = url_with_password(database.url)
    human = apply_cli(url)
    machine = apply_cli(url, "--json")
    for out in (human, machine):
        assert out.returncode == 0, out.stderr
        assert_no_password(out.stdout, out.stderr)
    assert json.loads(machine.stdout)["database"].startswith("postgresql://postgres:***@/")
    wrong_db = url.replace(f"@/{database.name}?", "@/no_such_database_here?")
    missing = apply_cli(wrong_db)
    assert missing.returncode == 1 and "database no_such_database_here" in missing.stderr
    assert_no_password(missing.stdout, missing.stderr)


def test_plan_names_the_template_line_of_a_failing_statement(database, failing_project):
    project, start, _ = failing_project
    out = run_cli("plan", "--project", str(project), "--database-url", database.url)
    assert out.returncode == 1
    assert out.stderr.startswith(
        f"Error: templates/_failure_probe.sql.j2:9 (line {start} of the rendered SQL): "), \
        out.stderr


def test_an_error_in_a_column_a_macro_writes_names_the_columns_template_line(database,
                                                                            project):
    template = project / "templates" / "tables" / "campaigns.sql.j2"
    lines = template.read_text(encoding="utf-8").split("\n")
    (status,) = [i for i, text in enumerate(lines) if text.lstrip().startswith('("status"')]
    lines[status] = '    ("status", "text NOT NULL DEFAULT no_such_function()"),'
    template.write_text("\n".join(lines), encoding="utf-8")
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr
    out = run_cli("apply", "--project", str(project), "--database-url", database.url)
    assert out.returncode == 1
    assert out.stderr.startswith(f"Error: templates/tables/campaigns.sql.j2:{status + 1} "
                                 "(line "), out.stderr
    assert "function no_such_function() does not exist" in out.stderr

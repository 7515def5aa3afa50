"""Saved plans: `plan -out FILE`, `show FILE`, `apply FILE` (issue acceptance).

What was reviewed is what runs: apply FILE runs exactly the planned SQL, and
refuses it when the database changed since the plan or is another database.
Real server, the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from catalog import catalog_fingerprint
from conftest import run_cli


def make_plan(project: Path, url: str, out: Path, *args: str) -> dict:
    result = run_cli("plan", "--project", str(project), "--database-url", url,
                     "-out", str(out), *args)
    assert result.returncode == 0, result.stderr
    assert f"supabase-init apply {out}" in result.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def apply_file(plan: Path, url: str, *args: str):
    return run_cli("apply", str(plan), "--database-url", url, *args)


def single_error(result) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def with_password(url: str, password: str) -> str:
    # The test server trusts local connections: the password is carried, never needed.
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, password=password)


def test_apply_file_runs_exactly_the_plan(database, project, tmp_path):
    out = tmp_path / "crm.plan"
    url = with_password(database.url, "s3cret-pass")
    document = make_plan(project, url, out, "-var", "schema=crm")

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "s3cret-pass" in url and "s3cret-pass" not in out.read_text(encoding="utf-8")
    assert document["target"]["display"].count("***") == 1
    assert document["format"] == "supabase-init plan" and document["format_version"] == 1
    assert document["variables"]["schema"] == "crm"
    assert document["target"]["database"] == database.name
    assert document["catalog_fingerprint"].startswith("sha256:")
    rendered = run_cli("render", "--project", str(project), "-var", "schema=crm")
    assert document["sql"] == rendered.stdout

    shown = run_cli("show", str(out), "--json")
    assert shown.returncode == 0, shown.stderr
    planned = json.loads(shown.stdout)["changes"]
    text = run_cli("show", str(out))
    assert "+ table campaigns" in text.stdout and "Plan: " in text.stdout

    # The project is not read again: the plan alone is applied.
    result = apply_file(out, url, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changes"] == planned
    assert database.scalar("SELECT to_regclass('crm.campaigns') IS NOT NULL") is True
    verify = run_cli("verify", "--project", str(project), "--database-url", database.url,
                     "-var", "schema=crm")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_apply_file_as_plan_prints_it_goes_to_the_plans_database(database, project,
                                                                 tmp_path):
    out = tmp_path / "crm.plan"
    url = with_password(database.url, "s3cret-pass")
    result = run_cli("plan", "--project", str(project), "--database-url", url, "-out", str(out))
    assert result.returncode == 0, result.stderr
    assert "s3cret-pass" not in out.read_text(encoding="utf-8")
    (command,) = [line.split("run: ", 1)[1] for line in result.stderr.splitlines()
                  if "run: supabase-init apply" in line]
    # Run as printed: no --database-url, no DATABASE_URL; the password (none is needed
    # here) would come from PGPASSWORD or a password file, as for libpq.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    applied = subprocess.run([sys.executable, "-m", "supabase_init", *command.split()[1:]],
                             env=env, capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("Applied "), applied.stdout
    assert database.scalar("SELECT to_regclass('public.campaigns') IS NOT NULL") is True


def test_another_target_than_the_plans_is_still_refused(database, other_database, project,
                                                        tmp_path):
    out = tmp_path / "crm.plan"
    make_plan(project, database.url, out)
    env = {**os.environ, "DATABASE_URL": other_database.url}
    refused = subprocess.run([sys.executable, "-m", "supabase_init", "apply", str(out)],
                             env=env, capture_output=True, text=True, timeout=120)
    assert "the target is another database" in single_error(refused)


def test_a_plans_target_is_reached_without_its_password(database, project, tmp_path) -> None:
    from supabase_init import api

    out = tmp_path / "crm.plan"
    document = make_plan(project, database.url, out)

    def target(display: str) -> str | None:
        document["target"]["display"] = display
        out.write_text(json.dumps(document), encoding="utf-8")
        return api.read_plan(out).target_dsn()

    from psycopg.conninfo import conninfo_to_dict

    remote = target("postgresql://app:***@db.example.com:6543/crm?sslmode=require")
    assert conninfo_to_dict(remote or "") == {"user": "app", "host": "db.example.com",
                                              "port": "6543", "dbname": "crm",
                                              "sslmode": "require"}
    assert conninfo_to_dict(target("host=h password=*** dbname=d") or "") == {
        "host": "h", "dbname": "d"}
    assert target("postgresql://postgres:***@127.0.0.1:54322/postgres") == (
        "postgresql://postgres:postgres@127.0.0.1:54322/postgres")
    assert target("connection string not shown") is None


def test_the_fingerprint_is_the_same_while_the_database_is(database, project, tmp_path):
    first = make_plan(project, database.url, tmp_path / "a.plan")
    second = make_plan(project, database.url, tmp_path / "b.plan")
    assert first["catalog_fingerprint"] == second["catalog_fingerprint"]
    database.execute("CREATE TABLE public.by_hand (id int)")
    third = make_plan(project, database.url, tmp_path / "c.plan")
    assert third["catalog_fingerprint"] != first["catalog_fingerprint"]


def test_apply_file_after_a_manual_change_exits_1_and_changes_nothing(database, project,
                                                                      tmp_path):
    out = tmp_path / "crm.plan"
    make_plan(project, database.url, out)
    database.execute("CREATE TABLE public.by_hand (id int)")
    before = catalog_fingerprint(database.url)

    line = single_error(apply_file(out, database.url))

    assert "the database changed since the plan was made" in line
    assert catalog_fingerprint(database.url) == before
    assert database.scalar("SELECT to_regclass('public.campaigns')") is None


def test_a_change_in_the_private_schema_or_to_the_plans_schemas_is_refused(database, project,
                                                                          tmp_path):
    out = tmp_path / "crm.plan"
    document = make_plan(project, database.url, out)
    assert (document["schema"], document["schemas"]) == ("public", ["public", "crm_private"])
    # The plan covers the private schema too: a change made there since is seen.
    database.execute("CREATE SCHEMA crm_private; CREATE TABLE crm_private.by_hand (id int)")
    line = single_error(apply_file(out, database.url))
    assert "the database changed since the plan was made" in line
    database.execute("DROP SCHEMA crm_private CASCADE")
    # A plan edited to leave the private schema out no longer matches what it was made on.
    out.write_text(json.dumps({**document, "schemas": ["public"]}), encoding="utf-8")
    line = single_error(apply_file(out, database.url))
    assert "the database changed since the plan was made" in line
    assert database.scalar("SELECT to_regclass('public.campaigns')") is None


def test_apply_file_twice_is_refused_the_second_time(database, project, tmp_path):
    out = tmp_path / "crm.plan"
    make_plan(project, database.url, out)
    assert apply_file(out, database.url).returncode == 0
    line = single_error(apply_file(out, database.url))
    assert "the database changed since the plan was made" in line


def test_a_plan_for_another_database_is_refused(database, other_database, project, tmp_path):
    out = tmp_path / "crm.plan"
    make_plan(project, database.url, out)
    before = catalog_fingerprint(other_database.url)

    line = single_error(apply_file(out, other_database.url))

    assert f"this plan was made for {database.url}" in line
    assert "another database" in line and other_database.name in line
    assert catalog_fingerprint(other_database.url) == before


def test_options_that_would_change_the_plan_are_refused(database, project, tmp_path):
    out = tmp_path / "crm.plan"
    make_plan(project, database.url, out)
    line = single_error(apply_file(out, database.url, "-var", "schema=other"))
    assert "a saved plan runs as it was made" in line
    line = single_error(run_cli("apply", str(out), "--embedded"))
    assert "not to --embedded" in line


def test_a_corrupted_or_unknown_plan_file_is_one_line(database, project, tmp_path):
    out = tmp_path / "crm.plan"
    document = make_plan(project, database.url, out)
    cases = {
        "truncated.plan": out.read_text(encoding="utf-8")[:500],
        "future.plan": json.dumps({**document, "format_version": 99}),
        "other.json": json.dumps({"hello": "world"}),
        "nosql.plan": json.dumps({k: v for k, v in document.items() if k != "sql"}),
    }
    expected = {"truncated.plan": "not valid JSON", "future.plan": "version 99",
                "other.json": "not a supabase-init plan file", "nosql.plan": "'sql'"}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        for args in (["apply", str(path), "--database-url", database.url],
                     ["show", str(path)]):
            line = single_error(run_cli(*args))
            assert expected[name] in line and str(path) in line, (name, line)
    line = single_error(run_cli("show", str(tmp_path / "missing.plan")))
    assert "no such plan file" in line
    assert database.scalar("SELECT to_regclass('public.campaigns')") is None


def test_a_plan_for_another_server_is_refused(database, supabase_database, project, tmp_path):
    out = tmp_path / "crm.plan"
    make_plan(project, database.url, out)
    line = single_error(apply_file(out, supabase_database.url))
    assert "another server (system identifier differs)" in line
    assert supabase_database.scalar("SELECT to_regclass('public.campaigns')") is None
    assert supabase_database.server.password("postgres") not in line


def test_plan_out_into_a_missing_directory_creates_nothing(database, project, tmp_path):
    out = tmp_path / "missing" / "crm.plan"
    result = run_cli("plan", "--project", str(project), "--database-url", database.url,
                     "-out", str(out))
    assert f"the directory {out.parent} does not exist" in single_error(result)
    assert not out.parent.exists()

"""A policy's `level` and `owner_column`, on a project of their own.

The project is the repository's with its access and policy blocks replaced by
ones that combine everything the templates generate: a nested claim path,
a level with `using`, with `owner_column`, with `with_check`, and an `ALL`
policy. Applied twice, every policy keeps its OID (the generated text is what
PostgreSQL prints, so nothing is re-created) and verify finds no drift; then
the conditions do what they say, as PostgREST runs a request.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from conftest import run_cli

POLICIES = """
lint "rls_enabled_no_policy" {
  ignore = ["*"]
  reason = "this project only has policies on campaigns"
}

access "team" {
  claim  = "app_metadata.team.role"
  levels = ["member", "lead"]
}

policy "campaigns" "members_read_open" {
  roles   = ["authenticated"]
  command = "SELECT"
  level   = "member"
  using   = "(status <> 'completed'::text)"
}

policy "campaigns" "leads_all" {
  roles   = ["authenticated"]
  command = "ALL"
  level   = "lead"
}

policy "campaigns" "members_insert_drafts" {
  roles        = ["authenticated"]
  command      = "INSERT"
  level        = "member"
  owner_column = "created_by"
  with_check   = "(status = 'draft'::text)"
}

policy "campaigns" "members_update_own" {
  roles        = ["authenticated"]
  command      = "UPDATE"
  access       = "team"
  level        = "member"
  owner_column = "created_by"
  with_check   = "(status <> 'completed'::text)"
}
"""

_BLOCKS = re.compile(r'^(?:access|policy) "[^\n]*\{\n.*?^\}\n', re.DOTALL | re.MULTILINE)

MEMBER, OTHER = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture
def level_project(project: Path) -> Path:
    config = project / "supabase-init.hcl"
    config.write_text(_BLOCKS.sub("", config.read_text()) + POLICIES)
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr
    return project


def _policy_oids(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(
            "SELECT polname, oid::int FROM pg_policy "
            "WHERE polrelid = 'public.campaigns'::regclass").fetchall())


def _as_caller(conn: psycopg.Connection, claims: dict | None, statement: str,
               *params: object) -> int | str:
    """Rows returned or affected, or the SQLSTATE of the error, in a rolled-back request."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL ROLE authenticated")
            if claims is not None:
                conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                             (json.dumps(claims),))
            cursor = conn.execute(statement, params or None)
            return cursor.rowcount
    except psycopg.Error as e:
        return str(e.sqlstate)


def _claims(role: str | None, sub: str = MEMBER) -> dict:
    team = {"team": {"role": role}} if role else {}
    return {"role": "authenticated", "sub": sub, "app_metadata": team}


def test_generated_conditions_are_stable_and_do_what_they_say(database, level_project):
    def cli(*args: str):
        return run_cli(*args, "--project", str(level_project), "--database-url", database.url)

    assert cli("apply", "--quiet").returncode == 0
    oids = _policy_oids(database.url)
    assert sorted(oids) == ["leads_all", "members_insert_drafts", "members_read_open",
                            "members_update_own"]
    again = cli("apply")
    assert again.returncode == 0 and again.stdout.startswith("No changes:"), again.stdout
    assert _policy_oids(database.url) == oids
    verified = cli("verify")
    assert verified.returncode == 0, verified.stdout

    database.execute(f"""
        INSERT INTO public.campaigns (name, status, created_by) VALUES
            ('a', 'active', '{MEMBER}'), ('d', 'draft', '{MEMBER}'), ('o', 'draft', '{OTHER}'),
            ('c', 'completed', '{MEMBER}')""")
    with psycopg.connect(database.url) as conn:
        select = "SELECT * FROM public.campaigns"
        assert _as_caller(conn, _claims("member"), select) == 3  # not the completed one
        assert _as_caller(conn, _claims("lead"), select) == 4
        assert _as_caller(conn, _claims(None), select) == 0
        assert _as_caller(conn, None, select) == 0
        assert _as_caller(conn, {"role": "authenticated", "sub": MEMBER,
                                 "user_metadata": {"team": {"role": "lead"}}}, select) == 0

        insert = "INSERT INTO public.campaigns (name, status, created_by) VALUES ('n', %s, %s)"
        assert _as_caller(conn, _claims("member"), insert, "draft", MEMBER) == 1
        assert _as_caller(conn, _claims("member"), insert, "draft", OTHER) == "42501"
        assert _as_caller(conn, _claims("member"), insert, "active", MEMBER) == "42501"
        assert _as_caller(conn, _claims(None), insert, "draft", MEMBER) == "42501"
        assert _as_caller(conn, _claims("lead"), insert, "active", OTHER) == 1

        update = sql.SQL("UPDATE public.campaigns SET status = {} WHERE name = {}")
        def set_status(claims: dict, status: str, name: str) -> int | str:
            return _as_caller(conn, claims, update.format(status, name).as_string(conn))

        assert set_status(_claims("member"), "paused", "d") == 1  # own row
        assert set_status(_claims("member"), "paused", "o") == 0  # another's: not visible
        assert set_status(_claims("member"), "completed", "d") == "42501"
        assert set_status(_claims("lead"), "completed", "o") == 1

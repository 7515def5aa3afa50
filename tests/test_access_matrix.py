"""Who may do what, cell by cell, the way PostgREST runs each request.

The expected results are docs/crm.md's access matrix, read from that page
itself, so the two cannot drift apart. Each request logs in as
`authenticator` (with its password), then, as PostgREST does:
`BEGIN; SET LOCAL ROLE <the JWT's role>; SELECT set_config('request.jwt.claims',
<the JWT's claims>, true); <statement>` — rolled back afterwards. Run on a
Supabase-shaped database (applied as its non-superuser postgres over scram)
and on plain PostgreSQL.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql

from apply_helpers import apply_cli
from conftest import REPO
from supabase_init import api

CRM_PAGE = REPO / "docs" / "crm.md"
MATRIX_HEADER = "| table or view | command |"
RESULTS = ("yes", "no rows", "error")
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")

# Matrix column → caller.
CALLERS = {
    "`anon`": "anon",
    "`authenticated`, no level": "no_level",
    "`viewer`": "viewer",
    "`operator`": "operator",
    "`admin`": "admin",
    "`service_role`": "service_role",
}

# A user id (the JWT's sub) for every caller, and one for somebody else.
SUBS = {name: str(uuid.uuid4()) for name in [*CALLERS.values(), "other"]}
CAMPAIGN = str(uuid.uuid4())


def claims(caller: str) -> dict[str, Any]:
    """The JWT claims PostgREST would put in request.jwt.claims for the caller."""
    if caller == "anon":
        # Even a level in its claims gives anon nothing: it has no grant.
        return {"role": "anon", "sub": SUBS[caller], "app_metadata": {"crm_role": "admin"}}
    if caller == "service_role":
        return {"role": "service_role", "sub": SUBS[caller], "app_metadata": {}}
    app_metadata: dict[str, Any] = {"provider": "email", "providers": ["email"]}
    if caller != "no_level":
        app_metadata["crm_role"] = caller
    # user_metadata is the user's own to write: a level there counts for nothing.
    return {"role": "authenticated", "sub": SUBS[caller], "aud": "authenticated",
            "app_metadata": app_metadata, "user_metadata": {"crm_role": "admin"}}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_matrix() -> dict[tuple[str, str], dict[str, str]]:
    """(table or view, command) → caller → expected result, from docs/crm.md."""
    lines = CRM_PAGE.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(MATRIX_HEADER)]
    assert len(starts) == 1, f"docs/crm.md needs exactly one table starting {MATRIX_HEADER!r}"
    header = _cells(lines[starts[0]])
    assert header[2:] == list(CALLERS), header
    matrix: dict[tuple[str, str], dict[str, str]] = {}
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        target, command, *results = _cells(line)
        name = re.fullmatch(r"`([a-z_0-9]+)`(?: \(view\))?", target)
        assert name, f"docs/crm.md matrix: {target!r} is not `name` or `name` (view)"
        assert command in COMMANDS and len(results) == len(CALLERS), line
        assert set(results) <= set(RESULTS), line
        key = (name.group(1), command)
        assert key not in matrix, f"docs/crm.md matrix lists {key} twice"
        matrix[key] = dict(zip(CALLERS.values(), results, strict=True))
    return matrix


def test_documented_matrix_covers_every_table_command_and_view():
    objects = api.Project.load(REPO).config.objects
    expected = {(t, c) for t in objects.tables for c in COMMANDS}
    expected |= {(v, "SELECT") for v in objects.views}
    assert set(documented_matrix()) == expected


# --------------------------------------------------------------------------
# the targets: a Supabase-shaped database and a plain one, provisioned


SEED = f"""
INSERT INTO public.target_group_mappings (crm_name, postgres_table) VALUES ('vip', 'vip_members');
INSERT INTO public.campaigns (id, name, status, created_by)
    VALUES ('{CAMPAIGN}', 'spring', 'active', '{SUBS["other"]}');
INSERT INTO public.campaign_executions (campaign_id) VALUES ('{CAMPAIGN}');
INSERT INTO public.campaign_recipients (campaign_id, channel, status, email)
    VALUES ('{CAMPAIGN}', 'email', 'sent', 'ada@example.com');
INSERT INTO public.customer_360 (customer_id, email) VALUES ('c-1', 'ada@example.com');
INSERT INTO public.customer_activities (customer_id, activity_type) VALUES ('c-1', 'login');
"""

# What each caller tries; {t} is the schema-qualified table.
STATEMENTS: dict[str, dict[str, str]] = {
    "target_group_mappings": {
        "INSERT": "INSERT INTO {t} (crm_name, postgres_table) VALUES ('probe', 'probe_members')",
        "UPDATE": "UPDATE {t} SET description = 'probed'"},
    "campaigns": {
        "INSERT": "INSERT INTO {t} (name) VALUES ('probe')",
        "UPDATE": "UPDATE {t} SET description = 'probed'"},
    "campaign_executions": {
        "INSERT": f"INSERT INTO {{t}} (campaign_id) VALUES ('{CAMPAIGN}')",
        "UPDATE": "UPDATE {t} SET status = 'completed'"},
    "campaign_recipients": {
        "INSERT": f"INSERT INTO {{t}} (campaign_id, channel) VALUES ('{CAMPAIGN}', 'sms')",
        "UPDATE": "UPDATE {t} SET status = 'delivered'"},
    "campaign_recipient_counts": {
        "INSERT": "INSERT INTO {t} (campaign_id) VALUES (gen_random_uuid())",
        "UPDATE": "UPDATE {t} SET pending = pending"},
    "customer_360": {
        "INSERT": "INSERT INTO {t} (customer_id) VALUES ('c-probe')",
        "UPDATE": "UPDATE {t} SET segment = 'probed'"},
    "customer_activities": {
        "INSERT": "INSERT INTO {t} (customer_id, activity_type) VALUES ('c-1', 'probe')",
        "UPDATE": "UPDATE {t} SET activity_description = 'probed'"},
}


# The tables outside the API schema, by the schema supabase-init.hcl puts them in.
SCHEMA_OF = {"campaign_recipient_counts": "crm_private"}


def statement(target: str, command: str) -> str:
    table = f"{SCHEMA_OF.get(target, 'public')}.{target}"
    if command == "SELECT":
        return f"SELECT * FROM {table}"
    if command == "DELETE":
        return f"DELETE FROM {table}"
    return STATEMENTS[target][command].format(t=table)


@dataclass
class Target:
    kind: str  # "supabase" or "plain"
    # The owner's (postgres on Supabase), to apply and seed; both URLs carry a
    # password, so neither is shown in a failure's report.
    url: str = field(repr=False)
    authenticator_url: str = field(repr=False)


def _plain_authenticator(database) -> Iterator[str]:
    """authenticator on the shared plain server, as a PostgREST setup creates it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    password = secrets.token_hex(16)
    with database.connect() as conn:
        # A statement carrying a password is never written to the server log.
        conn.execute("SET log_min_error_statement = panic")
        created = conn.execute("SELECT NOT EXISTS (SELECT FROM pg_roles "
                               "WHERE rolname = 'authenticator')").fetchone()[0]
        if created:
            conn.execute(sql.SQL("CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD {}").format(
                sql.Literal(password)))
        else:
            conn.execute(sql.SQL("ALTER ROLE authenticator PASSWORD {}").format(
                sql.Literal(password)))
        conn.execute("GRANT anon, authenticated, service_role TO authenticator")
    params = conninfo_to_dict(database.url)
    params.update(user="authenticator", password=password)
    try:
        yield make_conninfo(**params)
    finally:
        if created:
            with database.connect() as conn:
                conn.execute("DROP ROLE authenticator")


@pytest.fixture(params=["supabase", "plain"])
def target(request, admin_conn) -> Iterator[Target]:
    """The CRM applied (by the CLI) to a fresh database, seeded with one row per table.

    (admin_conn, the test server, is named here so that the tests using this
    fixture are marked as database tests; the databases come from the
    fixtures named by the parameter.)"""
    if request.param == "supabase":
        db = request.getfixturevalue("supabase_database")
        found = Target("supabase", db.url, db.url_as("authenticator"))
        provision(found, db)
        yield found
        return
    db = request.getfixturevalue("database")
    applied = apply_cli(db.url, "--quiet")  # creates the API roles on plain PostgreSQL
    assert applied.returncode == 0, applied.stderr
    authenticator = _plain_authenticator(db)
    try:
        found = Target("plain", db.url, next(authenticator))
        provision(found, db)
        yield found
    finally:
        authenticator.close()


def provision(target: Target, db) -> None:
    applied = apply_cli(target.url, "--quiet")
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(target.url, autocommit=True) as conn:
        if target.kind == "supabase":
            for name, sub in SUBS.items():
                conn.execute("INSERT INTO auth.users (id, email, raw_app_meta_data) "
                             "VALUES (%s, %s, %s)",
                             (sub, f"{name}@example.com", json.dumps({"provider": "email"})))
        conn.execute(SEED)


def request(conn: psycopg.Connection, caller: str, text: str, *params: object,
            jwt: dict[str, Any] | None = None) -> tuple[str, list[tuple[Any, ...]]]:
    """One PostgREST-style request, rolled back: ("yes" | "no rows" | "error", rows)."""
    jwt = jwt or claims(caller)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(jwt["role"])))
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (json.dumps(jwt),))
            cursor = conn.execute(text, params or None)
            rows = cursor.fetchall() if cursor.description else []
            return ("yes" if cursor.rowcount > 0 else "no rows"), rows
    except psycopg.errors.InsufficientPrivilege:
        # Permission denied, or a new row that violates row level security:
        # both are SQLSTATE 42501. Any other error is a broken test, not a denial.
        return "error", []


def test_every_cell_of_the_documented_matrix(target: Target):
    matrix = documented_matrix()
    wrong = []
    with psycopg.connect(target.authenticator_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("authenticator",)
        for (name, command), expected in matrix.items():
            for caller, want in expected.items():
                got, _ = request(conn, caller, statement(name, command))
                if got != want:
                    wrong.append(f"{command} {name} as {caller}: crm.md says {want}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_created_by_is_the_callers_and_cannot_be_forged(target: Target):
    insert = "INSERT INTO public.campaigns (name, created_by) VALUES ('n', %s) RETURNING created_by"
    with psycopg.connect(target.authenticator_url, autocommit=True) as conn:
        for caller in ("operator", "admin"):
            me, other = uuid.UUID(SUBS[caller]), uuid.UUID(SUBS["other"])
            assert request(conn, caller, "INSERT INTO public.campaigns (name) VALUES ('n') "
                           "RETURNING created_by") == ("yes", [(me,)])
            assert request(conn, caller, insert, me) == ("yes", [(me,)])
            assert request(conn, caller, insert, other)[0] == "error"
            assert request(conn, caller, insert, None)[0] == "error"
            # Another user's campaign: editable, but created_by stays theirs.
            assert request(conn, caller, "UPDATE public.campaigns SET name = 'renamed' "
                           "WHERE id = %s RETURNING created_by", CAMPAIGN) == ("yes", [(other,)])
            for forged in (me, uuid.UUID(SUBS["viewer"]), None):
                assert request(conn, caller, "UPDATE public.campaigns SET created_by = %s "
                               "WHERE id = %s", forged, CAMPAIGN)[0] == "error", forged
        # Nor can an operator hand their own campaign to somebody else.
        me = uuid.UUID(SUBS["operator"])
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (json.dumps(claims("operator")),))
            own = conn.execute("INSERT INTO public.campaigns (name) VALUES ('mine') "
                               "RETURNING id").fetchone()[0]
            with pytest.raises(psycopg.errors.InsufficientPrivilege,
                               match="created_by cannot be changed"), conn.transaction():
                conn.execute("UPDATE public.campaigns SET created_by = %s WHERE id = %s",
                             (SUBS["other"], own))
            assert conn.execute("SELECT created_by FROM public.campaigns WHERE id = %s",
                                (own,)).fetchone() == (me,)
        # service_role may set it freely, on insert and on update.
        other = uuid.UUID(SUBS["other"])
        assert request(conn, "service_role", insert, other) == ("yes", [(other,)])
        assert request(conn, "service_role", "UPDATE public.campaigns SET created_by = %s "
                       "WHERE id = %s RETURNING created_by", me, CAMPAIGN) == ("yes", [(me,)])


def test_no_policy_for_the_api_roles_is_constantly_true(target: Target):
    with psycopg.connect(target.url) as conn:
        policies = conn.execute("""
            SELECT tablename, policyname, roles::text[], qual, with_check FROM pg_policies
            WHERE schemaname = 'public'""").fetchall()
        tables = conn.execute("""
            SELECT c.relname, c.relrowsecurity FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'""").fetchall()
    assert policies and tables
    assert all(rls for _, rls in tables), tables
    for table, name, roles, qual, with_check in policies:
        where = f"{table}.{name} ({roles}): {qual!r} / {with_check!r}"
        assert "anon" not in roles, where
        if not {"authenticated", "public"} & set(roles):
            continue
        assert qual is not None or with_check is not None, where
        for expression in (qual, with_check):
            if expression is None:
                continue
            # Not "true", nor anything else that holds whoever asks: every
            # condition depends on the caller's JWT.
            assert expression.strip("() ") != "true", where
            assert "current_setting('request.jwt.claims'::text, true)" in expression, where


def test_a_reapply_recreates_no_policy(target: Target):
    query = ("SELECT c.relname, p.polname, p.oid::int, pg_get_expr(p.polqual, p.polrelid), "
             "pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p "
             "JOIN pg_class c ON c.oid = p.polrelid ORDER BY 1, 2")
    with psycopg.connect(target.url) as conn:
        before = conn.execute(query).fetchall()
    again = apply_cli(target.url)
    assert again.returncode == 0 and again.stdout.startswith("No changes:"), again.stdout
    with psycopg.connect(target.url) as conn:
        assert conn.execute(query).fetchall() == before
    assert len(before) == len(api.Project.load(REPO).config.policies)


def _documented_sql_for_a_level() -> str:
    text = CRM_PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Giving a user a level"):]
    match = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    assert match, "docs/crm.md: no SQL under 'Giving a user a level'"
    assert "'<user id>'" in match.group(1)
    return match.group(1)


def test_the_documented_sql_gives_a_user_a_level(supabase_database):
    """docs/crm.md's UPDATE of auth.users, run as postgres, makes a user an operator
    once Supabase Auth puts raw_app_meta_data into their JWT as app_metadata."""
    db = supabase_database
    target = Target("supabase", db.url, db.url_as("authenticator"))
    provision(target, db)
    user = SUBS["no_level"]
    with db.connect() as conn:
        conn.execute(_documented_sql_for_a_level().replace("'<user id>'", f"'{user}'"))
        app_metadata = conn.execute("SELECT raw_app_meta_data FROM auth.users WHERE id = %s",
                                    (user,)).fetchone()[0]
    assert app_metadata == {"provider": "email", "crm_role": "operator"}
    jwt = {"role": "authenticated", "sub": user, "app_metadata": app_metadata}
    insert = statement("campaigns", "INSERT")
    with psycopg.connect(target.authenticator_url, autocommit=True) as conn:
        assert request(conn, "no_level", insert)[0] == "error"
        assert request(conn, "no_level", insert, jwt=jwt)[0] == "yes"

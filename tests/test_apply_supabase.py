"""A Supabase-shaped database next to a plain one.

Roles are cluster-wide, so the Supabase-shaped database lives on a server of
its own (an embedded one in a temporary directory): its pre-existing roles,
created the way Supabase creates them, must not meet the roles other tests
let supabase-init create on the shared server, and the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from apply_helpers import apply_cli
from catalog import catalog_fingerprint

# What Supabase has before any migration runs: its API roles (NOLOGIN
# NOINHERIT, service_role BYPASSRLS; not commented by supabase-init), the
# authenticator that switches into them, Supabase Auth's users table, and
# default privileges granting ALL on new objects in public to the API roles.
SUPABASE_SHAPE = """
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
"""

ROLE_ATTRIBUTES = """
    SELECT rolname, rolcanlogin, rolinherit, rolbypassrls,
           shobj_description(oid, 'pg_authid') AS comment
    FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')
    ORDER BY rolname"""

FOREIGN_KEYS = """
    SELECT conname, confrelid::regclass::text FROM pg_constraint
    WHERE conrelid = 'public.campaigns'::regclass AND contype = 'f'"""


@pytest.fixture(scope="module")
def supabase_url() -> Iterator[str]:
    """A database on a server of its own, shaped like a fresh Supabase project."""
    import psycopg

    from supabase_init import api

    with api.TargetChoice(embedded=True).open() as target:
        with psycopg.connect(target.dsn, autocommit=True) as conn:
            conn.execute(SUPABASE_SHAPE)
        yield target.dsn


def test_a_supabase_shaped_database_gets_the_auth_users_foreign_key(supabase_url):
    import psycopg

    with psycopg.connect(supabase_url) as conn:
        roles_before = conn.execute(ROLE_ATTRIBUTES).fetchall()
    assert [r[4] for r in roles_before] == [None] * 4

    first = apply_cli(supabase_url, "--json")
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)["counts"]["create"]
    assert "role" not in created and created["table"] == 6
    second = apply_cli(supabase_url)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("No changes:"), second.stdout

    with psycopg.connect(supabase_url) as conn:
        assert conn.execute(FOREIGN_KEYS).fetchall() == [
            ("campaigns_created_by_fkey", "auth.users")]
        # Supabase's roles are not supabase-init's: left exactly as they were.
        assert conn.execute(ROLE_ATTRIBUTES).fetchall() == roles_before
        # The FK works: a campaign may name an existing user, not a missing one.
        user = conn.execute("INSERT INTO auth.users (id) VALUES (gen_random_uuid()) "
                            "RETURNING id").fetchone()
        assert user is not None
        conn.execute("INSERT INTO public.campaigns (name, created_by) VALUES ('c', %s)",
                     (user[0],))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO public.campaigns (name, created_by) "
                         "VALUES ('d', gen_random_uuid())")


def test_a_plain_database_gets_no_foreign_key_and_the_same_grants(database, supabase_url):
    first = apply_cli(database.url)
    assert first.returncode == 0, first.stderr
    second = apply_cli(database.url)
    assert second.returncode == 0 and second.stdout.startswith("No changes:"), second
    assert database.scalar(FOREIGN_KEYS) is None
    assert database.scalar("SELECT to_regclass('auth.users')") is None
    database.execute("INSERT INTO public.campaigns (name, created_by) "
                     "VALUES ('c', gen_random_uuid())")

    # Grants are declarative: Supabase's default privileges (ALL to every API
    # role) end up as exactly the config's grants, as on plain PostgreSQL.
    apply_cli(supabase_url)
    plain, supabase = catalog_fingerprint(database.url), catalog_fingerprint(supabase_url)
    for area in ("table_grants", "function_grants", "schema_grants", "policies", "roles",
                 "columns", "indexes", "triggers"):
        assert plain[area] == supabase[area], area
    # The two servers may be different majors: PostgreSQL 18 lists NOT NULL
    # as constraints, earlier majors do not.
    def constraints(fp: dict) -> list:
        return [c for c in fp["constraints"] if not c[2].startswith("NOT NULL ")]

    fk = [c for c in constraints(supabase) if c[1] == "campaigns_created_by_fkey"]
    assert len(fk) == 1
    assert [c for c in constraints(supabase) if c not in fk] == constraints(plain)

"""Applying to a database shaped like a hosted Supabase project, next to a plain one.

The Supabase-shaped server (tests/supabase_shape.py) is the test server's
major version with Supabase's roles, auth schema and default privileges;
everything here runs as its non-superuser `postgres` over scram-sha-256, the
way a Supabase project's migrations run. Every route applies twice and
`verify` then finds no drift: `supabase-init apply`, `supabase-init render |
psql --single-transaction`, and the Terraform module. A re-apply re-creates
no policy (their OIDs stay the same).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from apply_helpers import apply_cli
from catalog import catalog_fingerprint
from conftest import REPO, run_cli

ROLE_ATTRIBUTES = """
    SELECT rolname, rolsuper, rolcanlogin, rolinherit, rolcreatedb, rolcreaterole,
           rolreplication, rolbypassrls, shobj_description(oid, 'pg_authid') AS comment
    FROM pg_roles
    WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator', 'postgres')
    ORDER BY rolname"""

MEMBERSHIPS = """
    SELECT m.rolname, r.rolname FROM pg_auth_members a
    JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
    WHERE r.rolname IN ('anon', 'authenticated', 'service_role')
    ORDER BY 1, 2"""

FOREIGN_KEYS = """
    SELECT conname, confrelid::regclass::text FROM pg_constraint
    WHERE conrelid = 'public.campaigns'::regclass AND contype = 'f'"""

POLICY_OIDS = """
    SELECT c.relname || '.' || p.polname, p.oid::int FROM pg_policy p
    JOIN pg_class c ON c.oid = p.polrelid ORDER BY 1"""


def policy_oids(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(POLICY_OIDS).fetchall())


def verify_in_sync(url: str) -> None:
    verified = run_cli("verify", "--database-url", url, cwd=REPO)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("No drift:"), verified.stdout


def assert_no_password(db, *outputs: str) -> None:
    for role in ("postgres", "authenticator", "supabase_admin"):
        for text in outputs:
            assert db.server.password(role) not in text


def test_the_shape_is_a_hosted_supabase_project(supabase_database):
    db = supabase_database
    with db.connect() as conn:
        roles = {r[0]: r[1:] for r in conn.execute(ROLE_ATTRIBUTES).fetchall()}
        #                    super  login  inherit createdb createrole replic bypassrls comment
        assert roles == {
            "anon": (False, False, True, False, False, False, False, None),
            "authenticated": (False, False, True, False, False, False, False, None),
            "authenticator": (False, True, False, False, False, False, False, None),
            "postgres": (False, True, True, True, True, True, True, None),
            "service_role": (False, False, True, False, False, False, True, None),
        }
        assert conn.execute(MEMBERSHIPS).fetchall() == [
            ("authenticator", "anon"), ("authenticator", "authenticated"),
            ("authenticator", "service_role"), ("postgres", "anon"),
            ("postgres", "authenticated"), ("postgres", "service_role")]
        assert conn.execute("SELECT current_user, pg_get_userbyid(datdba) FROM pg_database "
                            "WHERE datname = current_database()").fetchone() == (
            "postgres", "postgres")
        # What postgres creates in public is granted ALL to it and the API roles.
        default_acl = conn.execute("""
            SELECT d.defaclobjtype, array_agg(DISTINCT pg_get_userbyid(a.grantee)::text
                                              ORDER BY pg_get_userbyid(a.grantee)::text)
            FROM pg_default_acl d, aclexplode(d.defaclacl) a
            WHERE d.defaclrole = 'postgres'::regrole AND d.defaclnamespace = 'public'::regnamespace
            GROUP BY 1 ORDER BY 1""").fetchall()
        everyone = ["anon", "authenticated", "postgres", "service_role"]
        assert default_acl == [("S", everyone), ("f", everyone), ("r", everyone)]
        assert conn.execute("SELECT to_regclass('auth.users')::text, "
                            "to_regprocedure('auth.uid()')::text, "
                            "to_regprocedure('auth.role()')::text, "
                            "to_regprocedure('auth.jwt()')::text").fetchone() == (
            "auth.users", "auth.uid()", "auth.role()", "auth.jwt()")
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         ('{"role": "authenticated", "sub": '
                          '"8a3f2c1e-0000-4000-8000-000000000001"}',))
            assert conn.execute("SELECT auth.uid()::text, auth.role(), auth.jwt() ->> 'role'"
                                ).fetchone() == ("8a3f2c1e-0000-4000-8000-000000000001",
                                                 "authenticated", "authenticated")
    # Password authentication, never trust: a wrong password is refused, for
    # the superuser too, and every stored password is a SCRAM verifier.
    for role in ("postgres", "authenticator", "supabase_admin"):
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(db.server.url(role, db.name, password="not-the-password")).close()
    with db.server.admin() as admin:
        assert admin.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
        assert admin.execute(
            "SELECT rolname, left(rolpassword, 14) FROM pg_authid "
            "WHERE rolpassword IS NOT NULL ORDER BY 1").fetchall() == [
            ("authenticator", "SCRAM-SHA-256$"), ("postgres", "SCRAM-SHA-256$"),
            ("supabase_admin", "SCRAM-SHA-256$")]


def test_cli_applies_twice_as_non_superuser_postgres_then_no_drift(supabase_database):
    db = supabase_database
    with db.connect() as conn:
        roles_before = conn.execute(ROLE_ATTRIBUTES).fetchall()

    first = apply_cli(db.url, "--json")
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)["counts"]["create"]
    assert "role" not in created and created["table"] == 7
    oids = policy_oids(db.url)
    assert oids
    second = apply_cli(db.url)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("No changes:"), second.stdout
    assert policy_oids(db.url) == oids
    verify_in_sync(db.url)
    assert_no_password(db, first.stdout, first.stderr, second.stdout, second.stderr)

    with db.connect() as conn:
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


def _without_password(db) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(db.url)
    params.pop("password")
    return make_conninfo(**params)


def test_render_piped_to_psql_applies_twice_then_no_drift(supabase_database, psql_bin):
    db = supabase_database
    render = shlex.join([sys.executable, "-m", "supabase_init", "render"])
    psql = shlex.join([psql_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                       "-d", _without_password(db)])
    env = {**os.environ, "PGPASSWORD": db.server.password("postgres")}
    oids: dict[str, int] = {}
    for _ in range(2):
        piped = subprocess.run(["bash", "-c", f"set -o pipefail; {render} | {psql}"],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert piped.returncode == 0, piped.stderr
        assert_no_password(db, piped.stdout, piped.stderr)
        oids = oids or policy_oids(db.url)
        assert oids and policy_oids(db.url) == oids
    verify_in_sync(db.url)


def test_terraform_module_applies_twice_then_no_drift(supabase_database, terraform_bin,
                                                     psql_bin, tmp_path: Path):
    db = supabase_database
    module = tmp_path / "terraform"
    shutil.copytree(REPO / "terraform", module,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "examples"))
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "PG"))}
    env.update(TF_CLI_CONFIG_FILE=str(cli_config), TF_IN_AUTOMATION="1", TF_INPUT="0",
               CHECKPOINT_DISABLE="1", PGPASSWORD=db.server.password("postgres"))
    target = ["-var", f"host={db.server.host}", "-var", f"port={db.server.port}",
              "-var", f"database={db.name}", "-var", "user=postgres", "-var", "sslmode=disable"]

    def terraform(*args: str) -> str:
        result = subprocess.run([terraform_bin, args[0], "-no-color", *args[1:]], cwd=module,
                                env=env, capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert_no_password(db, output)
        return output

    terraform("init", "-input=false")
    applied = terraform("apply", "-auto-approve", "-input=false", *target)
    assert "Apply complete! Resources: 1 added" in applied
    oids = policy_oids(db.url)
    # The second run of the SQL on the now up-to-date database: replace the
    # resource, so its provisioner runs psql again.
    again = terraform("apply", "-auto-approve", "-input=false", "-replace=terraform_data.this",
                      *target)
    assert "Resources: 1 added, 0 changed, 1 destroyed." in again
    assert policy_oids(db.url) == oids
    assert "No changes." in terraform("apply", "-auto-approve", "-input=false", *target)
    verify_in_sync(db.url)


def test_plain_and_supabase_databases_get_the_same_objects_and_grants(database,
                                                                      supabase_database):
    first = apply_cli(database.url)
    assert first.returncode == 0, first.stderr
    second = apply_cli(database.url)
    assert second.returncode == 0 and second.stdout.startswith("No changes:"), second
    assert database.scalar(FOREIGN_KEYS) is None
    assert database.scalar("SELECT to_regclass('auth.users')") is None
    database.execute("INSERT INTO public.campaigns (name, created_by) "
                     "VALUES ('c', gen_random_uuid())")

    # Grants are declarative: Supabase's default privileges (ALL to every API
    # role) end up as exactly the config's grants, as on plain PostgreSQL; the
    # roles supabase-init creates on plain PostgreSQL are Supabase's.
    assert apply_cli(supabase_database.url).returncode == 0
    plain = catalog_fingerprint(database.url)
    supabase = catalog_fingerprint(supabase_database.url)
    # Supabase also grants postgres USAGE on public; postgres is not a role
    # supabase-init manages, and keeps it.
    assert ("postgres", "USAGE") in supabase["schema_grants"]
    supabase["schema_grants"].remove(("postgres", "USAGE"))
    for area in ("table_grants", "function_grants", "schema_grants", "policies", "roles",
                 "columns", "indexes", "triggers", "functions", "views"):
        assert plain[area] == supabase[area], area
    # The Supabase-shaped server is the test server's major, so the
    # constraints compare directly: the same, plus the foreign key to auth.users.
    fk = [c for c in supabase["constraints"] if c[1] == "campaigns_created_by_fkey"]
    assert len(fk) == 1
    assert [c for c in supabase["constraints"] if c not in fk] == plain["constraints"]

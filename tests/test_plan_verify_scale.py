"""Plan and verify on generated projects: role drift on roles of their own, a fixed
number of catalog queries whatever the table count, and the diff itself."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from conftest import create_database, drop_database
from generated_project import generate_project, table_names


def _render(project: Path) -> Any:
    from supabase_init import api

    return api.render(api.Project.load(project))


def _apply(url: str, script: Any) -> None:
    from supabase_init import api

    api.apply(api.url_target(url), script)


def test_changed_role_attribute_is_drift_and_apply_restores_it(admin_conn, server_url,
                                                               tmp_path, capsys):
    """Roles are cluster-wide: this test provisions roles of its own and drops them."""
    from psycopg import sql

    from supabase_init.cli import main

    prefix = "pv_" + uuid.uuid4().hex[:10]
    roles = (f"{prefix}_anon", f"{prefix}_user", f"{prefix}_service")
    project = generate_project(tmp_path / "project", 2, roles)
    db = create_database(admin_conn, server_url)
    args = ["--project", str(project), "--database-url", db.url]
    try:
        assert main(["apply", "--quiet", *args]) == 0
        assert main(["verify", *args]) == 0
        db.execute(f"ALTER ROLE {roles[2]} NOBYPASSRLS LOGIN")
        capsys.readouterr()
        assert main(["verify", *args]) == 2
        out = capsys.readouterr().out
        assert f"~ role {roles[2]}" in out
        assert "bypass_rls: false -> true" in out and "login: true -> false" in out
        assert main(["apply", "--quiet", *args]) == 0
        assert main(["verify", *args]) == 0
        assert db.scalar("SELECT rolbypassrls AND NOT rolcanlogin FROM pg_roles "
                         "WHERE rolname = %s", roles[2]) is True
    finally:
        drop_database(db)
        for role in roles:
            admin_conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(  # type: ignore[attr-defined]
                sql.Identifier(role)))


def _counted_snapshot(url: str) -> tuple[int, Any]:
    import psycopg

    from supabase_init.introspect import snapshot_catalog

    executed: list[object] = []

    class CountingCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            executed.append(query)
            return super().execute(query, params, **kwargs)

    with psycopg.connect(url, autocommit=True, cursor_factory=CountingCursor) as conn:
        snapshot = snapshot_catalog(conn, schema="public",
                                    roles=("anon", "authenticated", "service_role"))
    return len(executed), snapshot


def test_catalog_query_count_does_not_depend_on_the_table_count(database, admin_conn,
                                                                server_url, tmp_path):
    small = generate_project(tmp_path / "small", 10)
    large = generate_project(tmp_path / "large", 200)
    _apply(database.url, _render(small))
    other = create_database(admin_conn, server_url)
    try:
        _apply(other.url, _render(large))
        small_queries, small_snapshot = _counted_snapshot(database.url)
        large_queries, large_snapshot = _counted_snapshot(other.url)
    finally:
        drop_database(other)
    assert small_snapshot.names("table") == table_names(10)
    assert large_snapshot.names("table") == table_names(200)
    assert len(large_snapshot) > 15 * len(small_snapshot)
    assert small_queries == large_queries
    assert small_queries <= 12


def test_generated_project_plans_empty_after_apply(database, tmp_path):
    from supabase_init import api

    project = generate_project(tmp_path / "project", 25, policies=True)
    script = _render(project)
    target = api.url_target(database.url)
    first = api.plan(target, script)
    assert {c.name for c in first.changes if c.kind == "policy"} == {
        f"{t}.members_all" for t in table_names(25)}
    _apply(database.url, script)
    assert api.plan(target, script).changes == []

"""The catalog diff as a unit: pure functions over snapshots, and its plan text."""

from __future__ import annotations

from typing import Any


def _snapshot(*items: tuple[str, str, str | None, dict[str, Any]]) -> Any:
    from supabase_init.introspect import Item, Snapshot

    return Snapshot(schema="public", roles=(),
                    items={(k, n): Item.of(k, n, p, a) for k, n, p, a in items})


def test_diff_splits_grants_into_added_and_revoked_privileges():
    from supabase_init.introspect import diff_snapshots
    from supabase_init.report import summary_line

    before = _snapshot(
        ("table", "t", None, {"row_security": True}),
        ("grant", "table t to anon", "table t", {"privileges": ["INSERT", "SELECT"]}),
        ("column", "t.a", "table t", {"type": "text", "not_null": False, "default": "'x'"}),
    )
    after = _snapshot(
        ("table", "t", None, {"row_security": True}),
        ("grant", "table t to anon", "table t", {"privileges": ["DELETE", "SELECT"]}),
        ("column", "t.a", "table t", {"type": "text", "not_null": False}),
        ("role", "anon", None, {"login": False, "inherit": True, "bypass_rls": False}),
    )
    changes = diff_snapshots(before, after)
    assert [(c.action, c.kind, c.name, c.details) for c in changes] == [
        ("create", "role", "anon", ("NOLOGIN INHERIT NOBYPASSRLS",)),
        ("change", "column", "t.a", ("default: 'x' -> (none)",)),
        ("create", "grant", "table t to anon", ("DELETE",)),
        ("remove", "grant", "table t to anon", ("INSERT",)),
    ]
    assert summary_line(changes) == "Plan: 2 to add, 1 to change, 1 to revoke."
    assert diff_snapshots(after, after) == []


def test_plan_text_groups_changes_under_their_object():
    from supabase_init.introspect import diff_snapshots
    from supabase_init.report import plan_text

    before = _snapshot(("view", "v", None, {"definition": "SELECT 1;", "options": None}))
    after = _snapshot(
        ("view", "v", None, {"definition": "SELECT 2;", "options": ["security_invoker=true"]}),
        ("grant", "view v to authenticated", "view v", {"privileges": ["SELECT"]}),
    )
    text = plan_text(diff_snapshots(before, after), schema="public", target="db")
    assert text.splitlines()[2:] == [
        "~ view v",
        "    definition: SELECT 1; -> SELECT 2;",
        "    options: (none) -> security_invoker=true",
        "    + grant SELECT on view v to authenticated",
        "",
        "Plan: 1 to add, 1 to change, 0 to revoke.",
    ]

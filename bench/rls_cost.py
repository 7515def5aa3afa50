"""Measure what the CRM's row level security costs: an operator against service_role.

One fresh database, provisioned by `supabase-init apply`, with 1,000,000
`campaign_recipients` (spread over 200 campaigns) by default. Each query runs
as PostgREST runs a request (`BEGIN; SET LOCAL ROLE ...; set_config(
'request.jwt.claims', ...)`), once as an operator (`authenticated` with
`app_metadata.crm_role = "operator"`: the policies apply) and once as
`service_role` (`BYPASSRLS`: no policy applies), in the same run, alternating
which goes first. Reported: median milliseconds over the rounds, and the ratio
operator / service_role (the target is at most 1.3).

* count      `SELECT count(*) FROM campaign_recipients`
* dashboard  `SELECT * FROM campaign_metrics ORDER BY campaign_name` (the
             delivery funnel of every campaign: campaigns joined to all their
             recipients and aggregated)

It also prints where the policy shows up in the operator's plan of each query.

Usage:
    python bench/rls_cost.py [--database-url URL] [--rows 1000000] [--rounds 9]

The server is --database-url, else $SUPABASE_INIT_TEST_DATABASE_URL, else a
throwaway embedded server. The URL's role must be able to create databases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from databases import fresh_database, server

REPO = Path(__file__).resolve().parent.parent

QUERIES = {
    "count": "SELECT count(*) FROM public.campaign_recipients",
    "dashboard": "SELECT * FROM public.campaign_metrics ORDER BY campaign_name",
}

OPERATOR = {"role": "authenticated", "sub": str(uuid.uuid4()), "aud": "authenticated",
            "app_metadata": {"provider": "email", "crm_role": "operator"}}
SERVICE_ROLE = {"role": "service_role"}
CALLERS: dict[str, dict[str, Any]] = {"operator": OPERATOR, "service_role": SERVICE_ROLE}

SEED = (
    """INSERT INTO public.campaigns (name, status)
       SELECT 'campaign ' || g, (ARRAY['draft', 'active', 'paused', 'completed'])[1 + g %% 4]
       FROM generate_series(1, %(campaigns)s) AS g""",
    """INSERT INTO public.campaign_recipients (campaign_id, channel, status, email, created_at)
       SELECT c.ids[1 + g %% %(campaigns)s],
              (ARRAY['email', 'sms', 'push'])[1 + g %% 3],
              (ARRAY['pending', 'sent', 'delivered', 'opened', 'clicked', 'failed'])[1 + g %% 6],
              'customer' || g || '@example.com',
              now() - g * interval '1 second'
       FROM generate_series(1, %(rows)s) AS g,
            (SELECT array_agg(id ORDER BY name) AS ids FROM public.campaigns) AS c""",
)


def provision(url: str, rows: int, campaigns: int) -> None:
    import psycopg

    applied = subprocess.run([sys.executable, "-m", "supabase_init", "apply", "--project",
                              str(REPO), "--database-url", url, "--quiet"],
                             capture_output=True, text=True)
    if applied.returncode != 0:
        raise SystemExit(f"supabase-init apply failed:\n{applied.stderr}")
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SEED:
            conn.execute(statement, {"rows": rows, "campaigns": campaigns})
        conn.execute("VACUUM ANALYZE public.campaigns, public.campaign_recipients")


def as_caller(conn: Any, claims: dict[str, Any], query: str) -> tuple[float, list[Any]]:
    """One PostgREST-style request: (seconds, rows)."""
    from psycopg import sql

    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(claims["role"])))
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        started = time.perf_counter()
        rows = conn.execute(query).fetchall()
        return time.perf_counter() - started, rows


def policy_lines(conn: Any, query: str) -> list[str]:
    """The lines of the operator's plan that show the policy (InitPlan and filters)."""
    _, plan = as_caller(conn, OPERATOR, "EXPLAIN (COSTS OFF) " + query)
    return [row[0].strip() for row in plan if "InitPlan" in row[0] or "Filter" in row[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "SUPABASE_INIT_TEST_DATABASE_URL"), help="admin URL of the server to use")
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="campaign_recipients rows (default 1,000,000)")
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    opts = parser.parse_args()

    import psycopg

    with server(opts.database_url) as admin_url, fresh_database(admin_url) as url:
        started = time.perf_counter()
        provision(url, opts.rows, opts.campaigns)
        seeded = time.perf_counter() - started
        times: dict[tuple[str, str], list[float]] = {}
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            for name, query in QUERIES.items():
                # The same answer for both callers: the operator sees every row.
                results = {c: as_caller(conn, claims, query)[1] for c, claims in CALLERS.items()}
                if results["operator"] != results["service_role"]:
                    raise SystemExit(f"{name}: the operator and service_role see different rows")
                for round_no in range(opts.rounds):
                    order = list(CALLERS) if round_no % 2 == 0 else list(reversed(CALLERS))
                    for caller in order:
                        seconds, _ = as_caller(conn, CALLERS[caller], query)
                        times.setdefault((name, caller), []).append(seconds)
            plans = {name: policy_lines(conn, query) for name, query in QUERIES.items()}

    print(f"PostgreSQL {version}; {opts.rows:,} campaign_recipients over {opts.campaigns} "
          f"campaigns (provisioned and loaded in {seeded:.1f} s); {opts.rounds} rounds after "
          "one warm-up; median milliseconds")
    print(f"{'':11}{'operator':>10}{'service_role':>14}{'ratio':>8}  (target <= 1.3)")
    for name in QUERIES:
        operator = statistics.median(times[(name, "operator")]) * 1000
        service = statistics.median(times[(name, "service_role")]) * 1000
        ratio = operator / service
        verdict = "within target" if ratio <= 1.3 else "OVER TARGET"
        print(f"{name:11}{operator:10.1f}{service:14.1f}{ratio:8.2f}  {verdict}")
    for name, lines in plans.items():
        print(f"operator's {name} plan: " + "; ".join(lines))


if __name__ == "__main__":
    main()

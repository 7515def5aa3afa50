"""The CRM's policies, as Supabase's advisor reads them and as PostgreSQL runs them.

The advisor (auth_rls_initplan) judges a policy's text: a claim read must be
written `(select current_setting(...))`. PostgreSQL must still evaluate the
policy once per statement (an InitPlan), not once per row. Both are checked on
plain PostgreSQL and on the Supabase shape, after an apply; a re-apply keeps
every policy (same OIDs).
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from apply_helpers import apply_cli
from supabase_init.lint import advisor_initplan_calls

POLICIES = """
    SELECT c.relname || '.' || p.polname, p.oid::int,
           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid ORDER BY 1"""
CLAIM_READ = "( SELECT current_setting('request.jwt.claims'::text, true) AS current_setting)"
OPERATOR = {"role": "authenticated", "sub": str(uuid.uuid4()),
            "app_metadata": {"crm_role": "operator"}}


def _operator_plan(url: str, query: str) -> list[str]:
    with psycopg.connect(url) as conn, conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                     (json.dumps(OPERATOR),))
        return [row[0] for row in conn.execute("EXPLAIN (COSTS OFF) " + query)]


@pytest.mark.parametrize("shape", ["plain", "supabase"])
def test_policies_are_in_the_advisors_form_and_run_once_per_statement(request, shape) -> None:
    db = request.getfixturevalue("database" if shape == "plain" else "supabase_database")
    applied = apply_cli(db.url, "--quiet")
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(db.url) as conn:
        policies = conn.execute(POLICIES).fetchall()
    assert len(policies) == 24, policies
    for name, _, using, with_check in policies:
        for expression in (using, with_check):
            if expression is None:
                continue
            # What the advisor flags (its text test), nothing; the claim read wrapped.
            assert advisor_initplan_calls(expression) == [], (name, expression)
            assert CLAIM_READ in expression, (name, expression)
            assert "NULLIF(current_setting" not in expression, (name, expression)

    # Once per statement: the claim is read in an InitPlan, and the rows are
    # filtered on its result alone.
    plan = _operator_plan(db.url, "SELECT count(*) FROM public.campaign_recipients")
    assert any("InitPlan" in line for line in plan), plan
    filters = [line for line in plan if "Filter:" in line]
    assert filters and not any("current_setting" in line for line in filters), plan

    # A re-apply finds every policy as the server prints it: none is re-created.
    again = apply_cli(db.url)
    assert again.returncode == 0 and again.stdout.startswith("No changes:"), again.stdout
    with psycopg.connect(db.url) as conn:
        assert conn.execute(POLICIES).fetchall() == policies

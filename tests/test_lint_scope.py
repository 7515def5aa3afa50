"""Which schemas lint judges: every managed one, scoped as Supabase's advisor scopes them.

The rules about what the API serves judge the exposed schemas only (the API
schema, and any other the server's `pgrst.db_schemas` names); the others judge
every managed schema, the CRM's private schema included.
"""

from __future__ import annotations

import json
import re
from typing import Any

from conftest import run_cli
from supabase_init.lint import Facts, catalog_hits

COUNTS_POLICY = re.compile(r'^policy "campaign_recipient_counts" "viewers_read" \{\n.*?^\}\n',
                           re.DOTALL | re.MULTILINE)


def test_the_private_schema_is_linted_and_findings_carry_its_name(database, project) -> None:
    config = project / "supabase-init.hcl"
    config.write_text(COUNTS_POLICY.sub("", config.read_text(encoding="utf-8"), count=1),
                      encoding="utf-8")
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr
    result = run_cli("lint", "--project", str(project), "--database-url", database.url,
                     "--format", "json")
    assert result.returncode == 2, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["schemas"] == ["public", "crm_private"]
    [finding] = [f for f in document["findings"] if f["rule"] == "rls_enabled_no_policy"]
    assert finding["object"] == "table crm_private.campaign_recipient_counts"
    assert finding["file"] == "templates/tables/campaign_recipient_counts.sql.j2"


def _table(schema: str) -> dict[str, Any]:
    return {"schema": schema, "row_security": False, "partitioned": False,
            "columns": ["id", "password"], "primary_key": True, "options": [],
            "privileges": {"anon": [], "authenticated": ["SELECT"]}}


def _hits(rule: str, facts: Facts) -> list[str]:
    return [obj for obj, _ in catalog_hits(rule, facts)]


def test_exposed_schema_rules_follow_the_servers_postgrest_schemas() -> None:
    items = {"table": {"notes": _table("public"), "crm_private.notes": _table("crm_private")}}
    hidden = Facts("public", items, {"pg_graphql": True, "exposed_schemas": []})
    served = Facts("public", items, {"pg_graphql": True,
                                     "exposed_schemas": ["public", "crm_private"]})
    for rule in ("rls_disabled_in_public", "sensitive_columns_exposed"):
        assert _hits(rule, hidden) == ["table notes"], rule
        assert sorted(_hits(rule, served)) == ["table crm_private.notes", "table notes"], rule
    # pg_graphql shows what a role may select, wherever it is.
    assert sorted(_hits("pg_graphql_authenticated_table_exposed", hidden)) == [
        "table crm_private.notes", "table notes"]


def test_pg_graphql_findings_say_when_the_server_lacks_it() -> None:
    items = {"table": {"notes": _table("public")}}
    rule = "pg_graphql_authenticated_table_exposed"
    [(_, without)] = catalog_hits(rule, Facts("public", items, {"pg_graphql": False}))
    [(_, with_it)] = catalog_hits(rule, Facts("public", items, {"pg_graphql": True}))
    assert "pg_graphql is not installed here" in without
    assert "not installed" not in with_it

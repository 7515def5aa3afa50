"""Issue acceptance: render's SQL applies with psql to an empty database, twice."""

from __future__ import annotations

import subprocess
from pathlib import Path

from catalog import catalog_fingerprint
from conftest import REPO, run_cli

SEED_COLUMNS = {
    "target_group_mappings": {"id", "crm_name", "postgres_table", "description",
                              "created_at", "updated_at"},
    "campaigns": {"id", "name", "description", "status", "workflow_data", "created_by",
                  "scheduled_at", "started_at", "completed_at"},
    "campaign_executions": {"id", "campaign_id", "execution_type", "status",
                            "execution_data", "metrics"},
    "campaign_recipients": {"id", "campaign_id", "execution_id", "customer_id", "email",
                            "phone", "channel", "status", "sent_at", "delivered_at",
                            "opened_at", "clicked_at"},
    "customer_360": {"id", "customer_id", "email", "name", "phone", "segment", "churn_risk",
                     "ltv", "total_deposit", "total_withdraw", "last_activity_at", "metadata"},
    "customer_activities": {"id", "customer_id", "activity_type", "activity_description",
                            "activity_data", "created_at"},
}




def _psql_file(psql: str, url: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           "-d", url, "-f", str(path)], capture_output=True, text=True,
                          timeout=120)


def test_rendered_sql_applies_twice_with_psql(database, psql_bin, tmp_path):
    sql_file = tmp_path / "crm.sql"
    rendered = run_cli("render", "-o", str(sql_file), cwd=REPO)
    assert rendered.returncode == 0, rendered.stderr
    first = _psql_file(psql_bin, database.url, sql_file)
    assert first.returncode == 0, first.stderr
    after_first = catalog_fingerprint(database.url)
    second = _psql_file(psql_bin, database.url, sql_file)
    assert second.returncode == 0, second.stderr
    assert catalog_fingerprint(database.url) == after_first

    columns: dict[str, set[str]] = {}
    for table, column, *_ in after_first["columns"]:
        columns.setdefault(table, set()).add(column)
    for table, expected in SEED_COLUMNS.items():
        assert expected <= columns[table], (table, expected - columns[table])
    relkinds = {name: kind for name, kind, *_ in after_first["relations"]}
    assert relkinds["active_campaigns"] == relkinds["campaign_metrics"] == "v"
    assert all(rls == "True" for name, kind, rls, *_ in after_first["relations"] if kind == "r")
    triggers = {(t, name) for t, name, *_ in after_first["triggers"]}
    assert ("campaigns", "set_updated_at") in triggers
    indexes = {name for _, name, _ in after_first["indexes"]}
    assert {"campaign_recipients_campaign_id_idx",
            "customer_activities_customer_created_idx"} <= indexes
    policies = {(t, p) for t, p, *_ in after_first["policies"]}
    assert ("campaigns", "operators_insert") in policies
    views = dict(after_first["relations"][i][:1] + after_first["relations"][i][4:5]
                 for i in range(len(after_first["relations"])))
    assert "security_invoker=true" in views["campaign_metrics"]

"""Issue acceptance: plan shows exactly what apply would change, verify finds drift.

Every test runs against a fresh database on the real server; the CLI runs in a
subprocess as a user would run it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog import catalog_fingerprint
from conftest import run_cli

ROLES = ("anon", "authenticated", "service_role")


def cli(project, *args: str, url: str):
    return run_cli(*args, "--project", str(project), "--database-url", url)


def apply_ok(project, url: str) -> None:
    result = cli(project, "apply", "--quiet", url=url)
    assert result.returncode == 0, result.stderr


def invoke(capsys, project, *args: str, url: str) -> tuple[int, str, str]:
    """The CLI in this process (the drift matrix runs it dozens of times)."""
    from supabase_init.cli import main

    capsys.readouterr()
    code = main([*args, "--project", str(project), "--database-url", url])
    out, err = capsys.readouterr()
    return code, out, err


def plan_json(project, url: str, command: str = "plan") -> tuple[int, dict[str, Any]]:
    result = cli(project, command, "--json", url=url)
    assert result.returncode in (0, 2), result.stderr
    return result.returncode, json.loads(result.stdout)


def keyed(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["action"], c["kind"], c["name"]) for c in document["changes"]}


def test_plan_on_an_empty_database_lists_every_object_and_changes_nothing(database, project):
    before = catalog_fingerprint(database.url)
    result = cli(project, "plan", url=database.url)
    assert result.returncode == 0, result.stderr
    assert catalog_fingerprint(database.url) == before
    assert result.stdout.rstrip().splitlines()[-1].startswith("Plan: ")
    assert "+ table campaigns: row level security enabled" in result.stdout
    assert "+ grant SELECT on view campaign_metrics to authenticated" in result.stdout

    code, document = plan_json(project, database.url)
    assert code == 0
    assert catalog_fingerprint(database.url) == before
    changes = keyed(document)
    expected = {
        ("create", "table", "campaigns"),
        ("create", "table", "customer_activities"),
        ("create", "view", "active_campaigns"),
        ("create", "view", "campaign_metrics"),
        ("create", "function", "set_updated_at()"),
        ("create", "column", "campaigns.status"),
        ("create", "constraint", "campaign_recipients.campaign_recipients_campaign_id_fkey"),
        ("create", "index", "campaigns_status_idx"),
        ("create", "index", "customer_360_metadata_idx"),
        ("create", "trigger", "campaigns.set_updated_at"),
        ("create", "policy", "customer_activities.operators_insert"),
        ("create", "grant", "table campaigns to authenticated"),
        ("create", "grant", "schema public to anon"),
    }
    assert expected <= changes, expected - changes
    assert all(action == "create" for action, _, _ in changes)
    assert document["summary"] == {"add": len(document["changes"]), "change": 0, "revoke": 0}
    assert f"Plan: {len(document['changes'])} to add, 0 to change, 0 to revoke." in result.stdout


def test_after_apply_plan_is_empty_and_verify_exits_0(database, project):
    apply_ok(project, database.url)
    after_apply = catalog_fingerprint(database.url)

    result = cli(project, "plan", "--detailed-exitcode", url=database.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("No changes")
    assert result.stdout.rstrip().endswith("Plan: 0 to add, 0 to change, 0 to revoke.")

    verified = cli(project, "verify", url=database.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("No drift")
    code, document = plan_json(project, database.url, "verify")
    assert (code, document["status"], document["changes"]) == (0, "in_sync", [])
    assert catalog_fingerprint(database.url) == after_apply


def test_plan_detailed_exitcode_means_changes_and_plain_plan_exits_0(database, project):
    assert cli(project, "plan", url=database.url).returncode == 0
    detailed = cli(project, "plan", "--detailed-exitcode", url=database.url)
    assert detailed.returncode == 2, detailed.stderr
    assert detailed.stdout.rstrip().splitlines()[-1].startswith("Plan: ")
    # A usage error is 1, never the 2 that means "changes".
    bad = cli(project, "plan", "--detailed-exitcode", "--no-such-option", url=database.url)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error:")


def test_plan_for_another_schema_creates_it(database, project):
    result = run_cli("plan", "--json", "-var", "schema=crm", "--project", str(project),
                     "--database-url", database.url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "crm"
    assert ("create", "schema", "crm") in keyed(document)
    assert database.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'crm'") == 0


def test_json_document_has_the_documented_shape(database, project):
    apply_ok(project, database.url)
    database.execute("GRANT INSERT ON public.campaigns TO anon")
    code, document = plan_json(project, database.url)
    assert code == 0
    assert set(document) == {"format_version", "command", "status", "database", "schema",
                             "schemas", "summary", "changes", "locks", "hazards", "lint"}
    assert document["schemas"] == [document["schema"], "crm_private"]
    assert (document["format_version"], document["command"], document["status"]) == (
        2, "plan", "changes")
    # The planned state (the grant revoked) lints clean.
    assert document["lint"] == {"error": 0, "warn": 0, "info": 0, "suppressed": 0,
                                "accepted": 9}
    # A revoke takes no lock on the table: nothing to report.
    assert (document["locks"], document["hazards"]) == ([], [])
    assert document["schema"] == "public"
    assert document["summary"] == {"add": 0, "change": 0, "revoke": 1}
    assert document["changes"] == [{
        "action": "remove", "kind": "grant", "name": "table campaigns to anon",
        "object": "table campaigns", "details": ["INSERT"]}]
    code, verify_document = plan_json(project, database.url, "verify")
    assert (code, verify_document["command"], verify_document["status"]) == (
        2, "verify", "drifted")
    assert verify_document["changes"] == document["changes"]


def test_plan_and_verify_fail_with_exit_1_on_an_unreachable_database(project):
    url = "postgresql://someone:pl4n-s3cret@127.0.0.1:1/nowhere"
    for command in ("plan", "verify"):
        result = cli(project, command, url=url)
        assert result.returncode == 1
        assert result.stderr.startswith("Error:")
        assert "pl4n-s3cret" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_no_false_drift_from_oids_order_or_maintain(database, project):
    """Re-created policies (new OIDs), grants given in another order and GRANT ALL
    (which includes MAINTAIN on PostgreSQL 17+) are not drift."""
    apply_ok(project, database.url)
    database.execute("""
        DROP POLICY viewers_read ON public.campaigns;
        CREATE POLICY viewers_read ON public.campaigns AS PERMISSIVE FOR SELECT
            TO authenticated USING ((SELECT (nullif((SELECT current_setting(
                'request.jwt.claims', true)), '')::jsonb #>> '{app_metadata,crm_role}')
                IN ('viewer', 'operator', 'admin')));
        REVOKE ALL ON public.customer_360 FROM authenticated, service_role;
        GRANT DELETE ON public.customer_360 TO authenticated;
        GRANT ALL ON public.customer_360 TO service_role;
        GRANT UPDATE, SELECT, INSERT ON public.customer_360 TO authenticated;
        GRANT ALL ON public.campaigns TO service_role;
    """)
    verified = cli(project, "verify", url=database.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


# --------------------------------------------------------------------------
# drift: each kind makes verify exit 2 and name the object; apply heals it

DRIFTS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "dropped index": (
        "DROP INDEX public.campaigns_status_idx",
        ("create", "index", "campaigns_status_idx")),
    "dropped trigger": (
        "DROP TRIGGER set_updated_at ON public.campaigns",
        ("create", "trigger", "campaigns.set_updated_at")),
    "disabled trigger": (
        "ALTER TABLE public.customer_360 DISABLE TRIGGER set_updated_at",
        ("change", "trigger", "customer_360.set_updated_at")),
    "row level security off": (
        "ALTER TABLE public.campaigns DISABLE ROW LEVEL SECURITY",
        ("change", "table", "campaigns")),
    "row level security forced": (
        "ALTER TABLE public.customer_360 FORCE ROW LEVEL SECURITY",
        ("change", "table", "customer_360")),
    "altered policy": (
        "ALTER POLICY operators_update ON public.campaigns USING (status = 'draft')",
        ("change", "policy", "campaigns.operators_update")),
    "extra policy": (
        "CREATE POLICY anyone ON public.campaigns FOR SELECT TO anon USING (true)",
        ("remove", "policy", "campaigns.anyone")),
    "dropped policy": (
        "DROP POLICY viewers_read ON public.customer_activities",
        ("create", "policy", "customer_activities.viewers_read")),
    "extra grant": (
        "GRANT INSERT ON public.campaigns TO anon",
        ("remove", "grant", "table campaigns to anon")),
    "extra column grant": (
        "GRANT UPDATE (status) ON public.campaigns TO anon",
        ("remove", "grant", "column campaigns.status to anon")),
    "extra grant to PUBLIC": (
        "GRANT EXECUTE ON FUNCTION public.set_updated_at() TO PUBLIC",
        ("remove", "grant", "function set_updated_at() to PUBLIC")),
    "revoked grant": (
        "REVOKE DELETE ON public.campaign_executions FROM authenticated",
        ("create", "grant", "table campaign_executions to authenticated")),
    "revoked schema usage": (
        "REVOKE USAGE ON SCHEMA public FROM authenticated",
        ("create", "grant", "schema public to authenticated")),
    "replaced view": (
        "CREATE OR REPLACE VIEW public.active_campaigns WITH (security_invoker = true) AS "
        "SELECT c.id, c.name, c.description, c.status, c.created_by, c.scheduled_at, "
        "c.started_at, c.created_at, c.updated_at, 0::bigint AS total_recipients, "
        "0::bigint AS pending_recipients, 0::bigint AS sent_recipients, "
        "0::bigint AS failed_recipients FROM public.campaigns AS c",
        ("change", "view", "active_campaigns")),
    "view without security_invoker": (
        "ALTER VIEW public.campaign_metrics RESET (security_invoker)",
        ("change", "view", "campaign_metrics")),
    "replaced function body": (
        "CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path = '' AS $f$ BEGIN RETURN NEW; END $f$",
        ("change", "function", "set_updated_at()")),
    "security definer function": (
        "ALTER FUNCTION public.set_updated_at() SECURITY DEFINER",
        ("change", "function", "set_updated_at()")),
    "dropped column default": (
        "ALTER TABLE public.campaigns ALTER COLUMN status DROP DEFAULT",
        ("change", "column", "campaigns.status")),
    "dropped NOT NULL": (
        "ALTER TABLE public.campaigns ALTER COLUMN name DROP NOT NULL",
        ("change", "column", "campaigns.name")),
    "dropped constraint": (
        "ALTER TABLE public.campaigns DROP CONSTRAINT campaigns_status_check",
        ("create", "constraint", "campaigns.campaigns_status_check")),
}


@pytest.mark.parametrize("kind", list(DRIFTS))
def test_drift_is_found_named_and_healed_by_apply(database, project, capsys, kind):
    statement, expected = DRIFTS[kind]
    url = database.url
    assert invoke(capsys, project, "apply", "--quiet", url=url)[0] == 0
    healthy = catalog_fingerprint(url)
    database.execute(statement)

    code, out, err = invoke(capsys, project, "verify", url=url)
    assert code == 2, out + err
    action, item_kind, name = expected
    shown = name.rpartition(" to ")[0] if item_kind == "grant" else name
    assert shown in out
    assert out.rstrip().splitlines()[-1].startswith("Drift: ")
    code, out, err = invoke(capsys, project, "verify", "--json", url=url)
    assert code == 2, err
    assert expected in keyed(json.loads(out)), out

    assert invoke(capsys, project, "apply", "--quiet", url=url)[0] == 0
    code, out, err = invoke(capsys, project, "verify", url=url)
    assert code == 0, out + err
    assert catalog_fingerprint(url) == healthy


def test_supabase_default_privileges_are_converged_and_not_drift(database, project, capsys):
    """Supabase's default privileges give anon, authenticated and service_role ALL
    (with MAINTAIN on PostgreSQL 17+) on every new table and function; apply
    converges them to the config, and the plan says exactly that."""
    url = database.url
    assert invoke(capsys, project, "apply", "--quiet", url=url)[0] == 0  # the roles exist
    database.execute("""
        CREATE SCHEMA crm;
        ALTER DEFAULT PRIVILEGES IN SCHEMA crm
            GRANT ALL ON TABLES TO anon, authenticated, service_role;
        ALTER DEFAULT PRIVILEGES IN SCHEMA crm
            GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
    """)
    code, out, err = invoke(capsys, project, "plan", "--json", "-var", "schema=crm", url=url)
    assert code == 0, err
    grants = {c["name"]: c["details"] for c in json.loads(out)["changes"]
              if c["kind"] == "grant"}
    assert grants["table campaigns to authenticated"] == ["DELETE, INSERT, SELECT, UPDATE"]
    assert not any(name.endswith(" to anon") and not name.startswith("schema ")
                   for name in grants)
    assert invoke(capsys, project, "apply", "--quiet", "-var", "schema=crm", url=url)[0] == 0
    code, out, err = invoke(capsys, project, "verify", "-var", "schema=crm", url=url)
    assert code == 0, out + err
    assert database.scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "aclexplode(c.relacl) a WHERE n.nspname = 'crm' AND a.grantee = 'anon'::regrole") == 0

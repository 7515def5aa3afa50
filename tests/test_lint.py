"""Issue acceptance: `supabase-init lint` on the planned state, in CI formats, with
suppression, and in plan and apply.

The CLI runs in a subprocess, as a user (or CI) runs it; the databases are
real and fresh per test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog import catalog_fingerprint
from conftest import REPO, run_cli
from supabase_init import api

SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"

ALWAYS_TRUE_FOR_EVERYONE = """
policy "customer_360" "everyone_reads" {
  roles   = ["authenticated"]
  command = "SELECT"
  using   = "true"
}
"""
ALWAYS_TRUE_FOR_ALL_COMMANDS = """
policy "customer_360" "everyone_writes" {
  roles = ["authenticated"]
  using = "true"
}
"""
NOTES_TABLE = """\
{% import "_macros.sql.j2" as m %}
-- Notes nobody wrote a policy for.
{{ m.table("notes", columns=[
    ("id", "uuid NOT NULL DEFAULT gen_random_uuid()"),
    ("body", "text"),
], constraints=[
    ("notes_pkey", "PRIMARY KEY (id)"),
]) }}
"""


def lint(project: Path, *args: str, url: str | None = None):
    target = ("--database-url", url) if url else ()
    return run_cli("lint", "--project", str(project), *target, *args)


def apply_ok(project: Path, url: str) -> None:
    result = run_cli("apply", "--quiet", "--project", str(project), "--database-url", url)
    assert result.returncode == 0, result.stderr


def add_config(project: Path, text: str) -> None:
    path = project / "supabase-init.hcl"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    api.write_template(api.Project.load(project))


def add_notes_table(project: Path) -> int:
    """A table ``notes`` in objects, with a template and no policy; the config line of
    its name."""
    (project / "templates" / "tables" / "notes.sql.j2").write_text(NOTES_TABLE,
                                                                  encoding="utf-8")
    path = project / "supabase-init.hcl"
    text = path.read_text(encoding="utf-8").replace(
        '    "customer_activities",\n', '    "customer_activities",\n    "notes",\n', 1)
    path.write_text(text, encoding="utf-8")
    api.write_template(api.Project.load(project))
    return text.splitlines().index('    "notes",') + 1


def test_the_shipped_crm_lints_clean_at_warn_on_an_embedded_server() -> None:
    result = run_cli("lint", "--embedded", "--fail-on", "warn", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout.rstrip().splitlines()[-1]
            == "Lint: 0 errors, 0 warnings, 0 notices (9 accepted).")


def test_the_shipped_crm_lints_clean_on_a_supabase_shaped_database(supabase_database) -> None:
    apply_ok(REPO, supabase_database.url)
    result = lint(REPO, "--fail-on", "info", url=supabase_database.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout.rstrip().splitlines()[-1]
            == "Lint: 0 errors, 0 warnings, 0 notices (9 accepted).")
    # Accepted findings are listed, each with the lint block's reason.
    document = json.loads(lint(REPO, "--format", "json", url=supabase_database.url).stdout)
    assert document["schemas"] == ["public", "crm_private"]
    assert document["summary"] == {"error": 0, "warn": 0, "info": 0, "suppressed": 0,
                                   "accepted": 9}
    accepted = [f for f in document["findings"] if f["accepted"]]
    assert {f["rule"] for f in accepted} == {"pg_graphql_authenticated_table_exposed"}
    assert {f["object"] for f in accepted} >= {"view campaign_metrics",
                                               "table crm_private.campaign_recipient_counts"}
    assert all(f["reason"] and "authenticated role" in f["reason"] for f in accepted)
    assert "Accepted (9):" in result.stdout and result.stdout.count("      accepted: ") == 9
    assert document["stale_accepts"] == []


@pytest.mark.parametrize(("policy", "rule", "name"), [
    (ALWAYS_TRUE_FOR_EVERYONE, "select_policy_always_true", "customer_360.everyone_reads"),
    (ALWAYS_TRUE_FOR_ALL_COMMANDS, "rls_policy_always_true", "customer_360.everyone_writes"),
])
def test_an_always_true_policy_for_authenticated_exits_2_naming_rule_and_policy(
        database, project, policy, rule, name) -> None:
    add_config(project, policy)
    line = (project / "supabase-init.hcl").read_text(encoding="utf-8").splitlines().index(
        policy.strip().splitlines()[0]) + 1
    result = lint(project, url=database.url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"supabase-init.hcl:{line}: {rule}: policy {name}: ") in result.stdout
    # Without a database too: the rule has a static form.
    static = lint(project, "--static")
    assert static.returncode == 2, static.stdout + static.stderr
    assert f"{rule}: policy {name}" in static.stdout


def test_a_table_without_any_policy_exits_2(database, project) -> None:
    add_notes_table(project)
    result = lint(project, url=database.url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("templates/tables/notes.sql.j2:3: rls_enabled_no_policy: table notes: "
            in result.stdout), result.stdout


def test_lint_never_changes_the_target(database, project) -> None:
    empty = catalog_fingerprint(database.url)
    assert lint(project, url=database.url).returncode == 0
    assert catalog_fingerprint(database.url) == empty
    apply_ok(project, database.url)
    applied = catalog_fingerprint(database.url)
    add_notes_table(project)
    add_config(project, ALWAYS_TRUE_FOR_EVERYONE)
    for output_format in ("text", "json", "sarif", "github"):
        result = lint(project, "--format", output_format, url=database.url)
        assert result.returncode == 2, result.stdout + result.stderr
        assert catalog_fingerprint(database.url) == applied


def test_sarif_validates_against_the_sarif_2_1_0_schema_and_points_at_files(
        database, project) -> None:
    import jsonschema

    add_notes_table(project)
    add_config(project, ALWAYS_TRUE_FOR_EVERYONE)
    result = lint(project, "--format", "sarif", "--fail-on", "info", url=database.url)
    assert result.returncode == 2, result.stderr
    document = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {r.id for r in api.RULES}
    results = {r["ruleId"]: r for r in run["results"]}
    assert {"rls_enabled_no_policy", "select_policy_always_true"} <= set(results)
    for entry in run["results"]:
        location = entry["locations"][0]["physicalLocation"]
        path = project / location["artifactLocation"]["uri"]
        line = location["region"]["startLine"]
        assert path.is_file() and 1 <= line <= len(path.read_text().splitlines()), entry
        assert rules[entry["ruleIndex"]]["id"] == entry["ruleId"]
    notes = results["rls_enabled_no_policy"]
    assert notes["level"] == "error"
    assert notes["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "templates/tables/notes.sql.j2"


def test_json_and_github_formats(database, project) -> None:
    add_notes_table(project)
    result = lint(project, "--format", "json", url=database.url)
    assert result.returncode == 2, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"format_version", "command", "mode", "database", "schema",
                             "schemas", "fail_on", "failed", "summary", "findings",
                             "unused_suppressions", "stale_accepts", "rules"}
    assert (document["format_version"], document["command"], document["mode"]) == (
        1, "lint", "planned")
    assert document["summary"] == {"error": 1, "warn": 0, "info": 0, "suppressed": 0,
                                   "accepted": 9}
    assert [f for f in document["findings"] if not f["accepted"]] == [{
        "rule": "rls_enabled_no_policy", "level": "error", "object": "table notes",
        "message": "row level security is enabled but the table has no policy: no API role "
                   "gets any row",
        "fix": api.RULES[[r.id for r in api.RULES].index("rls_enabled_no_policy")].fix,
        "file": "templates/tables/notes.sql.j2", "line": 3, "suppressed": False,
        "accepted": False, "reason": None}]

    github = lint(project, "--format", "github", url=database.url)
    assert github.returncode == 2
    first = github.stdout.splitlines()[0]
    assert first.startswith("::error file=templates/tables/notes.sql.j2,line=3,"
                            "title=rls_enabled_no_policy::table notes: "), first


def test_fail_on_chooses_the_level_that_fails(database, project) -> None:
    # A foreign key without an index is a notice (info), nothing else is found.
    add_notes_table(project)
    (project / "templates" / "tables" / "notes.sql.j2").write_text(NOTES_TABLE.replace(
        '("body", "text"),', '("body", "text"),\n    ("campaign_id", "uuid"),').replace(
        '("notes_pkey", "PRIMARY KEY (id)"),', '("notes_pkey", "PRIMARY KEY (id)"),\n'
        '    ("notes_campaign_id_fkey", "FOREIGN KEY (campaign_id) REFERENCES " ~ '
        'm.q("campaigns") ~ " (id)"),'), encoding="utf-8")
    add_config(project, '\npolicy "notes" "viewers_read" {\n  roles   = ["authenticated"]\n'
                        '  command = "SELECT"\n  level   = "viewer"\n}\n')
    assert lint(project, url=database.url).returncode == 0
    assert lint(project, "--fail-on", "warn", url=database.url).returncode == 0
    result = lint(project, "--fail-on", "info", url=database.url)
    assert result.returncode == 2, result.stdout
    assert ("templates/tables/notes.sql.j2:9: unindexed_foreign_keys: constraint "
            "notes.notes_campaign_id_fkey: " in result.stdout), result.stdout


def test_a_lint_block_ignores_a_rule_for_an_object_with_its_reason(database, project) -> None:
    add_notes_table(project)
    add_config(project, '\nlint "rls_enabled_no_policy" {\n  ignore = ["table notes", '
                        '"table campaigns"]\n  reason = "only service_role reads notes"\n}\n')
    result = lint(project, url=database.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("Lint: 0 errors, 0 warnings, 0 notices "
                                           "(1 suppressed; 9 accepted).")
    assert "only service_role" not in result.stdout
    verbose = lint(project, "--verbose", url=database.url)
    assert "reason: only service_role reads notes" in verbose.stdout
    assert "rls_enabled_no_policy (error): table notes" in verbose.stdout
    # campaigns has policies: that entry ignores nothing, and --verbose says so.
    assert ("Lint blocks that ignore nothing here (stale, or a misspelt object?):\n"
            "  rls_enabled_no_policy: table campaigns\n") in verbose.stdout


@pytest.mark.parametrize(("block", "offset", "message"), [
    ('lint "rls_enabled_no_policy" {\n  ignore = ["table notes"]\n}\n', 0,
     "lint 'rls_enabled_no_policy': missing required attribute 'reason'"),
    ('lint "rls_enabled_no_policy" {\n  ignore = ["table notes"]\n  reason = " "\n}\n', 2,
     "lint 'rls_enabled_no_policy': reason must say why the rule does not apply here"),
    ('lint "rls_enabled_no_policy" {\n  ignore = ["notes"]\n  reason = "x"\n}\n', 1,
     "lint 'rls_enabled_no_policy': ignore: 'notes' is not an object as lint names it"),
    ('lint "no_such_rule" {\n  ignore = ["*"]\n  reason = "x"\n}\n', 0,
     "lint 'no_such_rule': unknown rule (rules: "),
])
def test_a_bad_lint_block_is_one_error_line_naming_file_and_line(project, block, offset,
                                                                message) -> None:
    path = project / "supabase-init.hcl"
    line = len(path.read_text(encoding="utf-8").splitlines()) + 2 + offset
    path.write_text(path.read_text(encoding="utf-8") + "\n" + block, encoding="utf-8")
    run_cli("build", "--project", str(project))  # fails too when the config itself does
    result = lint(project, "--static")
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(f"Error: {path}:{line}: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_plan_prints_a_one_line_lint_summary(database, project) -> None:
    result = run_cli("plan", "--project", str(project), "--database-url", database.url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.rstrip().splitlines()
    assert lines[-2] == ("Lint: 0 errors, 0 warnings, 0 notices (9 accepted; `supabase-init "
                         "lint` lists them).")
    assert lines[-1].startswith("Plan: ")
    add_notes_table(project)
    result = run_cli("plan", "--project", str(project), "--database-url", database.url)
    assert result.returncode == 0, result.stderr
    assert ("Lint: 1 error, 0 warnings, 0 notices (9 accepted; `supabase-init lint` lists "
            "them).") in result.stdout


def test_apply_refuses_an_error_finding_unless_skip_lint(database, project) -> None:
    add_notes_table(project)
    empty = catalog_fingerprint(database.url)
    refused = run_cli("apply", "--project", str(project), "--database-url", database.url)
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.startswith(
        "Error: lint found 1 error-level finding(s) in the state apply would leave, so "
        "nothing was applied: rls_enabled_no_policy on table notes "
        "(templates/tables/notes.sql.j2:3)"), refused.stderr
    assert catalog_fingerprint(database.url) == empty
    applied = run_cli("apply", "--skip-lint", "--quiet", "--project", str(project),
                      "--database-url", database.url)
    assert applied.returncode == 0, applied.stderr
    assert "notes" in {row[0] for row in catalog_fingerprint(database.url)["relations"]}


def test_static_takes_no_target(project) -> None:
    result = run_cli("lint", "--static", "--embedded", "--project", str(project))
    assert result.returncode == 1
    assert result.stderr == "Error: --static takes no target (--database-url, --embedded)\n"


def test_lint_judges_the_state_apply_would_leave_not_the_database_as_it_is(
        database, project) -> None:
    apply_ok(project, database.url)
    # By hand: customer_360 open to anon. apply would put it back, so the planned
    # state is clean, while verify sees the drift.
    database.execute("ALTER TABLE public.customer_360 DISABLE ROW LEVEL SECURITY; "
                     "GRANT SELECT, INSERT ON public.customer_360 TO anon")
    drifted = catalog_fingerprint(database.url)
    result = lint(project, "--fail-on", "info", url=database.url)
    assert result.returncode == 0, result.stdout
    assert run_cli("verify", "--project", str(project), "--database-url",
                   database.url).returncode == 2
    assert catalog_fingerprint(database.url) == drifted


def test_a_table_made_by_hand_is_judged_too_and_points_at_the_objects_list(
        database, project) -> None:
    apply_ok(project, database.url)
    # apply leaves a table it does not manage alone: it stays open after apply.
    database.execute("CREATE TABLE public.scratch (id int PRIMARY KEY, note text); "
                     "GRANT SELECT ON public.scratch TO anon")
    config = (project / "supabase-init.hcl").read_text(encoding="utf-8").splitlines()
    objects_line = config.index("  tables = [") + 1
    result = lint(project, url=database.url)
    assert result.returncode == 2, result.stdout
    assert (f"supabase-init.hcl:{objects_line}: rls_disabled_in_public: table scratch: "
            in result.stdout), result.stdout


def test_an_accepted_finding_is_listed_with_its_reason_and_fails_nothing(database,
                                                                          project) -> None:
    add_notes_table(project)
    add_config(project, '\nlint "rls_enabled_no_policy" {\n  accept = ["table notes"]\n'
                        '  reason = "only service_role writes notes"\n}\n')
    result = lint(project, "--fail-on", "info", url=database.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("rls_enabled_no_policy (error): table notes: row level security is enabled"
            in result.stdout)
    assert "      accepted: only service_role writes notes" in result.stdout
    assert result.stdout.rstrip().endswith("(10 accepted).")
    # Accepted, not ignored: apply's gate lets it through, as --fail-on does.
    applied = run_cli("apply", "--quiet", "--project", str(project), "--database-url",
                      database.url)
    assert applied.returncode == 0, applied.stderr


def test_an_accepted_finding_that_no_longer_occurs_is_reported(database, project) -> None:
    add_config(project, '\nlint "no_primary_key" {\n  accept = ["table notes"]\n'
                        '  reason = "notes are a log"\n}\n')
    result = lint(project, url=database.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("Accepted findings that no longer occur (remove them from the lint block):\n"
            "  no_primary_key: table notes\n") in result.stdout
    document = json.loads(lint(project, "--format", "json", url=database.url).stdout)
    assert document["stale_accepts"] == ["no_primary_key: table notes"]
    assert document["unused_suppressions"] == []


@pytest.mark.parametrize(("using", "flagged"), [
    ("created_by = auth.uid()", True),
    ("created_by = ( SELECT auth.uid() AS uid)", False),
    ("(SELECT created_by = auth.uid())", True),
])
def test_auth_uid_in_a_policy_is_judged_as_the_advisor_judges_it(supabase_database, project,
                                                                using, flagged) -> None:
    # auth.uid() is Supabase's (the shape has it): the advisor flags it unless its
    # text reads "select auth.uid()", even inside a larger sub-select.
    add_config(project, f'\npolicy "campaigns" "owners_update" {{\n  roles   = '
                        f'["authenticated"]\n  command = "UPDATE"\n  using   = "{using}"\n}}\n')
    result = lint(project, "--format", "json", url=supabase_database.url)
    assert result.returncode == 0, result.stderr
    found = [f for f in json.loads(result.stdout)["findings"]
             if f["rule"] == "auth_rls_initplan"]
    assert [f["object"] for f in found] == (["policy campaigns.owners_update"] if flagged
                                            else [])

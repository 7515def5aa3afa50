"""Issue acceptance: plan and verify on several databases in one run.

Three databases of the test server, each provisioned; the CLI runs in a
subprocess as a user would, with --database-url repeated or a --targets file.
One drifted: verify exits 2 and names only that one. One unreachable (a
closed port): exit 1, the other two are still reported, the password of the
unreachable one is shown nowhere.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, create_database, drop_database, run_cli

SECRET = "t4rget-s3cret"


@pytest.fixture
def three(admin_conn, server_url) -> Iterator[list[Any]]:
    """Three fresh databases, each provisioned by apply."""
    dbs = [create_database(admin_conn, server_url) for _ in range(3)]
    try:
        for db in dbs:
            result = run_cli("apply", "--quiet", "--project", str(REPO), "--database-url", db.url)
            assert result.returncode == 0, result.stderr
        yield dbs
    finally:
        for db in dbs:
            drop_database(db)


# A port nothing listens on: bound, not listening, for as long as the tests run, so
# that no other process can start listening there meanwhile.
_UNLISTENED = socket.socket()
_UNLISTENED.bind(("127.0.0.1", 0))


def closed_port_url() -> str:
    port = _UNLISTENED.getsockname()[1]
    return f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/nowhere"


def cli(*args: str):
    return run_cli(*args, "--project", str(REPO))


def urls(*targets: str) -> list[str]:
    return [arg for url in targets for arg in ("--database-url", url)]


def summary_line(stdout: str) -> str:
    last = stdout.rstrip().splitlines()[-1]
    assert last.startswith("Targets: "), stdout
    return last


def test_three_targets_one_drifted_verify_exits_2_naming_only_that_one(three):
    three[1].execute("GRANT INSERT ON public.campaigns TO anon")
    result = cli("verify", *urls(*(db.url for db in three)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == ""
    sections = result.stdout.split("# Target ")[1:]
    assert [s.splitlines()[0] for s in sections] == [db.url for db in three]
    assert sections[0].splitlines()[1].startswith("No drift:")
    assert "- grant INSERT on table campaigns to anon" in sections[1]
    assert sections[2].splitlines()[1].startswith("No drift:")
    summary = summary_line(result.stdout)
    assert summary == f"Targets: 3; drifted: 1 ({three[1].url}); in sync: 2; failed: 0."
    assert three[0].name not in summary and three[2].name not in summary

    plan = cli("plan", *urls(*(db.url for db in three)))
    assert plan.returncode == 0, plan.stderr
    assert summary_line(plan.stdout).startswith("Targets: 3; with changes: 1 (")
    detailed = cli("plan", "--detailed-exitcode", *urls(*(db.url for db in three)))
    assert detailed.returncode == 2


def test_one_unreachable_target_exits_1_and_the_others_are_still_reported(three):
    three[0].execute("REVOKE SELECT ON public.campaign_metrics FROM authenticated")
    unreachable = closed_port_url()
    targets = [three[0].url, unreachable, three[2].url]
    for command in ("verify", "plan"):
        result = cli(command, "--parallelism", "2", *urls(*targets))
        assert result.returncode == 1, result.stdout + result.stderr
        assert SECRET not in result.stdout + result.stderr
        sections = result.stdout.split("# Target ")[1:]
        assert len(sections) == 3
        assert "+ grant SELECT on view campaign_metrics to authenticated" in sections[0]
        failed = sections[1].splitlines()
        assert failed[0] == unreachable.replace(SECRET, "***")
        assert failed[1].startswith("Error: could not connect to PostgreSQL at host 127.0.0.1")
        assert failed[2:] == [""]
        assert "match the config and templates" in sections[2]
        assert summary_line(result.stdout).endswith(
            f"; failed: 1 ({unreachable.replace(SECRET, '***')}).")
        assert result.stderr.splitlines() == [
            f"Error: 1 of 3 targets failed: {unreachable.replace(SECRET, '***')}"]


def write_targets(tmp_path: Path, three: list[Any], unreachable: str | None = None) -> Path:
    path = tmp_path / "targets.hcl"
    blocks = [f'target "eu" {{\n  database_url = "{three[0].url}"\n}}\n',
              f'target "us" {{\n  database_url = "{three[1].url}"\n'
              '  vars = { schema = "crm", lock_timeout = "3s" }\n}\n',
              f'target "staging" {{\n  database_url = "{unreachable or three[2].url}"\n}}\n']
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def test_targets_file_names_targets_and_gives_each_its_variables(three, tmp_path):
    # "us" is provisioned in schema public only: in schema crm, everything is to add.
    result = cli("plan", "--targets", str(write_targets(tmp_path, three)))
    assert result.returncode == 0, result.stdout + result.stderr
    headings = [line for line in result.stdout.splitlines() if line.startswith("# Target ")]
    assert headings == [f"# Target {name} ({db.url})"
                        for name, db in zip(("eu", "us", "staging"), three, strict=True)]
    assert 'apply would make these changes to schemas "crm" and "crm_private"' in result.stdout
    assert summary_line(result.stdout) == (
        "Targets: 3; with changes: 1 (us); no changes: 2; failed: 0.")
    assert three[1].scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'crm'") == 0


def test_json_gives_one_object_per_target(three, tmp_path):
    unreachable = closed_port_url()
    result = cli("verify", "--json", "--targets", str(write_targets(tmp_path, three,
                                                                    unreachable)))
    assert result.returncode == 1, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"format_version", "command", "status", "summary", "targets"}
    assert (document["format_version"], document["command"], document["status"]) == (
        2, "verify", "error")
    assert document["summary"] == {"targets": 3, "changed": 1, "unchanged": 1, "failed": 1}
    eu, us, staging = document["targets"]
    assert set(eu) == {"name", "format_version", "command", "status", "database", "schema",
                       "schemas", "summary", "changes", "locks", "hazards"}
    assert (eu["name"], eu["status"], eu["schema"], eu["changes"]) == (
        "eu", "in_sync", "public", [])
    assert eu["schemas"] == ["public", "crm_private"]
    assert (us["name"], us["status"], us["schema"]) == ("us", "drifted", "crm")
    assert us["database"] == three[1].url
    assert set(staging) == {"name", "format_version", "command", "status", "database",
                            "error"}
    assert (staging["name"], staging["status"]) == ("staging", "error")
    assert staging["database"] == unreachable.replace(SECRET, "***")
    assert staging["error"].startswith("could not connect to PostgreSQL at host 127.0.0.1")


def test_drift_in_a_targets_file_exits_2_naming_only_that_target(three, tmp_path):
    three[2].execute("ALTER PUBLICATION supabase_realtime DROP TABLE public.campaigns")
    path = tmp_path / "targets.hcl"
    path.write_text("".join(f'target "db{i}" {{\n  database_url = "{db.url}"\n}}\n'
                            for i, db in enumerate(three)), encoding="utf-8")
    result = cli("verify", "--targets", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert summary_line(result.stdout) == "Targets: 3; drifted: 1 (db2); in sync: 2; failed: 0."
    assert "+ published table supabase_realtime.campaigns" in result.stdout


@pytest.mark.parametrize(("text", "message"), [
    (f'target "a" {{\n  database_url = "postgresql://u:{SECRET}@h/d"\n  url = "x"\n}}\n',
     "targets.hcl:3: target 'a': unknown attribute 'url' (allowed: database_url, vars)"),
    ('target "a" {\n  vars = { schema = "crm" }\n}\n',
     "targets.hcl:1: target 'a': database_url must be a connection string"),
    (f'target "a" {{\n  database_url = "postgresql://u:{SECRET}@h/d"\n}}\n'
     f'target "a" {{\n  database_url = "postgresql://u:{SECRET}@h/e"\n}}\n',
     "targets.hcl:4: duplicate target 'a' (first declared on line 1)"),
    ("", "targets.hcl: no targets"),
    (f'target "a" {{\n  database_url = "postgresql://u:{SECRET}@h/d"\n  vars = [1]\n}}\n',
     "targets.hcl:3: target 'a': vars must be an object"),
])
def test_a_bad_targets_file_is_one_line_naming_file_and_line(tmp_path, text, message):
    path = tmp_path / "targets.hcl"
    path.write_text(text, encoding="utf-8")
    result = cli("verify", "--targets", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert SECRET not in result.stderr


def test_targets_and_database_url_together_or_no_parallelism_are_usage_errors(tmp_path):
    path = tmp_path / "targets.hcl"
    path.write_text('target "a" {\n  database_url = "postgresql://u@h/d"\n}\n',
                    encoding="utf-8")
    both = cli("verify", "--targets", str(path), "--database-url", "postgresql://u@h/e")
    assert (both.returncode, both.stdout) == (1, "")
    assert both.stderr == "Error: give either --targets or --database-url, not both\n"
    zero = cli("plan", "--parallelism", "0", "--targets", str(path))
    assert zero.returncode == 1 and zero.stderr.startswith("Error: "), zero.stderr


def test_lint_on_three_targets_names_only_the_one_with_findings(three, tmp_path):
    # A table made by hand in the API schema, readable by anon, without row level
    # security: apply leaves it alone, so lint's planned state has it.
    three[1].execute("CREATE TABLE public.notes (id int PRIMARY KEY, body text);"
                     "GRANT SELECT ON public.notes TO anon")
    result = cli("lint", *urls(*(db.url for db in three)))
    assert result.returncode == 2, result.stdout + result.stderr
    sections = result.stdout.split("# Target ")[1:]
    assert [s.splitlines()[0] for s in sections] == [db.url for db in three]
    assert "table notes" in sections[1]
    assert "table notes" not in sections[0] + sections[2]
    assert summary_line(result.stdout) == (
        f"Targets: 3; failing at --fail-on error: 1 ({three[1].url}); passing: 2; failed: 0.")

    unreachable = closed_port_url()
    document_run = cli("lint", "--format", "json",
                       "--targets", str(write_targets(tmp_path, three, unreachable)))
    assert document_run.returncode == 1, document_run.stderr
    assert SECRET not in document_run.stdout + document_run.stderr
    document = json.loads(document_run.stdout)
    assert (document["command"], document["failed"], document["error"]) == ("lint", False, True)
    assert document["summary"] == {"targets": 3, "failing": 0, "passing": 2, "failed": 1}
    assert [t["name"] for t in document["targets"]] == ["eu", "us", "staging"]
    assert document["targets"][1]["schema"] == "crm"
    assert document["targets"][2]["status"] == "error"

    sarif = cli("lint", "--format", "sarif", *urls(*(db.url for db in three)))
    assert (sarif.returncode, sarif.stdout) == (1, "")
    assert sarif.stderr.startswith("Error: --format sarif takes one target")


def test_plan_on_several_targets_gives_each_its_lint_summary(three):
    result = cli("plan", *urls(three[0].url, three[1].url))
    assert result.returncode == 0, result.stderr
    sections = result.stdout.split("# Target ")[1:]
    assert all("\nLint: 0 errors, 0 warnings, 0 notices" in s for s in sections), result.stdout

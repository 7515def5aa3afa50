"""`supabase-init apply`: the psql catalog, idempotence, schema evolution, output."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from apply_helpers import apply_cli, build_project, line_of, psql_path, render_project
from catalog import catalog_fingerprint
from conftest import REPO, create_database, drop_database, project_entry_template, run_cli


def psql_single_transaction(url: str, path: Path) -> None:
    out = subprocess.run([psql_path(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                          "-d", url, "-f", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


def test_apply_gives_the_psql_catalog_and_a_second_apply_changes_nothing(
        database, admin_conn, server_url, tmp_path):
    sql_file = tmp_path / "crm.sql"
    sql_file.write_text(render_project(), encoding="utf-8")
    by_psql = create_database(admin_conn, server_url)
    try:
        psql_single_transaction(by_psql.url, sql_file)
        expected = catalog_fingerprint(by_psql.url)
        expected_private = catalog_fingerprint(by_psql.url, schema="crm_private")
    finally:
        drop_database(by_psql)

    first = apply_cli(database.url)
    assert first.returncode == 0, first.stderr
    assert catalog_fingerprint(database.url) == expected
    assert catalog_fingerprint(database.url, schema="crm_private") == expected_private
    assert re.search(r"^Applied \d+ statements to .* in \d+\.\d\d s\.$", first.stdout, re.M)
    assert "7 tables" in first.stdout and "2 views" in first.stdout
    policies = len(expected["policies"]) + len(expected_private["policies"])
    assert len(expected_private["policies"]) == 1 and f"{policies} policies" in first.stdout

    second = apply_cli(database.url)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("No changes:"), second.stdout
    assert catalog_fingerprint(database.url) == expected
    assert catalog_fingerprint(database.url, schema="crm_private") == expected_private

    third = apply_cli(database.url, "--json")
    assert third.returncode == 0, third.stderr
    result = json.loads(third.stdout)
    assert result["status"] == "applied"
    assert result["changed"] is False
    assert result["changes"] == []
    assert result["counts"] == {"create": {}, "change": {}, "remove": {}}
    assert result["statements"] > 20 and result["seconds"] >= 0
    assert result["database"] and result["embedded"] is None



def test_a_column_added_to_a_template_reaches_the_table_and_every_row_survives(
        database, project):
    first = apply_cli(database.url, project=project)
    assert first.returncode == 0, first.stderr
    database.execute("""
        INSERT INTO public.campaigns (name, status) VALUES ('spring', 'active'),
            ('summer', 'draft'), ('autumn', 'paused');
        INSERT INTO public.campaign_executions (campaign_id)
            SELECT id FROM public.campaigns;
        INSERT INTO public.campaign_recipients (campaign_id, execution_id, channel, email)
            SELECT campaign_id, id, 'email', 'x@example.com' FROM public.campaign_executions;
    """)
    rows_before = {t: database.scalar(f"SELECT count(*) FROM public.{t}")
                   for t in ("campaigns", "campaign_executions", "campaign_recipients")}
    names_before = database.scalar("SELECT array_agg(name ORDER BY name) FROM public.campaigns")

    template = project / "templates" / "tables" / "campaigns.sql.j2"
    text = template.read_text()
    marker = '    ("completed_at", "timestamptz"),\n'
    assert marker in text
    template.write_text(text.replace(
        marker, marker + '    ("priority", "integer NOT NULL DEFAULT 0"),\n'))
    build_project(project)

    second = apply_cli(database.url, "--json", project=project)
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["changed"] is True
    assert result["counts"]["create"] == {"column": 1}
    assert [(c["action"], c["kind"], c["name"]) for c in result["changes"]] == [
        ("create", "column", "campaigns.priority")]
    assert {t: database.scalar(f"SELECT count(*) FROM public.{t}")
            for t in rows_before} == rows_before
    assert database.scalar(
        "SELECT array_agg(name ORDER BY name) FROM public.campaigns") == names_before
    assert database.scalar("SELECT array_agg(DISTINCT priority) FROM public.campaigns") == [0]

    again = apply_cli(database.url, project=project)
    assert again.returncode == 0 and again.stdout.startswith("No changes:"), again


def test_apply_to_another_schema(database):
    first = apply_cli(database.url, "-var", "schema=crm")
    assert first.returncode == 0, first.stderr
    fp = catalog_fingerprint(database.url, schema="crm")
    kinds = sorted(kind for _, kind, *_ in fp["relations"] if kind in "rv")
    assert kinds == ["r"] * 6 + ["v"] * 2
    private = catalog_fingerprint(database.url, schema="crm_private")
    assert [(name, kind) for name, kind, *_ in private["relations"] if kind in "rv"] == [
        ("campaign_recipient_counts", "r")]
    assert not catalog_fingerprint(database.url)["relations"]
    after_first = catalog_fingerprint(database.url, schema="crm")
    quiet = apply_cli(database.url, "-var", "schema=crm", "--quiet")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert catalog_fingerprint(database.url, schema="crm") == after_first


def test_a_timeout_option_wins_over_var_and_is_validated(database):
    """--lock-timeout overrides -var lock_timeout wherever each is given."""
    for args in (["--lock-timeout", "soon", "-var", "lock_timeout=1s"],
                 ["-var", "lock_timeout=1s", "--lock-timeout", "soon"]):
        bad = apply_cli(database.url, *args)
        assert bad.returncode == 1 and bad.stdout == ""
        assert bad.stderr.startswith("Error: --lock-timeout: 'soon' is not a valid "
                                     "lock_timeout"), bad.stderr
    assert not catalog_fingerprint(database.url)["relations"]


# ---------------------------------------------------------------- the command


def test_apply_usage_errors_exit_1(database):
    keep = run_cli("apply", "--keep", "--database-url", database.url)
    assert keep.returncode == 1 and "--keep" in keep.stderr
    both = run_cli("apply", "--embedded", "--database-url", database.url)
    assert both.returncode == 1 and "--embedded" in both.stderr
    unknown = run_cli("apply", "--no-such-option")
    assert unknown.returncode == 1 and unknown.stderr.startswith("Error:")


def test_apply_help_and_docs():
    out = run_cli("apply", "--help")
    assert out.returncode == 0
    options = ("--database-url", "--embedded", "--keep", "--lock-timeout",
               "--statement-timeout", "--json", "--quiet", "-var", "-var-file")
    for option in options:
        assert option in out.stdout
    assert "Example:" in out.stdout and "supabase-init apply --embedded" in out.stdout
    readme = (REPO / "README.md").read_text()
    assert "| `supabase-init apply" in readme
    assert "supabase-init apply --embedded" in readme
    # The commands page lists every option of apply in its row.
    commands = (REPO / "docs" / "commands.md").read_text()
    row = next(line for line in commands.splitlines() if line.startswith("| `supabase-init apply"))
    for option in options:
        assert option in row, option
    assert (REPO / "docs" / "apply.md").read_text().startswith("# `supabase-init apply`")


def test_progress_is_shown_on_a_terminal_for_long_scripts(database, project):
    entry = project_entry_template(project)
    entry.write_text(entry.read_text() + "\nSELECT pg_catalog.pg_sleep(1.0);\n")
    build_project(project)
    args = [sys.executable, "-m", "supabase_init", "apply", "--project", str(project),
            "--database-url", database.url]

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=terminal, text=True)
        os.close(terminal)
        seen = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            # An exit seen here ends nothing: the last bytes (the line's clearing) may
            # still be unread; the read after them fails (EIO) once the child is gone.
        stdout, _ = proc.communicate(timeout=60)
    finally:
        os.close(controller)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert re.search(r"\[\s*\d+/\d+\] +\d+\.\ds line \d+: SELECT pg_catalog\.pg_sleep", text), text
    assert text.endswith("\r\x1b[K")  # the line is cleared at the end
    assert stdout.startswith("Applied")

    # Not a terminal: no progress, only the error. --statement-timeout feeds
    # the script's SET LOCAL, and bounds each statement.
    sleep_line = line_of(render_project(project), "SELECT pg_catalog.pg_sleep(1.0);")
    plain = apply_cli(database.url, "--statement-timeout", "300ms", project=project)
    assert plain.returncode == 1 and plain.stdout == ""
    entry_line = (project / "templates" / "supabase-init.sql.j2").read_text().split(
        "\n").index("SELECT pg_catalog.pg_sleep(1.0);") + 1
    assert plain.stderr.startswith(
        f"Error: templates/supabase-init.sql.j2:{entry_line} (line {sleep_line} of the rendered "
        "SQL): SELECT pg_catalog.pg_sleep(1.0)"), plain.stderr
    assert "statement_timeout (300ms)" in plain.stderr and "57014" in plain.stderr
    assert plain.stderr.count("\n") == 1, plain.stderr

"""A committed .tpl that the config and templates no longer build is never run.

render, apply, plan and verify compare the inputs digest recorded in the
.tpl's header with the project's; an edit without `supabase-init build` makes
each of them exit 1 with one line, and `build` makes them work again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import FreshDatabase, project_entry_template, run_cli
from supabase_init import api

STALE = "Error: terraform/supabase-init.sql.tpl is stale: run supabase-init build\n"


def edit_config(project: Path) -> None:
    """Give authenticated UPDATE on customer_activities (a grant the config lacked)."""
    config = project / "supabase-init.hcl"
    text = config.read_text(encoding="utf-8")
    before = '  privileges = ["SELECT", "INSERT", "DELETE"]\n  tables     = ["customer_activities"]'
    assert before in text
    config.write_text(text.replace(before, before.replace('"DELETE"]', '"DELETE", "UPDATE"]')),
                      encoding="utf-8")


def edit_template(project: Path) -> None:
    template = project_entry_template(project)
    template.write_text(template.read_text(encoding="utf-8") + "-- one more line\n",
                        encoding="utf-8")


def add_template_file(project: Path) -> None:
    (project / "templates" / "_unused.sql.j2").write_text("-- not included\n", encoding="utf-8")


EDITS: dict[str, Callable[[Path], None]] = {
    "config": edit_config, "template": edit_template, "new template file": add_template_file}


def command(name: str, project: Path, url: str) -> list[str]:
    target = [] if name == "render" else ["--database-url", url]
    return [name, "-C", str(project), *target]


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("name", ["render", "apply", "plan", "verify"])
def test_an_edit_without_build_stops_every_command(project: Path, database: FreshDatabase,
                                                   name: str, edit: str) -> None:
    EDITS[edit](project)
    stale = run_cli(*command(name, project, database.url))
    assert (stale.returncode, stale.stderr, stale.stdout) == (1, STALE, "")
    assert database.scalar("SELECT count(*) FROM pg_catalog.pg_class AS c "
                           "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'public'") == 0

    assert run_cli("build", "-C", str(project)).returncode == 0
    if name == "verify":
        assert run_cli(*command("apply", project, database.url)).returncode == 0
    fresh = run_cli(*command(name, project, database.url))
    assert fresh.returncode == 0, fresh.stderr
    assert "stale" not in fresh.stderr


def test_allow_stale_runs_the_committed_template(project: Path) -> None:
    before = run_cli("render", "-C", str(project))
    edit_config(project)
    allowed = run_cli("render", "-C", str(project), "--allow-stale")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout == before.stdout


def test_build_check_reports_the_same_staleness(project: Path) -> None:
    edit_template(project)
    check = run_cli("build", "--check", "-C", str(project))
    assert check.returncode == 1
    assert "+-- one more line" in check.stdout


def test_the_digest_follows_every_input_byte(project: Path) -> None:
    proj = api.Project.load(project)
    tpl = api.build_template(proj)
    assert api.build_template(proj) == tpl  # the same inputs, the same bytes
    digests = {tpl.split("\n")[2]}
    for edit in EDITS.values():
        edit(project)
        proj = api.Project.load(project)
        digests.add(api.build_template(proj).split("\n")[2])
    assert len(digests) == 1 + len(EDITS)
    assert all(d.startswith("-- Inputs: sha256 ") for d in digests)


def test_an_undeclared_variable_in_a_variable_file_warns_once(project: Path) -> None:
    for path in (project / "terraform").glob("*.tfvars*"):
        path.unlink()
    tfvars = project / "staging.tfvars"
    tfvars.write_text('lock_timeout = "2s"\nshcema = "crm"\n', encoding="utf-8")
    result = run_cli("render", "-C", str(project), "-var-file", str(tfvars))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Warning: {tfvars}:2: value for undeclared variable 'shcema'")
    assert "did you mean 'schema'?" in lines[0]
    assert 'CREATE SCHEMA IF NOT EXISTS "public";' in result.stdout


def test_a_missing_tpl_is_named_as_missing(project: Path) -> None:
    (project / "terraform" / "supabase-init.sql.tpl").unlink()
    result = run_cli("render", "-C", str(project))
    assert result.returncode == 1
    assert result.stderr == ("Error: terraform/supabase-init.sql.tpl: does not exist: run "
                             "supabase-init build\n")


def test_a_missing_template_is_named_not_called_stale(project: Path) -> None:
    (project / "templates" / "tables" / "campaigns.sql.j2").unlink()
    result = run_cli("render", "-C", str(project))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "stale" not in line, line
    assert "templates/tables/campaigns.sql.j2" in line and "no template" in line, line

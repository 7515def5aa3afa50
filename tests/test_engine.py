"""The engine is part of the package: a project holds its config and its object
templates, nothing else, and may still replace one engine template by name."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import psycopg

from apply_helpers import apply_cli
from conftest import REPO, run_cli
from supabase_init.api import ENGINE_ENTRY_TEMPLATE, ENGINE_TEMPLATES_DIR

OBJECT_KINDS = {"tables", "views", "functions"}
TPL = Path("terraform") / "supabase-init.sql.tpl"


def test_a_project_of_object_templates_only_builds_renders_applies_and_verifies(
        project: Path, database) -> None:
    templates = project / "templates"
    for entry in templates.iterdir():
        if entry.name not in OBJECT_KINDS:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert {e.name for e in templates.iterdir()} == OBJECT_KINDS
    for tpl in (project / "terraform").glob("*.tfvars*"):
        tpl.unlink()

    checked = run_cli("build", "--check", "--project", str(project))
    assert checked.returncode == 0, checked.stderr
    assert (project / TPL).read_bytes() == (REPO / TPL).read_bytes()

    rendered = run_cli("render", "--project", str(project))
    assert rendered.returncode == 0, rendered.stderr
    assert "CREATE TABLE" in rendered.stdout
    applied = apply_cli(database.url, "--quiet", project=project)
    assert applied.returncode == 0, applied.stderr
    verified = run_cli("verify", "--project", str(project), "--database-url", database.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "No drift" in verified.stdout


def test_the_repository_project_holds_no_engine_template() -> None:
    engine = {p.name for p in ENGINE_TEMPLATES_DIR.glob("*.sql.j2")}
    assert ENGINE_ENTRY_TEMPLATE in engine and "_macros.sql.j2" in engine
    assert {e.name for e in (REPO / "templates").iterdir()} <= OBJECT_KINDS


def test_a_project_template_of_an_engine_name_replaces_it(project: Path) -> None:
    before = (project / TPL).read_text(encoding="utf-8")
    entry = project / "templates" / ENGINE_ENTRY_TEMPLATE
    entry.write_text((ENGINE_TEMPLATES_DIR / ENGINE_ENTRY_TEMPLATE).read_text(encoding="utf-8")
                     + "-- the project's own ending\n", encoding="utf-8")
    stale = run_cli("render", "--project", str(project))
    assert stale.returncode == 1 and "is stale" in stale.stderr  # a new input

    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr
    after = (project / TPL).read_text(encoding="utf-8")
    assert after.endswith("-- the project's own ending\n")
    assert after.split("\n", 3)[3] == before.split("\n", 3)[3] + "-- the project's own ending\n"


def test_an_error_in_an_engine_template_names_it_without_a_machine_path(
        project: Path) -> None:
    # A table template that calls an engine macro wrongly fails inside the engine.
    table = project / "templates" / "tables" / "campaigns.sql.j2"
    table.write_text('{% import "_macros.sql.j2" as m %}\n'
                     '{{ m.table("campaigns", columns=None) }}\n', encoding="utf-8")
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 1
    assert built.stderr.startswith("Error: "), built.stderr
    assert len(built.stderr.splitlines()) == 1, built.stderr
    assert str(ENGINE_TEMPLATES_DIR) not in built.stderr
    assert built.stderr.startswith("Error: supabase_init/engine/templates/_macros.sql.j2:"), \
        built.stderr


def test_each_view_query_and_function_body_appears_once_in_the_script() -> None:
    rendered = run_cli("render", cwd=REPO)
    assert rendered.returncode == 0, rendered.stderr
    sql = rendered.stdout
    bodies = re.findall(r"\$function\$(.*?)\$function\$", sql, re.DOTALL)
    views = re.findall(r"CALL pg_temp\.\w+\('[^']*', '(\w+)', 'security_invoker = true', "
                       r"(\$do\d*\$)(.*?)\2\);", sql, re.DOTALL)
    assert len(bodies) >= 4 and len(views) == 2
    for text in [*bodies, *(query for _, _, query in views)]:
        assert sql.count(text.strip()) == 1, text[:80]
    # Definitions are dollar-quoted as written, not inside an EXECUTE '...' string.
    assert "EXECUTE 'CREATE OR REPLACE" not in sql and "EXECUTE E'" not in sql


def test_each_distinct_policy_expression_appears_once_in_the_script(database) -> None:
    rendered = run_cli("render", cwd=REPO)
    assert rendered.returncode == 0, rendered.stderr
    applied = apply_cli(database.url, "--quiet")
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(database.url) as conn:
        expressions = {e for (e,) in conn.execute(
            "SELECT qual FROM pg_policies UNION SELECT with_check FROM pg_policies")
            if e is not None}
    assert len(expressions) >= 4
    for text in expressions:  # a whole standard string literal, once
        literal = "'" + text.replace("'", "''") + "'"
        assert rendered.stdout.count(literal) == 1, text[:80]
    # A policy's row names its expressions by number: a short line.
    rows = [line for line in rendered.stdout.splitlines() if line.lstrip().startswith("('\"")]
    assert len(rows) >= 24 and max(len(line) for line in rows) <= 160


def test_the_script_keeps_its_lines_short_outside_definition_bodies() -> None:
    rendered = run_cli("render", cwd=REPO)
    assert rendered.returncode == 0, rendered.stderr
    long_lines = [line for line in rendered.stdout.splitlines() if len(line) > 160]
    # What is left: the policy expressions (as PostgreSQL prints them) and a few
    # column, constraint and index definitions in the converge blocks.
    assert len(long_lines) <= 10, [line[:80] for line in long_lines]

"""Golden files: every lint rule has a fixture that triggers it and one that does not.

``tests/fixtures/lint/<rule>/{trigger,clean}/`` each hold a small project:
``case.sql`` (the entry template: SQL the rules judge, after the API roles are
made), an optional ``case.hcl`` (added to a config that declares the API
roles) and ``templates/``, and ``expected.txt``, the text ``lint`` prints.
A rule with a static form is also linted without a database
(``expected-static.txt``). All cases run on one database: lint rolls its
script back, so each case starts from the same empty catalog (checked).

``SUPABASE_INIT_UPDATE_GOLDEN=1`` rewrites the expected files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import catalog_fingerprint
from conftest import REPO, create_database, drop_database
from supabase_init import api, report

FIXTURES = REPO / "tests" / "fixtures" / "lint"
UPDATE = os.environ.get("SUPABASE_INIT_UPDATE_GOLDEN") == "1"
CASES = sorted((rule.name, case.name) for rule in FIXTURES.iterdir() if rule.is_dir()
               for case in rule.iterdir() if case.is_dir())

BASE_CONFIG = """\
role "anon" {
  login = false
}

role "authenticated" {
  login = false
}

role "service_role" {
  login      = false
  bypass_rls = true
}

"""
# The API roles, created where missing (plain PostgreSQL); they are cluster-wide.
PREAMBLE = """\
DO $do$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN BYPASSRLS;
    END IF;
END
$do$;
"""


@pytest.fixture(scope="module")
def lint_database(admin_conn: object, server_url: str) -> Iterator[object]:
    db = create_database(admin_conn, server_url)
    try:
        yield db
    finally:
        drop_database(db)


def fixture_project(case_dir: Path, dest: Path) -> api.Project:
    """The case as a project: config, entry template, templates, built .tpl."""
    dest.mkdir()
    extra = case_dir / "case.hcl"
    config = BASE_CONFIG + (extra.read_text(encoding="utf-8") if extra.is_file() else "")
    (dest / "supabase-init.hcl").write_text(config, encoding="utf-8")
    if (case_dir / "templates").is_dir():
        shutil.copytree(case_dir / "templates", dest / "templates")
    (dest / "templates").mkdir(exist_ok=True)
    (dest / "templates" / "supabase-init.sql.j2").write_text(
        PREAMBLE + (case_dir / "case.sql").read_text(encoding="utf-8"), encoding="utf-8")
    project = api.Project.load(dest)
    for kind in ("tables", "views", "functions"):  # objects the SQL makes itself
        names = project.config.objects.names(kind)
        for name in names:
            path = dest / "templates" / kind / f"{name}.sql.j2"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("", encoding="utf-8")
    api.write_template(project)
    return project


def check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing (SUPABASE_INIT_UPDATE_GOLDEN=1 writes it)"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs:\n{text}"


def test_every_rule_has_a_triggering_and_a_clean_fixture() -> None:
    rules = {rule.id for rule in api.RULES}
    assert len(rules) >= 14
    assert {rule for rule, _ in CASES} == rules
    assert set(CASES) == {(rule, case) for rule in rules for case in ("trigger", "clean")}


@pytest.mark.parametrize(("rule", "case"), CASES)
def test_rule_fixture(rule: str, case: str, lint_database, tmp_path: Path) -> None:
    case_dir = FIXTURES / rule / case
    project = fixture_project(case_dir, tmp_path / "project")
    script = api.render(project)
    before = catalog_fingerprint(lint_database.url)
    with api.TargetChoice(lint_database.url).open() as target:
        result = api.lint(target, script, project)
    assert catalog_fingerprint(lint_database.url) == before
    fired = {f.rule for f in result.active}
    assert (rule in fired) == (case == "trigger"), report.lint_text(result)
    check_golden(case_dir / "expected.txt", report.lint_text(result))
    # Every finding points at a line of a file of the project.
    for finding in result.findings:
        assert finding.path is not None and finding.line is not None, finding
        lines = (project.root / finding.path).read_text(encoding="utf-8").splitlines()
        assert 1 <= finding.line <= max(len(lines), 1), finding

    if any(r.id == rule and r.static for r in api.RULES):
        static = api.lint(None, script, project)
        assert (rule in {f.rule for f in static.active}) == (case == "trigger"), \
            report.lint_text(static)
        check_golden(case_dir / "expected-static.txt", report.lint_text(static))


def test_docs_list_every_rule_with_its_level() -> None:
    docs = (REPO / "docs" / "lint.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip()
            for line in docs.splitlines() if line.startswith("| `")}
    assert {rule.id: rule.level for rule in api.RULES}.items() <= rows.items()

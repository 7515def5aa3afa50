"""`supabase-init build` and `supabase-init render` as a user runs them.

Pure Python: no database and no terraform binary (Terraform parity has its
own tests). Every command runs in a subprocess on a private project copy,
except `build --check` on the committed tree, which must pass as it is.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, project_entry_template, run_cli
from supabase_init import api

TPL = Path("terraform") / "supabase-init.sql.tpl"
SCHEMA_LINE = re.compile(r'^CREATE SCHEMA IF NOT EXISTS "([^"]*)";$', re.MULTILINE)


def one_error_line(result: subprocess.CompletedProcess[str], *, diff: bool = False) -> str:
    """The single `Error: ...` line of a failed command: exit 1, and nothing on stdout
    except, with ``diff``, the diff of `build --check`."""
    assert result.returncode == 1, (result.returncode, result.stdout[-2000:], result.stderr)
    assert diff or result.stdout == "", result.stdout[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


def rendered_schema(sql: str) -> str:
    """The API schema the SQL creates (the private one comes second)."""
    schemas = SCHEMA_LINE.findall(sql)
    assert len(schemas) == 2 and schemas[1] == "crm_private", schemas
    return schemas[0]


@pytest.fixture
def clean_project(project: Path) -> Path:
    """The project copy without any variable files, so each test sets its own."""
    for path in (project / "terraform").glob("*.tfvars*"):
        path.unlink()
    return project


# --------------------------------------------------------------------------
# build


def test_build_check_passes_on_the_committed_tree() -> None:
    result = run_cli("build", "--check", cwd=REPO)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stdout == ""


def test_build_check_fails_with_a_diff_after_a_template_edit(project: Path) -> None:
    template = project / "templates" / "tables" / "campaigns.sql.j2"
    template.write_text(template.read_text(encoding="utf-8")
                        + "-- a comment added without rebuilding\n", encoding="utf-8")
    tpl = project / TPL
    committed = tpl.read_bytes()

    stale = run_cli("build", "--check", "-C", str(project))

    assert stale.returncode == 1
    assert stale.stdout.startswith(f"--- {TPL} (committed)\n+++ {TPL} (built)\n@@ ")
    assert "\n+-- a comment added without rebuilding\n" in stale.stdout
    assert not any(line.startswith("-") and not line.startswith("---")
                   for line in stale.stdout.splitlines())
    assert str(TPL) in one_error_line(stale, diff=True)
    assert tpl.read_bytes() == committed  # --check never writes

    inode_before = tpl.stat().st_ino
    listing_before = sorted(p.name for p in (project / "terraform").iterdir())
    built = run_cli("build", "-C", str(project))
    assert built.returncode == 0, built.stderr
    assert built.stdout == ""
    assert "-- a comment added without rebuilding\n" in tpl.read_text(encoding="utf-8")
    # Written by rename (a reader never sees half a file), and no temp file is left.
    assert tpl.stat().st_ino != inode_before
    assert sorted(p.name for p in (project / "terraform").iterdir()) == listing_before

    current = run_cli("build", "--check", "-C", str(project))
    assert current.returncode == 0, (current.stdout, current.stderr)
    assert current.stdout == ""


def test_build_of_a_current_template_leaves_the_file_alone(project: Path) -> None:
    tpl = project / TPL
    before = (tpl.stat().st_mtime_ns, tpl.stat().st_ino, tpl.read_bytes())
    result = run_cli("build", "-C", str(project))
    assert result.returncode == 0, result.stderr
    assert (tpl.stat().st_mtime_ns, tpl.stat().st_ino, tpl.read_bytes()) == before


def test_build_creates_a_missing_template(project: Path) -> None:
    tpl = project / TPL
    committed = tpl.read_bytes()
    tpl.unlink()
    assert run_cli("build", "--check", "-C", str(project)).returncode == 1
    assert not tpl.exists()
    result = run_cli("build", "-C", str(project))
    assert result.returncode == 0, result.stderr
    assert tpl.read_bytes() == committed


def test_undefined_jinja_name_fails_loudly(project: Path) -> None:
    template = project / "templates" / "tables" / "campaigns.sql.j2"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(2, "-- {{ no_such_name }}\n")  # becomes line 3
    template.write_text("".join(lines), encoding="utf-8")
    tpl = project / TPL
    committed = tpl.read_bytes()

    line = one_error_line(run_cli("build", "-C", str(project)))

    assert "templates/tables/campaigns.sql.j2:3: " in line
    assert "'no_such_name' is undefined" in line
    assert tpl.read_bytes() == committed


def test_undeclared_terraform_variable_in_a_template_fails(project: Path) -> None:
    template = project / "templates" / "views" / "campaign_metrics.sql.j2"
    template.write_text('-- {{ var("tenant") }}\n' + template.read_text(encoding="utf-8"),
                        encoding="utf-8")
    line = one_error_line(run_cli("build", "-C", str(project)))
    assert "templates/views/campaign_metrics.sql.j2:1: " in line
    assert "'tenant'" in line


def test_a_misplaced_var_names_the_template_line_not_the_built_one(project: Path) -> None:
    template = project / "templates" / "tables" / "campaigns.sql.j2"
    text = template.read_text(encoding="utf-8")
    template.write_text(text + "SELECT {{ var('schema') }} AS unquoted;\n", encoding="utf-8")
    line = one_error_line(run_cli("build", "-C", str(project)))
    assert f"templates/tables/campaigns.sql.j2:{text.count(chr(10)) + 1}: var('schema') is not " \
        "inside a quoted identifier" in line, line
    assert "supabase-init.sql.tpl" not in line


def test_python_error_in_template_code_is_one_line(project: Path) -> None:
    template = project / "templates" / "functions" / "set_updated_at.sql.j2"
    template.write_text("-- {{ 1 // 0 }}\n" + template.read_text(encoding="utf-8"),
                        encoding="utf-8")
    line = one_error_line(run_cli("build", "-C", str(project)))
    assert "templates/functions/set_updated_at.sql.j2:1: ZeroDivisionError" in line


# --------------------------------------------------------------------------
# escaping: stage 1 escapes what Terraform would read, stage 2 restores it

LITERAL = "-- probe: $ $$ ${a} $${b} %{c} %%{d} % %% \\ \\\\ ' '' \" ~ ${~e~} é\n"
ESCAPED = "-- probe: $ $$ $${a} $$${b} %%{c} %%%{d} % %% \\ \\\\ ' '' \" ~ $${~e~} é\n"


def test_template_literals_are_escaped_by_build_and_restored_by_render(
        clean_project: Path) -> None:
    entry = project_entry_template(clean_project)
    entry.write_text(entry.read_text(encoding="utf-8") + LITERAL
                     + "SELECT '{{ var('schema') }}';\n", encoding="utf-8")
    built = run_cli("build", "-C", str(clean_project))
    assert built.returncode == 0, built.stderr

    tpl = (clean_project / TPL).read_text(encoding="utf-8")
    assert tpl.endswith(ESCAPED + "SELECT '${replace(schema, \"'\", \"''\")}';\n")

    rendered = run_cli("render", "-C", str(clean_project), "-var", "schema=crm")
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout.endswith(LITERAL + "SELECT 'crm';\n")


# --------------------------------------------------------------------------
# render: output


def test_render_prints_only_the_sql(clean_project: Path) -> None:
    result = run_cli("render", "-C", str(clean_project))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    project = api.Project.load(clean_project)
    assert result.stdout == api.render(project).sql
    assert result.stdout.startswith("-- Generated by `supabase-init build`")
    assert rendered_schema(result.stdout) == "public"


def test_render_output_file(clean_project: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "crm.sql"
    result = run_cli("render", "-C", str(clean_project), "-var", "schema=crm", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    sql = out.read_text(encoding="utf-8")
    assert rendered_schema(sql) == "crm"
    project = api.Project.load(clean_project)
    assert sql == api.render(project, project.sources(var_args=["schema=crm"])).sql
    assert [p.name for p in out_dir.iterdir()] == ["crm.sql"]


def test_render_output_to_an_unwritable_place_is_one_error(clean_project: Path,
                                                            tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    line = one_error_line(run_cli("render", "-C", str(clean_project),
                                  "-o", str(blocker / "crm.sql")))
    assert str(blocker / "crm.sql") in line


def test_render_output_into_a_missing_directory_creates_nothing(clean_project: Path,
                                                                 tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    result = run_cli("render", "-C", str(clean_project), "-o", str(missing / "crm.sql"))
    line = one_error_line(result)
    assert f"the directory {missing} does not exist" in line, line
    assert not (tmp_path / "no").exists()


def test_render_does_not_import_psycopg(clean_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "crm.sql"
    code = (
        "import json, sys\n"
        "from supabase_init.cli import main\n"
        f"code = main(['render', '-C', {str(clean_project)!r}, '-o', {str(out)!r}])\n"
        "print(json.dumps([code, sorted(m for m in sys.modules if m.startswith('psycopg'))]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    exit_code, psycopg_modules = json.loads(result.stdout)
    assert exit_code == 0
    assert psycopg_modules == []
    assert rendered_schema(out.read_text(encoding="utf-8")) == "public"


# --------------------------------------------------------------------------
# render: variables and Terraform's precedence


def test_variable_precedence_follows_terraform(clean_project: Path, tmp_path: Path) -> None:
    """Lowest to highest: default, TF_VAR_, terraform.tfvars(.json), *.auto.tfvars in
    lexical order, then -var / -var-file in command-line order."""
    tf = clean_project / "terraform"
    env: dict[str, str] = {}
    args: list[str] = []

    def schema() -> str:
        result = run_cli("render", "-C", str(clean_project), *args, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        return rendered_schema(result.stdout)

    assert schema() == "public"
    env["TF_VAR_schema"] = "from_env"
    assert schema() == "from_env"
    (tf / "terraform.tfvars").write_text('schema = "from_tfvars"\n', encoding="utf-8")
    assert schema() == "from_tfvars"
    (tf / "terraform.tfvars.json").write_text('{"schema": "from_tfvars_json"}\n',
                                              encoding="utf-8")
    assert schema() == "from_tfvars_json"
    (tf / "b.auto.tfvars").write_text('schema = "from_auto_b"\n', encoding="utf-8")
    (tf / "a.auto.tfvars.json").write_text('{"schema": "from_auto_a"}\n', encoding="utf-8")
    assert schema() == "from_auto_b"
    (tmp_path / "first.tfvars").write_text(
        '# an environment file\nschema = "from_var_file"\n', encoding="utf-8")
    args += ["-var-file", str(tmp_path / "first.tfvars")]
    assert schema() == "from_var_file"
    (tmp_path / "second.tfvars.json").write_text('{"schema": "from_var_file_json"}',
                                                 encoding="utf-8")
    args += ["--var-file", str(tmp_path / "second.tfvars.json")]
    assert schema() == "from_var_file_json"
    args += ["-var", "schema=from_cli"]
    assert schema() == "from_cli"
    args += ["--var", "schema=from_cli_last"]
    assert schema() == "from_cli_last"


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("var", "var_file", "from_file"),
    ("var_file", "var", "from_cli"),
])
def test_var_and_var_file_apply_in_command_line_order(
        clean_project: Path, tmp_path: Path, first: str, second: str, expected: str) -> None:
    """Terraform takes -var and -var-file in the order given: the later one wins."""
    var_file = tmp_path / "env.tfvars"
    var_file.write_text('schema = "from_file"\n', encoding="utf-8")
    options = {"var": ["-var", "schema=from_cli"], "var_file": ["-var-file", str(var_file)]}
    result = run_cli("render", "-C", str(clean_project), *options[first], *options[second])
    assert result.returncode == 0, result.stderr
    assert rendered_schema(result.stdout) == expected
    spelled = [options[first][0].replace("-", "--", 1) + "=" + options[first][1],
               options[second][0].replace("-", "--", 1) + "=" + options[second][1]]
    result = run_cli("render", "-C", str(clean_project), *spelled)
    assert result.returncode == 0, result.stderr
    assert rendered_schema(result.stdout) == expected


def test_var_file_values_fill_every_variable(clean_project: Path, tmp_path: Path) -> None:
    (tmp_path / "prod.tfvars.json").write_text(json.dumps(
        {"schema": "crm", "lock_timeout": "250ms", "statement_timeout": 0,
         "not_a_config_variable": "ignored, as Terraform only warns"}), encoding="utf-8")
    result = run_cli("render", "-C", str(clean_project), "-var-file",
                     str(tmp_path / "prod.tfvars.json"))
    assert result.returncode == 0, result.stderr
    assert rendered_schema(result.stdout) == "crm"
    assert "SET LOCAL lock_timeout = '250ms';" in result.stdout
    assert "SET LOCAL statement_timeout = '0';" in result.stdout


@pytest.mark.parametrize(("args", "env", "fragments"), [
    (["-var", "nosuch=1"], {}, ["-var nosuch", "'nosuch'"]),
    (["-var", "schema=Bad-Name"], {}, ["'schema'", "'Bad-Name'", "does not match"]),
    (["-var", "schema"], {}, ["-var 'schema'", "name=value"]),
    (["-var", "lock_timeout=5 seconds"], {}, ["'lock_timeout'", "'5 seconds'"]),
    (["-var-file", "missing.tfvars"], {}, ["missing.tfvars", "not found"]),
    (["-var-file", "missing.tfvars.json"], {}, ["missing.tfvars.json", "not found"]),
    ([], {"TF_VAR_schema": "public; DROP"}, ["'schema'", "TF_VAR_schema", "'public; DROP'"]),
])
def test_bad_variable_values_are_one_error(clean_project: Path, tmp_path: Path,
                                           args: list[str], env: dict[str, str],
                                           fragments: list[str]) -> None:
    line = one_error_line(run_cli("render", "-C", str(clean_project), *args, env=env,
                                  cwd=tmp_path))
    for fragment in fragments:
        assert fragment in line, (fragment, line)


@pytest.mark.parametrize(("name", "content", "fragments"), [
    ("bad.tfvars", 'schema = "Public"\n', ["bad.tfvars:1", "'schema'", "'Public'"]),
    ("bad.tfvars", 'lock_timeout = "1s"\nschema =\n', ["bad.tfvars:", "syntax error"]),
    # A variable file may hold secrets: its text is never quoted.
    ("bad.tfvars", 'schema = "${var.x}"\n', ["bad.tfvars:1", "'schema'", "expressions"]),
    ("bad.tfvars.json", '{"schema": "crm",}', ["bad.tfvars.json", "not a valid"]),
    ("bad.tfvars.json", '["crm"]', ["bad.tfvars.json", "object"]),
])
def test_bad_var_files_are_one_error(clean_project: Path, tmp_path: Path, name: str,
                                     content: str, fragments: list[str]) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    line = one_error_line(run_cli("render", "-C", str(clean_project),
                                  "-var-file", str(tmp_path / name), cwd=tmp_path))
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def test_auto_tfvars_value_failing_its_pattern_names_the_file(clean_project: Path) -> None:
    (clean_project / "terraform" / "prod.auto.tfvars").write_text(
        '\nlock_timeout = "forever"\n', encoding="utf-8")
    line = one_error_line(run_cli("render", "-C", str(clean_project)))
    assert "prod.auto.tfvars:2" in line
    assert "'lock_timeout'" in line and "'forever'" in line

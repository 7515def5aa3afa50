"""Hostile inputs through every channel, on the Python and the Terraform route.

Each case is either refused with one short ``Error:`` line, or quoted: the
rendered SQL then splits into the same statements as with a benign value, and
each statement is the benign one with the value in place of the benign value
(compared after splitting, so a value that closed a quote would show as a
different statement list). The Terraform route evaluates the same ``.tpl``
with ``templatefile()`` in the real binary and must give the same bytes, or
refuse the same values.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, run_cli
from supabase_init import api
from supabase_init.errors import SupabaseInitError

BENIGN = "benign_marker_value"

# Values for the schema and the timeouts, chosen to break out of every kind of
# quoting the SQL has: identifiers, string literals, dollar quotes, comments,
# Terraform's own template sequences, and statement ends.
HOSTILE = [
    'public"; DROP TABLE x; --',
    'a"b',
    '"',
    '""',
    "x'y",
    "'; DROP SCHEMA public CASCADE; --",
    "''",
    "\\'; SELECT 1; --",
    "back\\slash",
    "line1\nline2",
    "cr\r\nlf",
    "-- comment",
    "/* open comment",
    "*/ close comment",
    "semi;colon",
    "; COMMIT; DROP TABLE x",
    '" OR 1=1 --',
    "%{ if true }x%{ endif }",
    "%%{ y",
    "tab\there",
    "é\"ü",
    "\u202ereversed",
    "\u00a0nbsp'\"",
    "E'\\x41'",
    "U&\"\\0041\"",
    ")) ; DROP TABLE x; ((",
    "information_schema_marker",
    "pg_marker_catalog",
    "x" * 300,
    "quote'in'the'middle\"and\"here",
]
# Values a dollar-quoted body cannot hold (its closing tag cannot be
# escaped): refused on both routes.
REFUSED_IN_BODIES = [
    "$do$; DROP TABLE x; $do$",
    "$$",
    "a$b",
    "${schema}",
    "$function$",
    "x$do1$y",
]


def _forms(value: str) -> list[str]:
    """Every quoted token the build makes of ``value``, delimiters included, longest first."""
    ident = value.replace('"', '""')
    forms = {f'"{ident}"', "'" + value.replace("'", "''") + "'",
             '"' + ident.replace("'", "''") + '"'}
    return sorted(forms, key=len, reverse=True)


def statements(sql: str, value: str) -> list[str]:
    """The statements of ``sql`` (split first), with ``value``'s quoted forms masked."""
    out = []
    for statement in api.split_statements(sql):
        text = statement.text
        for form in _forms(value):
            text = text.replace(form, "\x00VALUE\x00")
        out.append(text)
    return out


def hcl_string(value: str) -> str:
    """A .tfvars string literal holding exactly ``value``."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("${", "$${").replace("%{", "%%{")


@pytest.fixture(scope="module")
def open_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CRM with no pattern and no kind on its variables: only quoting stands guard."""
    root = tmp_path_factory.mktemp("open") / "project"
    root.mkdir()
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "terraform").mkdir()
    config = (REPO / "supabase-init.hcl").read_text(encoding="utf-8")
    config = re.sub(r"^\s*(pattern|kind)\s*=.*\n", "", config, flags=re.M)
    (root / "supabase-init.hcl").write_text(config, encoding="utf-8")
    api.write_template(api.Project.load(root))
    return root


def render(project: Path, sources: Callable[[api.Project], api.VariableSources]) -> str:
    proj = api.Project.load(project)
    return api.render(proj, sources(proj)).sql


def channels(name: str, value: str, tmp: Path) -> dict[str, Callable[[api.Project],
                                                                     api.VariableSources]]:
    """The ways a user gives ``name = value``: -var, .tfvars, .tfvars.json, TF_VAR_."""
    tfvars = tmp / "v.tfvars"
    tfvars.write_text(f"{name} = {hcl_string(value)}\n", encoding="utf-8")
    tfjson = tmp / "v.tfvars.json"
    tfjson.write_text(json.dumps({name: value}), encoding="utf-8")
    found: dict[str, Callable[[api.Project], api.VariableSources]] = {
        "-var": lambda p: dataclasses.replace(p.sources(var_args=[f"{name}={value}"]),
                                              environ={}),
        "-var-file": lambda p: dataclasses.replace(p.sources(var_files=[tfvars]), environ={}),
        "-var-file json": lambda p: dataclasses.replace(p.sources(var_files=[tfjson]),
                                                        environ={}),
        "TF_VAR_": lambda p: dataclasses.replace(p.sources(), environ={f"TF_VAR_{name}": value}),
    }
    if "%%{" in value or "$${" in value:
        # Written "%%%{" in HCL, which Terraform reads and python-hcl2 refuses
        # as a syntax error (a refusal, never a different value).
        del found["-var-file"]
    return found


@pytest.mark.parametrize("name", ["schema", "private_schema", "lock_timeout",
                                  "statement_timeout"])
@pytest.mark.parametrize("value", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_a_hostile_value_is_quoted_on_every_python_channel(open_project: Path, name: str,
                                                           value: str, tmp_path: Path) -> None:
    benign = statements(render(open_project, channels(name, BENIGN, tmp_path)["-var"]), BENIGN)
    for channel, sources in channels(name, value, tmp_path).items():
        got = statements(render(open_project, sources), value)
        assert len(got) == len(benign), (channel, len(got), len(benign))
        assert got == benign, channel


@pytest.mark.parametrize("value", REFUSED_IN_BODIES)
def test_a_dollar_in_a_value_used_in_a_body_is_refused_on_every_python_channel(
        open_project: Path, value: str, tmp_path: Path) -> None:
    for channel, sources in channels("schema", value, tmp_path).items():
        with pytest.raises(SupabaseInitError) as caught:
            render(open_project, sources)
        message = str(caught.value)
        assert "\n" not in message and len(message) < 300, channel
        assert "cannot be quoted inside a dollar-quoted body" in message, message


def test_the_command_line_refuses_with_one_short_line(open_project: Path) -> None:
    for value in REFUSED_IN_BODIES[:2] + ["$" + "x" * 100_000]:
        proc = run_cli("render", "-C", str(open_project), "-var", f"schema={value}")
        assert proc.returncode == 1
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr[:300]
        assert len(lines[0]) < 300


# The shipped config, whose variables have patterns and kinds: every hostile
# value is refused before anything is rendered, in one short line.
SHIPPED_REFUSED = [v for v in HOSTILE if v != "information_schema_marker"] + REFUSED_IN_BODIES + [
    "information_schema", "pg_catalog", "pg_toast", "pg_temp_3", "x" * 64, "x" * 1_000_000,
]


@pytest.mark.parametrize("name", ["schema", "private_schema"])
def test_the_shipped_config_refuses_every_hostile_schema_in_one_short_line(name: str) -> None:
    proj = api.Project.load(REPO)
    for value in SHIPPED_REFUSED:
        with pytest.raises(SupabaseInitError) as caught:
            api.render(proj, dataclasses.replace(proj.sources(var_args=[f"{name}={value}"]),
                                                 environ={}))
        message = str(caught.value)
        assert "\n" not in message and len(message) < 300, message[:300]
        assert message.startswith(f"variable '{name}' (from -var {name}): "), message[:300]
        assert value not in message or len(value) <= 80, message[:300]


@pytest.mark.parametrize("name", ["lock_timeout", "statement_timeout"])
def test_the_shipped_config_refuses_hostile_and_vanishing_timeouts(name: str) -> None:
    proj = api.Project.load(REPO)
    for value in HOSTILE[:8] + ["1us", "500us", "0.5", "-1s", "5 s", "5s; x"]:
        with pytest.raises(SupabaseInitError) as caught:
            api.render(proj, dataclasses.replace(proj.sources(var_args=[f"{name}={value}"]),
                                                 environ={}))
        message = str(caught.value)
        assert "\n" not in message, message
        assert message.startswith(f"variable {name!r} (from -var {name}): "), message
    # Zero, written as zero (no timeout), stays allowed.
    script = api.render(proj, dataclasses.replace(proj.sources(var_args=[f"{name}=0"]),
                                                  environ={}))
    assert f"SET LOCAL {name} = '0';" in script.sql


def test_a_pattern_that_escapes_its_anchors_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(REPO / "templates", project / "templates")
    config = (REPO / "supabase-init.hcl").read_text(encoding="utf-8")
    config = config.replace('pattern     = "^[a-z_][a-z0-9_]{0,62}$"',
                            'pattern     = "^[a-z_]+$|.*$"', 1)
    (project / "supabase-init.hcl").write_text(config, encoding="utf-8")
    proc = run_cli("build", "-C", str(project))
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and "anchor" in proc.stderr, proc.stderr


# -------------------------------------------------------------------------
# The Terraform route: templatefile() in the real binary, same .tpl, same
# values, one terraform run for every case.


def terraform_outputs(terraform_bin: str, workdir: Path, tpl: Path,
                      cases: dict[str, dict[str, str]]) -> dict[str, str]:
    workdir.mkdir()
    (workdir / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    (workdir / "main.tf").write_text(
        'output "sql" {\n  value = {\n'
        '    for id, vars in jsondecode(file("${path.module}/cases.json")) :\n'
        f'    id => try(templatefile({json.dumps(str(tpl))}, vars), "REFUSED")\n'
        "  }\n}\n", encoding="utf-8")
    (workdir / "empty.tfrc").write_text("", encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TF_")},
           "TF_CLI_CONFIG_FILE": str(workdir / "empty.tfrc"), "CHECKPOINT_DISABLE": "1",
           "TF_IN_AUTOMATION": "1"}
    for args in (["apply", "-auto-approve", "-input=false", "-no-color"],
                 ["output", "-json", "sql"]):
        proc = subprocess.run([terraform_bin, *args], cwd=workdir, env=env,
                              capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    return json.loads(proc.stdout)


def test_terraform_quotes_and_refuses_exactly_as_render(terraform_bin: str, open_project: Path,
                                                        tmp_path: Path) -> None:
    proj = api.Project.load(open_project)
    defaults = {"schema": "public", "private_schema": "crm_private", "lock_timeout": "5s",
                "statement_timeout": "5min"}
    cases: dict[str, dict[str, str]] = {"benign": defaults}
    for i, value in enumerate(HOSTILE + REFUSED_IN_BODIES):
        for name in ("schema", "private_schema", "lock_timeout"):
            cases[f"{name}-{i}"] = {**defaults, name: value}
    by_terraform = terraform_outputs(terraform_bin, tmp_path / "tf", proj.tpl_path, cases)
    assert set(by_terraform) == set(cases)
    refused = 0
    for case_id, values in cases.items():
        try:
            by_render: str = api.render(proj, dataclasses.replace(
                proj.sources(var_args=[f"{k}={v}" for k, v in values.items()]),
                environ={})).sql
        except SupabaseInitError:
            by_render = "REFUSED"
        assert by_terraform[case_id] == by_render, case_id
        refused += by_render == "REFUSED"
    # Exactly the values with "$" in either schema (used inside DO bodies).
    assert refused == 2 * len(REFUSED_IN_BODIES)
    # And what terraform gives is as structured as the benign script.
    benign = statements(by_terraform["benign"], "public")
    for i, value in enumerate(HOSTILE):
        for name in ("schema", "private_schema"):
            sql = by_terraform[f"{name}-{i}"]
            assert len(api.split_statements(sql)) == len(benign), (name, value)


# -------------------------------------------------------------------------
# Config text: policy expressions and the build's own dollar-quote tags.

TAGS_AND_BREAKERS = ["$do$", "$do1$", "$do2$", "$function$", "$$", "$body$", "'", "''",
                     "--", "/*", "*/", '"', "\\", "${x}", "%{ x }"]


def _policy_config(expression: str) -> str:
    config = (REPO / "supabase-init.hcl").read_text(encoding="utf-8")
    policy = ('\npolicy "customer_activities" "hostile_probe" {\n'
              '  roles   = ["service_role"]\n  command = "SELECT"\n'
              f"  using   = {hcl_string(expression)}\n}}\n")
    return config + policy


def _built(expression: str, where: Path) -> list[str]:
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(REPO / "templates", where / "templates")
    (where / "supabase-init.hcl").write_text(_policy_config(expression), encoding="utf-8")
    proj = api.Project.load(where)
    api.write_template(proj)
    return statements(api.render(proj).sql, expression)


def _check_policy_block(text: str, benign: list[str], where: Path) -> None:
    # A valid SQL expression holding the text in a string literal.
    expression = "true OR '" + text.replace("'", "''") + "' = ''"
    hostile = _built(expression, where)
    # The same statements (the DO block's tag may differ), and the policy's
    # block is one of them, whole.
    assert len(hostile) == len(benign), text
    assert sum("CREATE POLICY" in s and "hostile_probe" in s and "\x00VALUE\x00" in s
               for s in hostile) == 1, text


@pytest.fixture(scope="module")
def benign_policy_build(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _built("true OR 'benign' = ''", tmp_path_factory.mktemp("benign") / "p")


@pytest.mark.parametrize("tag", TAGS_AND_BREAKERS)
def test_a_policy_expression_cannot_end_the_block_it_is_embedded_in(
        tag: str, benign_policy_build: list[str], tmp_path: Path) -> None:
    _check_policy_block(tag, benign_policy_build, tmp_path / "p")


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.lists(st.sampled_from(TAGS_AND_BREAKERS + ["x", " ", "\n"]),
                     min_size=1, max_size=8).map("".join))
def test_any_mix_of_the_builds_tags_stays_inside_its_block(
        text: str, benign_policy_build: list[str],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    _check_policy_block(text, benign_policy_build, tmp_path_factory.mktemp("mix") / "p")

"""Variable files read as Terraform reads them; errors that never echo them whole.

The real `terraform` binary is the oracle for heredoc values, for what it
rejects and for which names it warns about.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, run_cli
from supabase_init.config import load_config
from supabase_init.errors import VariableError
from supabase_init.hclfile import parse_hcl_file
from supabase_init.variables import (
    ResolvedVariables,
    VariableSources,
    resolve_variables,
    resolve_variables_with_warnings,
)

SECRET = "ZebraQuokka-7731"


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one `Error: ...` line of a failed command (exit 1, nothing on stdout)."""
    assert result.returncode == 1, (result.returncode, result.stdout[-500:], result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[:2000]
    assert "this is a bug" not in lines[0]
    return lines[0]


@pytest.fixture
def clean_project(project: Path) -> Path:
    for path in (project / "terraform").glob("*.tfvars*"):
        path.unlink()
    return project


def terraform_env(tmp_path: Path) -> dict[str, str]:
    rc = tmp_path / "terraformrc"
    rc.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "PG"))}
    env.update(TF_CLI_CONFIG_FILE=str(rc), TF_IN_AUTOMATION="1", TF_INPUT="0",
               CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(tmp_path / "tfdata"))
    return env


# --------------------------------------------------------------------------
# heredocs: Terraform's value, and so Terraform's verdict

HEREDOCS = {
    "plain": "<<EOT\npublic\nEOT\n",
    "flush": "<<-EOT\n    a\n  \n    b\n  EOT\n",
    "flush_tabs": "<<-EOT\n  a\n\t\tb\nEOT\n",
    "indented_marker": "<<EOT\n  a\n  EOT\n",
    "empty": "<<EOT\nEOT\n",
    "escapes": "<<-EOT\n    a $${x} %%{y} \\n\n    EOT\n",
    "unicode_space": "<<-EOT\n\u00a0\u00a0a\n\u00a0b\nEOT\n",
    "blank_lines": "<<-EOT\n\n      x\n\n    y\n    EOT\n",
}


def terraform_values(terraform: str, tmp_path: Path, tfvars: str, names: list[str],
                     filename: str = "values.tfvars") -> list[str]:
    module = tmp_path / "module"
    module.mkdir(exist_ok=True)
    (module / "main.tf").write_text("".join(f'variable "{n}" {{\n  type = string\n}}\n'
                                            for n in names))
    (module / filename).write_bytes(tfvars.encode())
    expression = "jsonencode([" + ", ".join(f"var.{n}" for n in names) + "])\n"
    result = subprocess.run([terraform, "console", f"-var-file={filename}"], cwd=module,
                            input=expression, capture_output=True, text=True,
                            env=terraform_env(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(json.loads(result.stdout.strip()))


def test_heredoc_values_are_terraforms(terraform_bin: str, tmp_path: Path) -> None:
    text = "".join(f"{name} = {body}" for name, body in HEREDOCS.items())
    expected = terraform_values(terraform_bin, tmp_path, text, list(HEREDOCS))
    (tmp_path / "ours.tfvars").write_text(text)
    doc = parse_hcl_file(tmp_path / "ours.tfvars")
    assert [doc.attributes[n].value for n in HEREDOCS] == expected
    assert expected[0] == "public\n"


def test_a_crlf_heredoc_keeps_its_crlf_as_in_terraform(terraform_bin: str,
                                                       tmp_path: Path) -> None:
    text = "s = <<EOT\r\nab\r\nEOT\r\nt = <<-EOT\r\n  c\r\n  EOT\r\n"
    expected = terraform_values(terraform_bin, tmp_path, text, ["s", "t"])
    (tmp_path / "crlf.tfvars").write_bytes(text.encode())
    doc = parse_hcl_file(tmp_path / "crlf.tfvars")
    assert [doc.attributes["s"].value, doc.attributes["t"].value] == expected == ["ab\r\n",
                                                                                   "c\r\n"]


@pytest.mark.parametrize(("name", "body", "terraform_says", "we_say"), [
    # The module's validation rejects "public\n" (RE2's $ is the end of the text).
    ("schema", "<<EOT\npublic\nEOT\n", "The schema must match", "does not match"),
    ("lock_timeout", "<<-EOT\n  5s\n  EOT\n", "The lock_timeout must match", "does not match"),
    # A bare name is a reference to a variable, not the string "public".
    ("schema", "public\n", "Variables not allowed", "expressions"),
])
def test_a_value_terraform_rejects_is_rejected(terraform_bin: str, clean_project: Path,
                                                 tmp_path: Path, name: str, body: str,
                                                 terraform_says: str, we_say: str) -> None:
    tfvars = tmp_path / "heredoc.tfvars"
    tfvars.write_text(f"{name} = {body}")
    module = tmp_path / "tf"
    shutil.copytree(REPO / "terraform", module,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "examples"))
    env = terraform_env(tmp_path)
    init = subprocess.run([terraform_bin, "init", "-input=false", "-no-color"], cwd=module,
                          env=env, capture_output=True, text=True, timeout=180)
    assert init.returncode == 0, init.stderr
    plan = subprocess.run([terraform_bin, "plan", "-input=false", "-no-color",
                           "-var", "host=localhost", f"-var-file={tfvars}"], cwd=module,
                          env=env, capture_output=True, text=True, timeout=180)
    assert plan.returncode == 1
    assert terraform_says in " ".join(plan.stderr.split())

    line = error_line(run_cli("render", "-C", str(clean_project), "-var-file", str(tfvars)))
    assert f"{tfvars}:1" in line and f"'{name}'" in line and we_say in line


def test_a_heredoc_for_a_number_is_not_a_number(tmp_path: Path) -> None:
    config = tmp_path / "c.hcl"
    config.write_text('variable "rows" {\n  type = "number"\n  default = 1\n}\n')
    tfvars = tmp_path / "n.tfvars"
    tfvars.write_text("rows = <<EOT\n5\nEOT\n")
    # terraform plan: "a number is required" (checked by hand against 1.11).
    with pytest.raises(VariableError, match=r"n\.tfvars:1\): expected a number"):
        resolve_variables(load_config(config), VariableSources(var_files=(tfvars,), environ={}))


# --------------------------------------------------------------------------
# the plain `name = literal` file is read without python-hcl2, to the same result

_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True)
_literals = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12).map(
        lambda s: '"' + s + '"'),
    st.integers(min_value=0, max_value=10**17).map(str),
    st.decimals(min_value=0, max_value=10**6, places=3).map(str),
    st.sampled_from(["true", "false", "null", "[1]", "<<EOT\nx\nEOT", "-1", "1e3", "x"]))
_lines = st.one_of(
    st.tuples(_names, st.sampled_from(["=", " = ", "\t=  "]), _literals,
              st.sampled_from(["", " ", " # note", "// note", "\t#"])).map("".join),
    st.sampled_from(["", "  ", "# comment", "// comment", "/* block */", "\r", "a {", "}"]))


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(_lines, max_size=6), end=st.sampled_from(["", "\n"]))
def test_the_fast_reading_of_simple_files_is_python_hcl2s(lines: list[str], end: str) -> None:
    from supabase_init.errors import ConfigError
    from supabase_init.hclfile import parse_hcl_text, parse_plain_assignments

    text = "\n".join(lines) + end
    fast = parse_plain_assignments(text, Path("x.tfvars"))
    if fast is None:
        return  # python-hcl2 reads it (or says what is wrong)
    try:
        full = parse_hcl_text(text, Path("x.tfvars"), secret=True)
    except ConfigError as e:
        raise AssertionError(f"python-hcl2 refuses what the fast path read: {e}") from None
    assert fast == full, text


def test_the_fast_reading_covers_a_typical_variable_file() -> None:
    from supabase_init.hclfile import parse_plain_assignments

    text = ('# production\nschema            = "crm"\nlock_timeout      = "2s"  # short\n\n'
            'host = "db.example.com"\nport = 6543\nretries = 2.5\nenabled = true\n')
    doc = parse_plain_assignments(text, Path("prod.tfvars"))
    assert doc is not None
    assert {n: (a.value, a.line) for n, a in doc.attributes.items()} == {
        "schema": ("crm", 2), "lock_timeout": ("2s", 3), "host": ("db.example.com", 5),
        "port": (6543, 6), "retries": (2.5, 7), "enabled": (True, 8)}


# --------------------------------------------------------------------------
# undeclared variables in a variable file: a warning, as Terraform gives


def test_undeclared_names_warn_once_with_file_line_and_nearest_name(clean_project: Path,
                                                                    tmp_path: Path) -> None:
    config = load_config(clean_project / "supabase-init.hcl")
    auto = clean_project / "terraform" / "terraform.tfvars"
    auto.write_text('shcema = "crm"\nhost = "db.example.com"\nzzz = 1\n')
    extra = tmp_path / "extra.tfvars.json"
    extra.write_text('{\n  "lock_timeout": "2s",\n  "statment_timeout": "1min"\n}\n')
    sources = VariableSources(
        # terraform.tfvars once more under another spelling: one warning per occurrence.
        var_files=(extra, clean_project / "terraform" / ".." / "terraform" / "terraform.tfvars"),
        tfvars_dir=clean_project / "terraform", environ={})
    resolved = resolve_variables_with_warnings(config, sources)

    assert isinstance(resolved, ResolvedVariables)
    assert resolved.values == {"schema": "public", "private_schema": "crm_private",
                               "lock_timeout": "2s", "statement_timeout": "5min"}
    assert resolved.values == resolve_variables(config, sources)
    assert resolved.warnings == (
        f"{auto}:1: value for undeclared variable 'shcema' is ignored: neither "
        "supabase-init.hcl nor the Terraform module declares it (did you mean 'schema'?)",
        f"{auto}:3: value for undeclared variable 'zzz' is ignored: neither supabase-init.hcl "
        "nor the Terraform module declares it (declared: schema, private_schema, "
        "lock_timeout, statement_timeout)",
        f"{extra}:3: value for undeclared variable 'statment_timeout' is ignored: neither "
        "supabase-init.hcl nor the Terraform module declares it (did you mean "
        "'statement_timeout'?)",
    )


def test_terraform_warns_about_the_same_names(terraform_bin: str, tmp_path: Path) -> None:
    module = tmp_path / "tf"
    shutil.copytree(REPO / "terraform", module,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "examples"))
    (module / "terraform.tfvars").write_text('shcema = "crm"\nhost = "db.example.com"\n')
    env = terraform_env(tmp_path)
    subprocess.run([terraform_bin, "init", "-input=false"], cwd=module, env=env,
                   capture_output=True, check=True, timeout=180)
    plan = subprocess.run([terraform_bin, "plan", "-input=false", "-no-color"], cwd=module,
                          env=env, capture_output=True, text=True, timeout=180)
    assert plan.returncode == 0, plan.stderr
    said = " ".join((plan.stdout + plan.stderr).split())
    assert 'does not declare a variable named "shcema"' in said
    assert 'named "host"' not in said

    config = load_config(REPO / "supabase-init.hcl")
    warnings = resolve_variables_with_warnings(
        config, VariableSources(tfvars_dir=module, environ={})).warnings
    assert [w.split(": value for")[0] for w in warnings] == [f"{module / 'terraform.tfvars'}:1"]


def test_var_of_an_undeclared_name_still_fails(clean_project: Path) -> None:
    line = error_line(run_cli("render", "-C", str(clean_project), "-var", "shcema=crm"))
    assert "-var shcema: no variable 'shcema' is declared" in line


# --------------------------------------------------------------------------
# errors quote at most ~80 characters, and never the text of a variable file

# Past 80 characters by far; a command-line argument or environment string
# holds at most 128 KiB on Linux, so not the 1 MB a file can hold.
HUGE = "Q" * 100_000


@pytest.mark.parametrize("channel", ["-var", "tfvars", "tfvars.json", "TF_VAR"])
def test_a_huge_value_is_quoted_shortened(clean_project: Path, tmp_path: Path,
                                          channel: str) -> None:
    args, env = [], {}
    if channel == "-var":
        args = ["-var", f"schema={HUGE}"]
    elif channel == "TF_VAR":
        env = {"TF_VAR_schema": HUGE}
    else:
        path = tmp_path / f"big.{channel}"
        value = HUGE * 10
        path.write_text(json.dumps({"schema": value}) if channel.endswith("json")
                        else f'schema = "{value}"\n')
        args = ["-var-file", str(path)]
    line = error_line(run_cli("render", "-C", str(clean_project), *args, env=env))
    assert len(line) < 400, line[:500]
    size = len(HUGE) * (1 if channel in ("-var", "TF_VAR") else 10)
    assert "'schema'" in line and f"({size} characters)" in line and "QQQQ" in line


@pytest.mark.parametrize("content", [
    f"schema = \"crm\"\npassword = <<EOT\n{SECRET}\n",
    f"password = \"{SECRET}\" {SECRET}\n",
    f"password == {SECRET}\n",
    f"{SECRET} {SECRET}\n",
    f'password = "{SECRET}\n',
    f"password = [\"{SECRET}\",\n",
])
def test_a_tfvars_syntax_error_names_line_and_column_and_never_the_text(
        clean_project: Path, tmp_path: Path, content: str) -> None:
    path = tmp_path / "secret.tfvars"
    path.write_text(content)
    line = error_line(run_cli("render", "-C", str(clean_project), "-var-file", str(path)))
    assert f"{path}:" in line and "syntax error at column" in line, line
    assert SECRET not in line and "EOT" not in line and "Zebra" not in line, line


def test_an_expression_in_a_variable_file_is_refused_without_quoting_it(
        clean_project: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.tfvars"
    for value in (f'"${{lower("{SECRET}")}}"', f"{SECRET}-x"):
        path.write_text(f'password = "{SECRET}${{x}}"\nschema = {value}\n')
        line = error_line(run_cli("render", "-C", str(clean_project), "-var-file", str(path)))
        assert f"{path}:2" in line and "'schema'" in line and "expressions" in line
        assert SECRET not in line
    # An undeclared variable's expression is the Terraform module's business.
    path.write_text(f'password = "{SECRET}${{x}}"\n')
    result = run_cli("render", "-C", str(clean_project), "-var-file", str(path))
    assert result.returncode == 0 and SECRET not in result.stderr, result.stderr


# --------------------------------------------------------------------------
# deep nesting is a user error, not a crash


@pytest.mark.parametrize("name", ["deep.tfvars.json", "deep.tfvars"])
def test_a_deeply_nested_variable_file_is_one_error(clean_project: Path, tmp_path: Path,
                                                    name: str) -> None:
    depth = 100_000
    path = tmp_path / name
    value = "[" * depth + "]" * depth
    path.write_text(f'{{"schema": {value}}}' if name.endswith(".json") else f"schema = {value}\n")
    line = error_line(run_cli("render", "-C", str(clean_project), "-var-file", str(path)))
    assert str(path) in line and "nested too deeply" in line


def test_a_deeply_nested_config_is_one_error(clean_project: Path) -> None:
    config = clean_project / "supabase-init.hcl"
    config.write_text(config.read_text() + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    line = error_line(run_cli("build", "-C", str(clean_project)))
    assert "supabase-init.hcl" in line and "nested too deeply" in line

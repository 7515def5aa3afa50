"""Issue acceptance: `supabase-init render` is byte-identical to Terraform's templatefile().

The real `terraform` binary is the oracle. Everything it has to evaluate (the
committed template with several sets of values, a batch of escaped property
strings, a freshly built project) goes into one root module of `output`
blocks, so terraform runs once for the whole module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import REPO, project_entry_template, run_cli
from supabase_init.config import load_config
from supabase_init.quoting import FORMS
from supabase_init.tftemplate import Value, escape_literal, evaluate, format_value

TPL = Path("terraform") / "supabase-init.sql.tpl"
BATCH_SIZE = 200

# Values given to render through a -var-file, and to Terraform through the
# same file. statement_timeout is a number there: both convert it to the
# string "0" for the string variable.
TFVARS = '''# staging
schema            = "crm_staging"
private_schema    = "crm_staging_private"
lock_timeout      = "1500ms"
statement_timeout = 0
'''

# id -> (render arguments, overrides of the config defaults for templatefile);
# None means "the values of the tfvars file".
PARITY_CASES: dict[str, tuple[list[str], dict[str, str] | None]] = {
    "defaults": ([], {}),
    "crm_lock_250ms": (["-var", "schema=crm", "-var", "lock_timeout=250ms"],
                       {"schema": "crm", "lock_timeout": "250ms"}),
    "underscore_schema_no_statement_timeout": (
        ["-var", "schema=_a1", "-var", "statement_timeout=0"],
        {"schema": "_a1", "statement_timeout": "0"}),
    "tfvars_file": (["-var-file", "{tfvars}"], None),
}

# Text that stresses both template stages; put into a template by
# escape_literal, it must come out of Terraform and render unchanged.
FRAGMENTS = [
    "$", "$$", "${", "$${", "$$${", "%", "%{", "%%", "%%{", "%%%{", "~", "~}", "${~", "%{~",
    "{", "}", "\\", "\\\\", "\\n", "\\${", "'", "''", '"',
    "\n", "\r\n", "\t", " ", "\n\n", " \n\t\n ", "\r\n \r\n", " \t", "\v", "\f",
    "\u00a0", "\u3000", "\x85", "\u2028", "\ufeff", "\u200b", "\x00", "é", "e\u0301",
    "Ω", "中文", "日本語", "😀", "👩\u200d💻", "${schema}", "%{ if x }", "%{ endif }",
    "$body$", "$$ LANGUAGE plpgsql $$", "E'\\x41'", "-- ${comment}\n", "/* %{ */", "$1",
    "format('%s', x)", "${~ x ~}",
]
# No unassigned code points (NFC of a character newer than this Python's
# Unicode database could differ from Terraform's), no surrogates, no private
# use (the build reserves two private-use characters), and CR only as CRLF:
# HCL's scanner stops at a lone CR, so no template can hold one (see
# test_tftemplate.py).
CHARS = st.characters(exclude_categories=("Cs", "Cn", "Co"), exclude_characters="\r")
SQL_TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(CHARS, min_size=1, max_size=6)),
                    max_size=12).map("".join)
VALUES: st.SearchStrategy[Value] = st.one_of(
    SQL_TEXT, st.text(st.characters(exclude_categories=("Cs", "Cn")), max_size=8),
    st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False))
# Always in the built project, whatever hypothesis draws.
BUILT_TEXT = "-- $ $$ ${x} $${ %{ if } %%{ ~} \\ \\n ' \" \t é e\u0301 中文 😀 \r\n$$ {% %}"
PLAIN_FORMS = ["${%s}", "${ %s }", "${\n%s\n}", "${\r\n\t%s }"]
STRIP_FORMS = ["${~%s}", "${%s~}", "${~ %s ~}"]
# The quoting forms the build emits (see supabase_init.quoting), each with
# what it does to a value. The guarded ones take only values without "$".
QUOTING_FORMS = {"${" + FORMS[kind].format("%s") + "}": kind for kind in FORMS}
GUARDED = {form for form, kind in QUOTING_FORMS.items() if kind.startswith("body")}


def quoted(kind: str | None, text: str) -> str:
    if kind in ("identifier", "body identifier"):
        return text.replace('"', '""')
    if kind == "literal":
        return text.replace("'", "''")
    if kind == "body literal identifier":
        return text.replace('"', '""').replace("'", "''")
    return text


@dataclass(frozen=True)
class BatchCase:
    segments: tuple[str, ...]  # literal text around the interpolations
    forms: tuple[str, ...]  # one "${...}" form per variable, with %s for its name
    values: tuple[Value, ...]

    @property
    def variables(self) -> dict[str, Value]:
        return {f"v{i}": value for i, value in enumerate(self.values)}

    @property
    def template(self) -> str:
        parts = [escape_literal(self.segments[0])]
        for i, (form, segment) in enumerate(zip(self.forms, self.segments[1:], strict=True)):
            parts.append(form % f"v{i}")
            parts.append(escape_literal(segment))
        return "".join(parts)

    @property
    def strips(self) -> bool:
        return any("~" in form for form in self.forms)

    @property
    def original(self) -> str:
        """The text the template stands for (meaningful without strip markers)."""
        parts = [self.segments[0]]
        for form, value, segment in zip(self.forms, self.values, self.segments[1:], strict=True):
            parts.append(quoted(QUOTING_FORMS.get(form), format_value(value)))
            parts.append(segment)
        return "".join(parts)


@st.composite
def batch_cases(draw: st.DrawFn) -> BatchCase:
    count = draw(st.integers(min_value=0, max_value=2))
    # A "$" right before "${" would read as the escape "$${": the build
    # refuses that text, so it is not part of the property.
    segments = [draw(SQL_TEXT.filter(lambda s: not s.endswith("$"))) for _ in range(count)]
    segments.append(draw(SQL_TEXT))
    # Literal ends, as the build's header gives: templatefile() of a
    # template that is only an interpolation is the value with its own type
    # (a number stays a number), and a leading byte order mark is dropped.
    segments[0] = "<" + segments[0]
    segments[-1] += ">"
    forms = [draw(st.sampled_from(PLAIN_FORMS + STRIP_FORMS + list(QUOTING_FORMS) * 2))
             for _ in range(count)]
    values = [draw(VALUES) for _ in range(count)]
    values = [format_value(v).replace("$", "") if f in GUARDED else v
              for f, v in zip(forms, values, strict=True)]
    return BatchCase(tuple(segments), tuple(forms), tuple(values))


def draw_batch(size: int) -> list[BatchCase]:
    """`size` cases drawn by hypothesis in one go, to be checked in one terraform run."""
    drawn: list[BatchCase] = []

    @settings(max_examples=size, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(batch_cases())
    def collect(case: BatchCase) -> None:
        drawn.append(case)

    collect()
    return drawn


def jinja_string(text: str) -> str:
    """A Jinja string literal for ``text``, with every character escaped exactly.

    Jinja turns newlines in template data into LF; inside a string literal
    the escapes survive, so the build sees CRLF and every other character.
    """
    out = []
    for ch in text:
        if " " <= ch <= "~" and ch not in "\\\"{}%#":
            out.append(ch)
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def copy_project(dest: Path) -> Path:
    """The repository's config and templates, and only its .tpl from terraform/.

    No tfvars file comes along: "defaults" must mean the config's defaults.
    """
    dest.mkdir()
    shutil.copy2(REPO / "supabase-init.hcl", dest / "supabase-init.hcl")
    shutil.copytree(REPO / "templates", dest / "templates")
    (dest / TPL).parent.mkdir()
    shutil.copy2(REPO / TPL, dest / TPL)
    return dest


@dataclass(frozen=True)
class Oracle:
    project: Path
    tfvars: Path
    parity: dict[str, bytes]  # templatefile() of the committed template, per case
    batch: list[BatchCase]
    batch_results: dict[str, str]
    built_project: Path
    built_block: str  # the text appended to the entry template
    built: bytes  # templatefile() of the freshly built template


def hcl_map(values: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) + " }"


def terraform(terraform_bin: str, workdir: Path, *args: str) -> bytes:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "empty.tfrc"),
           "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    proc = subprocess.run([terraform_bin, *args], cwd=workdir, env=env, capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc.stdout


@pytest.fixture(scope="module")
def oracle(terraform_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    root = tmp_path_factory.mktemp("parity")
    project = copy_project(root / "project")
    tfvars = root / "staging.tfvars"
    tfvars.write_text(TFVARS, encoding="utf-8")
    defaults = {v.name: format_value(v.default) for v in load_config(
        project / "supabase-init.hcl").variables if v.default is not None}

    # The real build path: the entry template gains escaped property text
    # around a var(), then `supabase-init build` writes the .tpl.
    batch = draw_batch(BATCH_SIZE)
    texts = [BUILT_TEXT] + [text for case in batch if not case.strips for text in case.segments
                            if "\ue000" not in text and "\ue001" not in text][:40]
    built_project = copy_project(root / "built")
    entry = project_entry_template(built_project)
    # Each text sits in a string literal, so that a var() after it is still in
    # a quoted identifier whatever the text holds.
    block = "-- property text\n" + "\n".join(
        f"'{{{{ {jinja_string(text)} | replace(\"'\", \"''\") }}}}'|\"{{{{ var('schema') }}}}\"|"
        for text in texts) + "\n"
    with entry.open("a", encoding="utf-8", newline="") as handle:
        handle.write(block)
    built_block = "-- property text\n" + "\n".join(
        "'" + text.replace("'", "''") + "'|\"crm\"|" for text in texts) + "\n"
    proc = run_cli("build", "--project", str(built_project))
    assert proc.returncode == 0, proc.stderr

    tf = root / "terraform"
    (tf / "batch").mkdir(parents=True)
    (tf / "empty.tfrc").write_text("", encoding="utf-8")
    cases = {}
    for i, case in enumerate(batch):
        (tf / "batch" / f"{i}.tpl").write_bytes(case.template.encode("utf-8"))
        cases[str(i)] = case.variables
    # JSON keeps every string exact and every number's decimal text.
    (tf / "batch.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    committed = json.dumps(str(project / TPL))
    outputs = [
        *(f'variable "{name}" {{\n  type = string\n}}\n' for name in defaults),
        'output "batch" {\n  value = {\n'
        '    for id, vars in jsondecode(file("${path.module}/batch.json")) :\n'
        '    id => templatefile("${path.module}/batch/${id}.tpl", vars)\n  }\n}\n',
        f'output "built" {{\n  value = templatefile({json.dumps(str(built_project / TPL))}, '
        f'{hcl_map({**defaults, "schema": "crm"})})\n}}\n',
    ]
    for case_id, (_, overrides) in PARITY_CASES.items():
        variables = ("{ " + ", ".join(f"{name} = var.{name}" for name in defaults) + " }"
                     if overrides is None else hcl_map({**defaults, **overrides}))
        outputs.append(f'output "{case_id}" {{\n  value = templatefile({committed}, '
                       f'{variables})\n}}\n')
    (tf / "main.tf").write_text("\n".join(outputs), encoding="utf-8")
    terraform(terraform_bin, tf, "apply", "-auto-approve", "-input=false", "-no-color",
              f"-var-file={tfvars}")
    batch_results = json.loads(terraform(terraform_bin, tf, "output", "-json", "batch"))
    # -raw prints the string's bytes exactly, with no newline added.
    parity = {case_id: terraform(terraform_bin, tf, "output", "-raw", case_id)
              for case_id in PARITY_CASES}
    built = terraform(terraform_bin, tf, "output", "-raw", "built")
    return Oracle(project=project, tfvars=tfvars, parity=parity, batch=batch,
                  batch_results=batch_results, built_project=built_project,
                  built_block=built_block, built=built)


def render_bytes(project: Path, args: list[str], out: Path) -> bytes:
    proc = run_cli("render", "--project", str(project), *args, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    return out.read_bytes()


@pytest.mark.parametrize("case_id", list(PARITY_CASES))
def test_render_is_byte_identical_to_templatefile(oracle: Oracle, case_id: str,
                                                  tmp_path: Path) -> None:
    args = [arg.format(tfvars=oracle.tfvars) for arg in PARITY_CASES[case_id][0]]
    rendered = render_bytes(oracle.project, args, tmp_path / "out.sql")
    expected = oracle.parity[case_id]
    assert rendered == expected
    assert len(expected) > 10_000 and b"CREATE TABLE IF NOT EXISTS" in expected


def test_the_value_sets_give_different_sql(oracle: Oracle) -> None:
    outputs = oracle.parity
    assert len(set(outputs.values())) == len(outputs)
    assert b'CREATE SCHEMA IF NOT EXISTS "crm";' in outputs["crm_lock_250ms"]
    assert b"SET LOCAL lock_timeout = '250ms';" in outputs["crm_lock_250ms"]
    assert b'CREATE SCHEMA IF NOT EXISTS "_a1";' in \
        outputs["underscore_schema_no_statement_timeout"]
    assert b"SET LOCAL statement_timeout = '0';" in \
        outputs["underscore_schema_no_statement_timeout"]
    assert b'"crm_staging".campaigns' in outputs["tfvars_file"]
    assert b"SET LOCAL lock_timeout = '1500ms';" in outputs["tfvars_file"]
    for output in outputs.values():
        for name in ("schema", "lock_timeout", "statement_timeout"):
            assert b"${" + name.encode() + b"}" not in output


def test_render_to_stdout_matches_templatefile(oracle: Oracle) -> None:
    # run_cli decodes stdout as text, which folds CRLF into LF; the committed
    # template has no CR, so the text compares exactly.
    expected = oracle.parity["defaults"]
    assert b"\r" not in expected
    proc = run_cli("render", "--project", str(oracle.project))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.encode("utf-8") == expected


def test_escaped_text_survives_terraform_and_render(oracle: Oracle) -> None:
    assert len(oracle.batch) >= BATCH_SIZE // 2
    failures = []
    plain = 0
    for i, case in enumerate(oracle.batch):
        by_terraform = oracle.batch_results[str(i)]
        by_render = evaluate(case.template, case.variables)
        expected = by_terraform if case.strips else unicodedata.normalize("NFC", case.original)
        plain += not case.strips
        if not by_terraform == by_render == expected:
            failures.append({"template": case.template, "variables": case.variables,
                             "terraform": by_terraform, "render": by_render,
                             "expected": expected})
    assert not failures, ascii(failures[:5])
    assert plain >= len(oracle.batch) // 2


def test_built_template_survives_terraform_and_render(oracle: Oracle, tmp_path: Path) -> None:
    rendered = render_bytes(oracle.built_project, ["-var", "schema=crm"], tmp_path / "out.sql")
    assert rendered == oracle.built
    text = rendered.decode("utf-8")
    assert text.endswith(unicodedata.normalize("NFC", oracle.built_block))
    assert unicodedata.normalize("NFC", BUILT_TEXT).replace("'", "''") + "'|\"crm\"|" in text
    assert b"\r\n$$ {% %}'|\"crm\"|" in rendered
    assert text.count('|"crm"|') >= 10


@pytest.mark.parametrize(("text", "message"), [
    ('{{ "a\\rb" }}', "a carriage return not followed by a line feed"),
    ('{{ "$" }}{{ var("schema") }}', 'a literal "\\$" directly before var'),
])
def test_build_refuses_text_no_template_can_hold(project: Path, text: str, message: str) -> None:
    tpl = project / TPL
    before = tpl.read_bytes()
    with project_entry_template(project).open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    proc = run_cli("build", "--project", str(project))
    assert proc.returncode == 1
    assert re.search(message, proc.stderr), proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert tpl.read_bytes() == before

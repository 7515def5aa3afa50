"""The Terraform module in terraform/: real `terraform` binary, real PostgreSQL, real psql.

Every run happens in a temporary copy of the module (or of a `project` copy),
so no .terraform directory or state ever lands in the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import string
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from apply_helpers import SessionThread
from catalog import catalog_fingerprint, user_schema_is_empty
from conftest import REPO, FreshDatabase, project_entry_template, run_cli
from supabase_init.config import load_config, pattern_matches, value_problem

MODULE = REPO / "terraform"

# The module's own inputs (where and how the script runs); every other variable
# must mirror supabase-init.hcl.
CONNECTION_VARIABLES = {"host", "port", "database", "user", "sslmode", "password", "psql_path"}
RUN_VARIABLES = {"reapply_on_every_apply", "concurrent_indexes"}
MODULE_ONLY_VARIABLES = CONNECTION_VARIABLES | RUN_VARIABLES
HCL_TYPES = {"string": "string", "number": "number", "bool": "bool"}

# Values for a non-default run, so parity covers the variables too.
CRM_VARIABLES = {"schema": "crm", "lock_timeout": "7s", "statement_timeout": "2min"}


# --------------------------------------------------------------------------
# drift guard: module variables vs the config's variable blocks


def _parse_hcl(path: Path) -> dict:
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                   with_comments=False)
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)


def _hcl_string_literal(text: str) -> str:
    """Decode the body of a quoted HCL string (escapes and $${ / %%{)."""
    escapes = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            out.append(escapes[text[i + 1]])
            i += 2
        elif text.startswith(("$${", "%%{"), i):
            out.append(text[i + 1:i + 3])
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _module_variables() -> dict[str, dict]:
    blocks = _parse_hcl(MODULE / "variables.tf")["variable"]
    return {name: body for block in blocks for name, body in block.items()}


# The validation that mirrors each `kind` of supabase-init.hcl, by the start of
# its error message; test_kind_validations_agree_with_the_config checks that
# the conditions decide as the config does.
KIND_VALIDATIONS = {"schema": "must not be a name PostgreSQL reserves",
                    "duration": "must not round to 0 ms"}


def _pattern_of(name: str, condition: str) -> str | None:
    """The pattern of a `can(regex("...", var.name))` condition, if it is one."""
    match = re.fullmatch(r'\$\{can\(regex\("((?:[^"\\]|\\.)*)", var\.' + name + r"\)\)\}",
                         condition)
    return _hcl_string_literal(match.group(1)) if match else None


def _validation_pattern(name: str, validations: list[dict]) -> str | None:
    """The pattern of the one `can(regex("...", var.name))` validation, if any."""
    patterns = [p for v in validations if (p := _pattern_of(name, v["condition"])) is not None]
    assert len(patterns) <= 1, f"variable {name!r}: expected at most one pattern validation"
    return patterns[0] if patterns else None


def _validation_kinds(name: str, validations: list[dict]) -> list[str]:
    """The kinds the other validations of a variable mirror, by their error message."""
    kinds = []
    for v in validations:
        if _pattern_of(name, v["condition"]) is not None:
            continue
        kind = next((k for k, text in KIND_VALIDATIONS.items()
                     if v["error_message"].startswith(f"The {name} {text}")), None)
        assert kind, f"variable {name!r}: a validation mirrors no pattern or kind: {v}"
        kinds.append(kind)
    return kinds


def test_module_variables_match_config_variables():
    config = load_config(REPO / "supabase-init.hcl")
    module = _module_variables()
    for name, body in module.items():
        assert body.get("type") and body.get("description"), \
            f"module variable {name!r} needs a type and a description"
    assert module.keys() >= MODULE_ONLY_VARIABLES
    template_variables = {n: b for n, b in module.items() if n not in MODULE_ONLY_VARIABLES}
    assert set(template_variables) == {v.name for v in config.variables}, \
        "terraform/variables.tf and supabase-init.hcl declare different template variables"
    for variable in config.variables:
        body = template_variables[variable.name]
        where = f"variable {variable.name!r} (supabase-init.hcl line {variable.line})"
        assert body["type"] == HCL_TYPES[variable.type], where
        assert body.get("description") == variable.description, where
        assert body.get("default") == variable.default, where
        assert _validation_pattern(variable.name, body.get("validation", [])) == \
            variable.pattern, where
        assert _validation_kinds(variable.name, body.get("validation", [])) == \
            ([variable.kind] if variable.kind else []), where

    # main.tf hands every template variable to templatefile(), by the same name.
    locals_ = {k: v for block in _parse_hcl(MODULE / "main.tf")["locals"] for k, v in block.items()}
    assert locals_["template_variables"] == {
        v.name: f"${{var.{v.name}}}" for v in config.variables}


def test_hcl_string_literal_decoding():
    assert _hcl_string_literal(r'^a\\d\"$${x}%%{y}$') == '^a\\d"${x}%{y}$'


# --------------------------------------------------------------------------
# helpers for real terraform runs




@pytest.fixture
def tf_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment for terraform: no user CLI config, no stray TF_VAR_ or PG* values."""
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_", "PG")) and k != "CHECKPOINT_DISABLE"}
    env.update(TF_CLI_CONFIG_FILE=str(cli_config), TF_IN_AUTOMATION="1", TF_INPUT="0",
               CHECKPOINT_DISABLE="1")
    return env


@pytest.fixture
def db_tf_env(tf_env: dict[str, str], server_url: str) -> dict[str, str]:
    """tf_env, plus the test server's password (if its URL has one) the recommended way:
    as PGPASSWORD in terraform's environment, inherited by psql."""
    from psycopg.conninfo import conninfo_to_dict

    password = conninfo_to_dict(server_url).get("password")
    return {**tf_env, "PGPASSWORD": str(password)} if password else tf_env


class Terraform:
    def __init__(self, binary: str, workdir: Path, env: Mapping[str, str]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.env = dict(env)

    def run(self, *args: str, env: Mapping[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        return subprocess.run([self.binary, command, "-no-color", *rest],
                              cwd=self.workdir, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.returncode == 0, f"terraform {args[0]} failed:\n{result.stdout}\n" \
                                       f"{result.stderr}"
        return result.stdout + result.stderr

    def init(self) -> str:
        return self.ok("init", "-input=false")

    def state_text(self) -> str:
        return "".join(p.read_text() for p in sorted(self.workdir.glob("terraform.tfstate*")))


def copy_module(dest: Path, source: Path = MODULE) -> Path:
    """A private copy of terraform/ (module + examples), without any local state."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return dest


def connection(db: FreshDatabase) -> dict[str, str]:
    """The module's connection inputs for one test database (TCP or Unix socket)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(db.url)
    return {"host": str(params.get("host") or "localhost"), "port": str(params.get("port") or 5432),
            "database": db.name, "user": str(params.get("user") or "postgres")}


def connection_args(db: FreshDatabase) -> list[str]:
    return _var_args(connection(db))


def _var_args(values: Mapping[str, str]) -> list[str]:
    return [arg for name, value in values.items() for arg in ("-var", f"{name}={value}")]


def _flat(text: str) -> str:
    """Terraform wraps diagnostics to its terminal width; compare word by word."""
    return " ".join(text.split())


# --------------------------------------------------------------------------
# acceptance checks


def test_invalid_template_variables_fail_at_plan(terraform_bin, tf_env, tmp_path):
    config = load_config(REPO / "supabase-init.hcl")
    bad = "Robert'); DROP TABLE students;--"
    patterned = [v for v in config.variables if v.pattern]
    assert patterned and not any(pattern_matches(v.pattern, bad) for v in patterned)
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), tf_env)
    tf.init()
    result = tf.run("plan", "-input=false", "-var", "host=localhost",
                    *_var_args({v.name: bad for v in patterned}))
    assert result.returncode == 1
    errors = _flat(result.stderr)
    for variable in patterned:
        assert f"The {variable.name} must match {variable.pattern}." in errors, result.stderr


MODULE_HOSTILE = ['public"; DROP TABLE x; --', "x'y", "$do$; SELECT 1; $do$", "a\nb",
                  "information_schema", "1us", "%{ if true }x%{ endif }"]


def test_hostile_module_variables_are_refused_by_terraform_apply(terraform_bin, db_tf_env,
                                                                 tmp_path, database):
    """The module's own variables (the Terraform channel): every hostile value stops
    terraform apply at its validation, before anything reaches the database."""
    config = load_config(REPO / "supabase-init.hcl")
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), db_tf_env)
    tf.init()
    for value in MODULE_HOSTILE:
        result = tf.run("apply", "-auto-approve", "-input=false", *connection_args(database),
                        *_var_args({v.name: value for v in config.variables}))
        assert result.returncode == 1, value
        assert "Invalid value for variable" in _flat(result.stderr), result.stderr
        assert "terraform_data" not in tf.state_text(), value
    assert database.scalar("SELECT count(*) FROM pg_catalog.pg_class AS c "
                           "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'public'") == 0


def test_apply_matches_cli_apply(terraform_bin, psql_bin, db_tf_env, tmp_path, database,
                                 other_database):
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), db_tf_env)
    tf.init()
    tf.ok("apply", "-auto-approve", "-input=false", *connection_args(database),
          *_var_args(CRM_VARIABLES))

    cli = run_cli("apply", "--quiet", "--database-url", other_database.url,
                  *_var_args(CRM_VARIABLES), cwd=REPO)
    assert cli.returncode == 0, cli.stderr
    terraform_catalog = catalog_fingerprint(database.url, schema="crm")
    assert terraform_catalog["relations"], "terraform apply created nothing"
    assert terraform_catalog == catalog_fingerprint(other_database.url, schema="crm")

    # Same bytes as `supabase-init render`, and the hash the module reports.
    rendered = run_cli("render", *_var_args(CRM_VARIABLES), cwd=REPO)
    assert rendered.returncode == 0, rendered.stderr
    assert tf.ok("output", "-raw", "sql") == rendered.stdout
    assert tf.ok("output", "-raw", "sql_sha256") == \
        hashlib.sha256(rendered.stdout.encode()).hexdigest()


# Values each kind must decide as PostgreSQL would (and as the config does):
# every one passes its variable's pattern, so only the kind can refuse it.
KIND_CORPUS = {
    "schema": ["public", "crm", "pg", "pgx", "pg_", "pg_temp", "pg_catalog",
               "information_schema", "information_schema2", "_pg_x"],
    "duration": ["0", "0us", "1us", "500us", "501us", "1", "5s", "5min", "999999999",
                 "999999999us", "35791min", "35792min", "596h", "597h", "2147483s",
                 "2147484s"],
}


def test_kind_validations_agree_with_the_config(terraform_bin, tf_env, tmp_path):
    config = load_config(REPO / "supabase-init.hcl")
    kinded = [v for v in config.variables if v.kind]
    assert {v.kind for v in kinded} == set(KIND_CORPUS)
    rounds = max(len(values) for values in KIND_CORPUS.values())
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), tf_env)
    tf.init()
    for i in range(rounds):
        # One plan checks one value of every kinded variable at once.
        values = {v.name: KIND_CORPUS[v.kind][(i + n) % len(KIND_CORPUS[v.kind])]
                  for n, v in enumerate(kinded)}
        result = tf.run("plan", "-input=false", "-var", "host=localhost", *_var_args(values))
        said = _flat(result.stderr)
        for variable in kinded:
            value = values[variable.name]
            assert pattern_matches(variable.pattern, value), value
            refused = value_problem(variable, value) is not None
            message = f"The {variable.name} {KIND_VALIDATIONS[variable.kind]}"
            assert (message in said) == refused, (variable.name, value, said)
        refused_any = any(value_problem(v, values[v.name]) for v in kinded)
        assert (result.returncode == 0) == (not refused_any), said


def test_one_schema_for_both_schema_variables_fails_at_plan(terraform_bin, tf_env, tmp_path):
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), tf_env)
    tf.init()
    result = tf.run("plan", "-input=false", "-var", "host=localhost",
                    *_var_args({"schema": "crm", "private_schema": "crm"}))
    assert result.returncode == 1
    assert "The private_schema must not be the same schema as schema." in _flat(result.stderr)


def _insert_rows(db: FreshDatabase) -> list[tuple]:
    db.execute("""
        INSERT INTO public.campaigns (name, status)
        VALUES ('spring', 'draft'), ('summer', 'active');
        INSERT INTO public.customer_activities (customer_id, activity_type)
        SELECT 'c-' || g, 'login' FROM generate_series(1, 5) g;""")
    return _rows(db)


def _rows(db: FreshDatabase) -> list[tuple]:
    with db.connect() as conn:  # type: ignore[attr-defined]
        campaigns = conn.execute(
            "SELECT id::text, name, status FROM public.campaigns ORDER BY name").fetchall()
        activities = conn.execute(
            "SELECT id::text, customer_id FROM public.customer_activities ORDER BY 1").fetchall()
    return campaigns + activities


def test_second_apply_no_changes_then_template_change_replaces(terraform_bin, psql_bin, db_tf_env,
                                                               project, database):
    tf = Terraform(terraform_bin, project / "terraform" / "examples" / "local", db_tf_env)
    tf.init()
    target = connection_args(database)
    first = tf.ok("apply", "-auto-approve", "-input=false", *target)
    # Quiet: Terraform does not print the provisioner's shell script.
    assert "set -eu" not in first and "ON_ERROR_STOP" not in first, first
    assert "Creation complete" in first
    rows = _insert_rows(database)

    again = tf.ok("apply", "-auto-approve", "-input=false", *target)
    assert "No changes." in again
    assert tf.run("plan", "-detailed-exitcode", "-input=false", *target).returncode == 0
    old_sha256 = tf.ok("output", "-raw", "sql_sha256")

    template = project / "templates" / "tables" / "campaigns.sql.j2"
    text = template.read_text()
    template.write_text(text.replace(
        '    ("completed_at", "timestamptz"),\n',
        '    ("completed_at", "timestamptz"),\n    ("priority", "integer NOT NULL DEFAULT 3"),\n'))
    assert template.read_text() != text
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr

    rendered = run_cli("render", "--project", str(project))
    assert rendered.returncode == 0, rendered.stderr
    new_sha256 = hashlib.sha256(rendered.stdout.encode()).hexdigest()
    plan = tf.run("plan", "-detailed-exitcode", "-input=false", *target)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "module.crm_database.terraform_data.this must be replaced" in plan.stdout
    assert f'~ sql_sha256 = "{old_sha256}" -> "{new_sha256}"' in plan.stdout, plan.stdout
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in plan.stdout

    tf.ok("apply", "-auto-approve", "-input=false", *target)
    assert database.scalar(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'public.campaigns'::regclass AND attname = 'priority'") == "integer"
    assert _rows(database) == rows
    assert database.scalar("SELECT count(*) FROM public.campaigns WHERE priority = 3") == 2


BROKEN_STATEMENT = ("INSERT INTO \"{{ var('schema') }}\".campaigns (no_such_column) "
                    "VALUES (1);\n")


@pytest.mark.parametrize(("credentials", "concurrent_indexes"), [
    ("environment", False), ("sensitive_variable", False), ("environment", True),
], ids=["environment", "sensitive_variable", "concurrent_indexes"])
def test_broken_sql_fails_with_psql_error_and_database_unchanged(
        terraform_bin, psql_bin, db_tf_env, project, database, credentials, concurrent_indexes):
    # After the schema, roles, functions and every table have been created.
    tables = load_config(project / "supabase-init.hcl").objects.tables
    template = project / "templates" / "tables" / f"{tables[-1]}.sql.j2"
    template.write_text(template.read_text() + BROKEN_STATEMENT)
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr
    rendered = run_cli("render", "--project", str(project))
    line = next(i for i, text in enumerate(rendered.stdout.splitlines(), 1)
                if "no_such_column" in text)
    assert rendered.stdout.count("CREATE TABLE", 0, rendered.stdout.index("no_such_column")) \
        == len(tables)

    password = f"pw-{uuid.uuid4().hex}-Broken"
    env = {"PGPASSWORD": password} if credentials == "environment" \
        else {"TF_VAR_password": password}
    before = catalog_fingerprint(database.url)
    tf = Terraform(terraform_bin, project / "terraform", db_tf_env)
    tf.init()
    result = tf.run("apply", "-auto-approve", "-input=false", *connection_args(database),
                    "-var", f"concurrent_indexes={str(concurrent_indexes).lower()}", env=env)
    output = result.stdout + result.stderr

    assert result.returncode == 1, output
    assert (f'psql:supabase-init.sql:{line}: ERROR: column "no_such_column" of relation '
            '"campaigns" does not exist') in _flat(output)
    assert catalog_fingerprint(database.url) == before
    assert user_schema_is_empty(database.url)
    assert password not in output and password not in tf.state_text()
    suppressed = "(output suppressed due to sensitive value in config)" in output
    assert suppressed == (credentials == "sensitive_variable")


def _random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size))


def test_one_mebibyte_script_applies(terraform_bin, psql_bin, db_tf_env, project, database):
    # ~1 MiB of statements that really run, with random (barely compressible)
    # text, so the SQL's path to psql carries about 1 MiB too.
    rng = random.Random(4)
    comments = [_random_text(rng, 1000) for _ in range(1100)]
    entry = project_entry_template(project)
    entry.write_text(entry.read_text() + "".join(
        f"COMMENT ON TABLE \"{{{{ var('schema') }}}}\".campaigns IS '{c}';\n" for c in comments))
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr
    rendered = run_cli("render", "--project", str(project))
    assert len(rendered.stdout.encode()) >= 1024 * 1024

    tf = Terraform(terraform_bin, project / "terraform" / "examples" / "local", db_tf_env)
    tf.init()
    tf.ok("apply", "-auto-approve", "-input=false", *connection_args(database))
    assert database.scalar("SELECT obj_description('public.campaigns'::regclass, 'pg_class')") \
        == comments[-1]
    assert tf.ok("output", "-raw", "sql_sha256") == \
        hashlib.sha256(rendered.stdout.encode()).hexdigest()


def test_oversized_script_fails_at_plan_with_a_clear_message(terraform_bin, tf_env, tmp_path):
    # Past what fits in a process environment: refused by the plan, not by
    # "argument list too long" halfway through an apply.
    module = copy_module(tmp_path / "terraform")
    rng = random.Random(2)
    (module / "supabase-init.sql.tpl").write_text(
        "".join(f"-- {_random_text(rng, 16000)}\n" for _ in range(110)))
    tf = Terraform(terraform_bin, module, tf_env)
    tf.init()
    result = tf.run("plan", "-input=false", "-var", "host=localhost")
    assert result.returncode == 1
    assert "The rendered SQL is too large to hand to psql" in _flat(result.stderr), result.stderr


def test_password_from_environment_never_shown_or_stored(terraform_bin, psql_bin, db_tf_env,
                                                         tmp_path, database):
    password = f"pw-{uuid.uuid4().hex}-Distinctive"
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), db_tf_env)
    tf.env["PGPASSWORD"] = password
    outputs = [tf.init()]
    target = connection_args(database)
    outputs.append(tf.ok("plan", "-input=false", *target))
    outputs.append(tf.ok("apply", "-auto-approve", "-input=false", *target))
    outputs.append(tf.ok("show"))
    assert "Apply complete! Resources: 1 added" in outputs[2]
    # The recommended route keeps psql's output visible.
    assert "(output suppressed" not in outputs[2]
    assert database.scalar("SELECT count(*) FROM pg_tables "
                           "WHERE schemaname IN ('public', 'crm_private')") == \
        len(load_config(REPO / "supabase-init.hcl").objects.tables)
    state = tf.state_text()
    assert '"sql_sha256"' in state
    for text in [*outputs, state]:
        assert password not in text


def test_for_each_provisions_two_databases(terraform_bin, psql_bin, db_tf_env, tmp_path, database,
                                           other_database):
    databases = {name: {**connection(db), "sslmode": "disable"}
                 for name, db in (("staging", database), ("production", other_database))}
    module = copy_module(tmp_path / "terraform")
    tf = Terraform(terraform_bin, module / "examples" / "multiple-databases", db_tf_env)
    tf.init()
    target = ["-var", f"databases={json.dumps(databases)}"]
    plan = tf.ok("plan", "-input=false", *target)
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan
    tf.ok("apply", "-auto-approve", "-input=false", *target)

    staging = catalog_fingerprint(database.url)
    assert staging["relations"], "nothing was created"
    assert catalog_fingerprint(other_database.url) == staging
    state = json.loads((tf.workdir / "terraform.tfstate").read_text())
    assert sorted(r["module"] for r in state["resources"] if r["type"] == "terraform_data") == \
        ['module.crm_database["production"]', 'module.crm_database["staging"]']
    assert tf.run("plan", "-detailed-exitcode", "-input=false", *target).returncode == 0


@pytest.mark.parametrize("reapply", [True, False], ids=["reapply", "default"])
def test_reapply_on_every_apply_heals_a_dropped_index(terraform_bin, psql_bin, db_tf_env, tmp_path,
                                                      database, reapply):
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"), db_tf_env)
    tf.init()
    target = [*connection_args(database), "-var", f"reapply_on_every_apply={str(reapply).lower()}"]
    tf.ok("apply", "-auto-approve", "-input=false", *target)
    index = "public.campaigns_status_idx"
    assert database.scalar("SELECT to_regclass(%s) IS NOT NULL", index)
    database.execute(f"DROP INDEX {index}")

    plan = tf.run("plan", "-detailed-exitcode", "-input=false", *target)
    again = tf.ok("apply", "-auto-approve", "-input=false", *target)
    if reapply:
        assert plan.returncode == 2, plan.stdout + plan.stderr
        assert "terraform_data.this must be replaced" in plan.stdout
        assert re.search(r'~ applied_at += "[0-9T:Z-]+" -> \(known after apply\)', plan.stdout), \
            plan.stdout
        assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in again
        assert database.scalar("SELECT to_regclass(%s) IS NOT NULL", index)
        assert run_cli("verify", "--database-url", database.url, cwd=REPO).returncode == 0
    else:
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "No changes." in again
        assert not database.scalar("SELECT to_regclass(%s) IS NOT NULL", index)


# --------------------------------------------------------------------------
# concurrent_indexes: an index added to a table that already holds rows


RECIPIENTS_TEMPLATE = Path("templates") / "tables" / "campaign_recipients.sql.j2"
SENT_AT_INDEX = "campaign_recipients_sent_at_idx"


def _change_recipients_template(project: Path, *, index: str = "", column: str = "") -> None:
    template = project / RECIPIENTS_TEMPLATE
    text = template.read_text()
    trigger = '{{- m.updated_at_trigger("campaign_recipients") }}\n'
    updated_at = '    ("updated_at", "timestamptz NOT NULL DEFAULT now()"),\n'
    assert trigger in text and updated_at in text
    template.write_text(text.replace(trigger, index + trigger).replace(updated_at,
                                                                       updated_at + column))
    built = run_cli("build", "--project", str(project))
    assert built.returncode == 0, built.stderr


def _fill_recipients(db: FreshDatabase, rows: int) -> str:
    """One campaign with `rows` recipients, each sent at a different time; its id."""
    with db.connect() as conn:  # type: ignore[attr-defined]
        campaign = conn.execute("INSERT INTO public.campaigns (name) VALUES ('launch') "
                                "RETURNING id::text").fetchone()[0]
        conn.execute("""
            INSERT INTO public.campaign_recipients (campaign_id, channel, sent_at)
            SELECT %s, 'email', timestamptz '2026-01-01' + g * interval '1 second'
            FROM generate_series(1, %s) AS g""", (campaign, rows))
    return str(campaign)


def _index_state(db: FreshDatabase, name: str) -> tuple | None:
    """(indisvalid, indisunique) of the schema's index `name`, or None when there is none."""
    with db.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute("""
            SELECT x.indisvalid, x.indisunique FROM pg_index AS x
            JOIN pg_class AS c ON c.oid = x.indexrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relname = %s""",
                            (name,)).fetchone()


def _invalid_indexes(db: FreshDatabase) -> int:
    return int(db.scalar("""
        SELECT count(*) FROM pg_index AS x JOIN pg_class AS c ON c.oid = x.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT x.indisvalid"""))  # type: ignore[arg-type]


class RecipientWriter(SessionThread):
    """Inserts a recipient every few milliseconds and times each insert. With a
    ``lock_timeout``, an insert that waits longer than that for a lock fails."""

    def __init__(self, url: str, campaign: str, lock_timeout: str = "0") -> None:
        super().__init__(url)
        self.campaign, self.lock_timeout = campaign, lock_timeout
        self.inserts: list[tuple[float, float]] = []  # (start, seconds)
        self.pid: int | None = None

    def session(self, conn: Any) -> None:
        conn.execute("SET statement_timeout = '60s'")
        conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)",
                     (self.lock_timeout,))
        self.pid = conn.info.backend_pid
        self.ready.set()
        while not self.stop.is_set():
            started = time.monotonic()
            conn.execute("INSERT INTO public.campaign_recipients (campaign_id, channel) "
                         "VALUES (%s, 'sms')", (self.campaign,))
            self.inserts.append((started, time.monotonic() - started))
            time.sleep(0.005)

    def finish(self) -> list[tuple[float, float]]:
        self.stop.set()
        self.join(timeout=120)
        if self.error is not None:
            raise self.error
        return self.inserts


HOLD_SECONDS = 1.5


def _release_when_apply_waits(url: str, holder: object, seen: dict, done: threading.Event,
                              queued_pid: int | None) -> None:
    """Once terraform's psql waits for a lock (and then the session `queued_pid`, if
    given, too), note what psql runs, keep `holder`'s transaction open HOLD_SECONDS
    longer, then commit it (at the latest when `done` is set)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.is_set() and not seen:
                row = conn.execute("""
                    SELECT query, wait_event FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'
                      AND application_name = 'supabase-init (terraform)'""").fetchone()
                if row:
                    # The writer's insert queued before the hold starts, so it waits the
                    # whole hold however late a loaded machine let the writer run.
                    while queued_pid is not None and not done.is_set() and not conn.execute(
                            "SELECT 1 FROM pg_stat_activity WHERE pid = %s "
                            "AND wait_event_type = 'Lock'", (queued_pid,)).fetchone():
                        time.sleep(0.02)
                    seen.update(query=row[0], wait_event=row[1], at=time.monotonic())
                    time.sleep(HOLD_SECONDS)
                else:
                    time.sleep(0.02)
    finally:
        holder.commit()  # type: ignore[attr-defined]
        seen["released"] = time.monotonic()


@pytest.mark.parametrize("concurrent", [True, False], ids=["concurrent_indexes", "default"])
def test_new_index_on_a_large_table_under_a_concurrent_writer(
        terraform_bin, psql_bin, db_tf_env, project, database, concurrent, record_property):
    import psycopg

    tf = Terraform(terraform_bin, project / "terraform", db_tf_env)
    tf.init()
    target = [*connection_args(database), "-var", f"concurrent_indexes={str(concurrent).lower()}"]
    tf.ok("apply", "-auto-approve", "-input=false", *target)
    campaign = _fill_recipients(database, 200_000)
    # Left to autovacuum, the new rows could have it vacuum or analyze the table
    # during the apply: the build would then wait for its lock first (wait_event
    # "relation"), which is the wait the releaser would see.
    database.execute("VACUUM ANALYZE public.campaign_recipients")
    _change_recipients_template(project, index=f'{{{{- m.index("{SENT_AT_INDEX}", '
                                               f'"campaign_recipients", "sent_at") }}}}\n')

    # A transaction that has written to the table and stays open while the
    # build starts. CREATE INDEX CONCURRENTLY waits for it without blocking
    # anyone; a plain CREATE INDEX queues for its SHARE lock, and every writer
    # queues behind that.
    holder = psycopg.connect(database.url)
    holder.execute("INSERT INTO public.campaign_recipients (campaign_id, channel) "
                   "VALUES (%s, 'push')", (campaign,))
    seen: dict = {}
    done = threading.Event()
    # Under CREATE INDEX CONCURRENTLY no insert may wait 1 s for a lock (a latency
    # bound would also count the time a loaded machine leaves the writer unscheduled).
    writer = RecipientWriter(database.url, campaign, lock_timeout="1s" if concurrent else "0")
    writer.start()
    assert writer.ready.wait(60) and writer.error is None, writer.error
    releaser = threading.Thread(
        target=_release_when_apply_waits,
        args=(database.url, holder, seen, done, None if concurrent else writer.pid), daemon=True)
    started = time.monotonic()
    try:
        releaser.start()
        result = tf.run("apply", "-auto-approve", "-input=false", *target)
        apply_seconds = time.monotonic() - started
        done.set()
        releaser.join(timeout=30)
        inserts = writer.finish()
    finally:
        holder.close()
    assert result.returncode == 0, result.stdout + result.stderr

    assert seen.get("query"), "terraform apply never waited for the open transaction"
    during_wait = [s for t, s in inserts if seen["at"] <= t <= seen["released"]]
    worst = max(s for _, s in inserts)
    record_property("apply_seconds", round(apply_seconds, 2))
    record_property("inserts", len(inserts))
    record_property("inserts_while_build_waited", len(during_wait))
    record_property("max_insert_seconds", round(worst, 3))
    if concurrent:
        assert seen["query"].startswith(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {SENT_AT_INDEX} "), seen
        assert seen["wait_event"] == "virtualxid", seen
        assert len(during_wait) >= 10, "the writer made no progress while the build waited"
        # And none waited 1 s for a lock: writer.finish() raised the lock timeout.
    else:
        # The same wait under a plain CREATE INDEX blocks the writer throughout:
        # what the 1 s lock_timeout above rules out.
        assert seen["wait_event"] == "relation", seen
        assert worst >= HOLD_SECONDS - 0.1, f"the longest insert took {worst:.3f} s"

    assert _index_state(database, SENT_AT_INDEX) == (True, False)
    assert _invalid_indexes(database) == 0
    assert database.scalar("SELECT count(*) FROM public.campaign_recipients") == \
        200_000 + 1 + len(inserts)
    verify = run_cli("verify", "--project", str(project), "--database-url", database.url)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_failed_concurrent_index_build_fails_apply_and_the_next_apply_finishes(
        terraform_bin, psql_bin, db_tf_env, project, database):
    import psycopg

    tf = Terraform(terraform_bin, project / "terraform", db_tf_env)
    tf.init()
    target = [*connection_args(database), "-var", "concurrent_indexes=true"]
    tf.ok("apply", "-auto-approve", "-input=false", *target)
    _fill_recipients(database, 1000)
    database.execute("""
        UPDATE public.campaign_recipients SET sent_at = timestamptz '2026-01-01'
        WHERE id IN (SELECT id FROM public.campaign_recipients ORDER BY sent_at LIMIT 2)""")
    _change_recipients_template(
        project, index=f'{{{{- m.index("{SENT_AT_INDEX}", "campaign_recipients", "sent_at", '
                       f'unique=true) }}}}\n',
        column='    ("priority", "integer"),\n')

    failed = tf.run("apply", "-auto-approve", "-input=false", *target)
    output = _flat(failed.stdout + failed.stderr)
    assert failed.returncode == 1, output
    assert f'ERROR: could not create unique index "{SENT_AT_INDEX}"' in output
    assert f"ERROR: the deferred build of index {SENT_AT_INDEX} failed (error above); " \
           "everything else is committed, and the next run builds the index again" in output
    # The invalid index the failed build left is dropped; the script's other
    # changes were committed before the build.
    assert _index_state(database, SENT_AT_INDEX) is None
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE "
                           "table_name = 'campaign_recipients' AND column_name = 'priority'") == 1

    # An invalid index left behind anyway (as when that cleanup cannot run) is
    # dropped and rebuilt by the next apply, once the duplicates are gone.
    with pytest.raises(psycopg.errors.UniqueViolation):
        database.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {SENT_AT_INDEX} "
                         "ON public.campaign_recipients (sent_at)")
    assert _index_state(database, SENT_AT_INDEX) == (False, True)
    database.execute("""
        DELETE FROM public.campaign_recipients
        WHERE id = (SELECT id FROM public.campaign_recipients
                    WHERE sent_at = timestamptz '2026-01-01' LIMIT 1)""")

    tf.ok("apply", "-auto-approve", "-input=false", *target)
    assert _index_state(database, SENT_AT_INDEX) == (True, True)
    assert _invalid_indexes(database) == 0
    verify = run_cli("verify", "--project", str(project), "--database-url", database.url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert tf.run("plan", "-detailed-exitcode", "-input=false", *target).returncode == 0

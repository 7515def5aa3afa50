"""A generated project with N tables, for scale tests and bench/.

It holds what any project holds, a config and object templates: the
repository's updated_at function and one small table template per table, plus
a config that lists every table, grants on all of them and a policy per table.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TABLE_TEMPLATE = """\
{{% import "_macros.sql.j2" as m %}}
{{{{ m.table("{name}", columns=[
    ("id", "bigint NOT NULL"),
    ("name", "text NOT NULL DEFAULT ''"),
    ("status", "text NOT NULL DEFAULT 'new'"),
    ("data", "jsonb NOT NULL DEFAULT '{{}}'::jsonb"),
    ("note", "text"),
    ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ("updated_at", "timestamptz NOT NULL DEFAULT now()"),
], constraints=[
    ("{name}_pkey", "PRIMARY KEY (id)"),
    ("{name}_status_check", "CHECK (status IN ('new', 'done'))"),
]) }}}}
"""
INDEX_TEMPLATE = """\
{{{{- m.index("{name}_status_idx", "{name}", "status") }}}}
"""
TRIGGER_TEMPLATE = """\
{{{{- m.updated_at_trigger("{name}") }}}}
"""


def table_names(count: int) -> list[str]:
    return [f"t{i:04d}" for i in range(1, count + 1)]


def _hcl_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def generate_project(dest: Path, tables: int,
                     roles: Sequence[str] = ("anon", "authenticated", "service_role"),
                     *, policies: bool = False, indexes: bool = True) -> Path:
    """Write a project with ``tables`` tables into ``dest`` and build its .tpl.

    Every table gets row level security, grants for the roles, an
    ``updated_at`` trigger, an index unless ``indexes`` is false and, with
    ``policies``, a policy of its own in the config (always true: lint blocks
    say so, and that tables without one are meant).
    """
    from supabase_init import api

    anon, user, service = roles
    names = table_names(tables)
    templates = dest / "templates"
    (templates / "tables").mkdir(parents=True, exist_ok=True)
    (templates / "functions").mkdir(exist_ok=True)
    shutil.copy2(REPO / "templates" / "functions" / "set_updated_at.sql.j2",
                 templates / "functions" / "set_updated_at.sql.j2")
    for name in names:
        text = TABLE_TEMPLATE + (INDEX_TEMPLATE if indexes else "") + TRIGGER_TEMPLATE
        (templates / "tables" / f"{name}.sql.j2").write_text(text.format(name=name))
    policy_blocks = "" if not policies else "".join(
        f'policy "{name}" "members_all" {{\n  roles = ["{user}"]\n  command = "ALL"\n'
        f'  using = "true"\n  with_check = "true"\n}}\n' for name in names)
    config = f"""\
variable "schema" {{
  type    = "string"
  default = "public"
  pattern = "^[a-z_][a-z0-9_]{{0,62}}$"
}}
variable "lock_timeout" {{
  type    = "string"
  default = "5s"
}}
variable "statement_timeout" {{
  type    = "string"
  default = "5min"
}}
role "{anon}" {{
  login      = false
  inherit    = true
  bypass_rls = false
}}
role "{user}" {{
  login      = false
  inherit    = true
  bypass_rls = false
}}
role "{service}" {{
  login      = false
  inherit    = true
  bypass_rls = true
}}
objects {{
  functions = ["set_updated_at()"]
  tables    = {_hcl_list(names)}
}}
grant "usage" {{
  roles      = ["{anon}", "{user}", "{service}"]
  privileges = ["USAGE"]
  schema     = true
}}
grant "service" {{
  roles      = ["{service}"]
  privileges = ["ALL"]
  tables     = ["*"]
}}
grant "members" {{
  roles      = ["{user}"]
  privileges = ["SELECT", "INSERT", "UPDATE"]
  tables     = ["*"]
}}
grant "trigger_function" {{
  roles      = ["{service}"]
  privileges = ["EXECUTE"]
  functions  = ["*"]
}}
lint "rls_enabled_no_policy" {{
  ignore = ["*"]
  reason = "generated tables: they get policies only with policies=True"
}}
lint "rls_policy_always_true" {{
  ignore = ["*"]
  reason = "the generated policies let every member in, on purpose"
}}
{policy_blocks}"""
    (dest / "supabase-init.hcl").write_text(config)
    (dest / "terraform").mkdir(exist_ok=True)
    api.write_template(api.Project.load(dest))
    return dest

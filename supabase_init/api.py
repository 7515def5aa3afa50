"""The public library API: what every command, the benchmarks and the tests call.

The pipeline, one call per step::

    project = Project.load(Path("."))                 # config + files, validated
    write_template(project)                            # stage 1: templates -> .tpl
    script = render(project, project.sources(...))     # stage 2: .tpl -> Script
    with TargetChoice(database_url).open() as target:  # a DSN or an embedded server
        result = apply(target, script)                 # or plan / verify
    report.apply_text(result, target)                  # what a command prints

Each function does one step and returns a value; none prints. Errors are
``SupabaseInitError`` subclasses (``errors``) with a one-line message.
Heavy modules (psycopg, Jinja, python-hcl2) are imported only by the steps
that need them, so ``render`` never loads psycopg.
"""

from __future__ import annotations

from pathlib import Path

from . import build, migration, savedplan, transaction
from .db import OnStatement, connect
from .dsn import redact_dsn
from .embedded import stop_kept_server
from .errors import SupabaseInitError
from .files import write_atomic
from .introspect import Change, Snapshot, snapshot_catalog
from .migration import MigrationResult
from .project import Project
from .render import Script, render_script
from .savedplan import SavedPlan, read_plan
from .sqlsplit import Statement, split_statements
from .target import (
    SUPABASE_LOCAL_DATABASE_URL,
    SUPABASE_LOCAL_DATABASE_URL_REDACTED,
    Target,
    TargetChoice,
)
from .transaction import HAZARD_ROWS, Comparison
from .variables import VariableSources

# A plan and an apply are the same comparison, committed or rolled back.
Plan = Comparison
ApplyResult = Comparison


def build_template(project: Project) -> str:
    """Stage 1: the Terraform template the config and templates give."""
    return build.build_template(project)


def write_template(project: Project) -> bool:
    """Build and write ``terraform/supabase-init.sql.tpl`` atomically; True if it changed."""
    return build.write_template(project)


def stale_diff(project: Project) -> str:
    """A unified diff from the committed ``.tpl`` to a fresh build ('' when current)."""
    return build.stale_diff(project)


def render(project: Project, sources: VariableSources | None = None, *,
           lock_timeout: str | None = None, statement_timeout: str | None = None,
           allow_stale: bool = False) -> Script:
    """Stage 2: the final SQL, as Terraform's ``templatefile()`` gives it.

    Fails when the committed ``.tpl`` is not what the config and templates
    build (it records a digest of its inputs), unless ``allow_stale``.
    ``lock_timeout`` / ``statement_timeout`` override the variables of those
    names (checked against their pattern), or are set for the transaction
    when the config declares no such variable.
    """
    if not allow_stale:
        build.require_current(project)
    return render_script(project, sources, {"lock_timeout": lock_timeout,
                                            "statement_timeout": statement_timeout})


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader sees the old file or the new one)."""
    try:
        write_atomic(path, text)
    except OSError as e:
        raise SupabaseInitError(f"{path}: cannot write: {e.strerror or e}") from e


def apply(target: Target, script: Script | SavedPlan, *,
          on_statement: OnStatement | None = None,
          concurrent_indexes: bool = False) -> ApplyResult:
    """Run ``script`` in one transaction and commit it; what it changed.

    A ``SavedPlan`` (``read_plan``) runs exactly its SQL, after checking, in
    the transaction and under the script's advisory lock, that the target is
    the database it was made on and its catalog has not changed since
    (``StalePlanError`` otherwise, nothing applied).
    ``concurrent_indexes``: an index the script would add to a table that
    holds rows is built after the commit with CREATE INDEX CONCURRENTLY
    instead (writes to the table go on meanwhile).
    """
    if isinstance(script, SavedPlan):
        if target.server is not None:
            raise SupabaseInitError("a saved plan applies to the database it was made on, "
                                    "not to --embedded")
        return transaction.run_and_compare(
            target.dsn, script.sql, schema=script.schema, roles=script.roles, commit=True,
            settings=script.settings, on_statement=on_statement,
            concurrent_indexes=concurrent_indexes, check=script.check(target.dsn))
    return _compare(target, script, commit=True, on_statement=on_statement,
                    concurrent_indexes=concurrent_indexes)


def plan(target: Target, script: Script, *, on_statement: OnStatement | None = None,
         out: Path | None = None) -> Plan:
    """What ``apply`` would change: the script run in a transaction that is rolled back.

    ``out``: also write a saved plan there (atomically, mode 0600) that
    ``apply`` can run later exactly as planned (``read_plan``).
    """
    if out is None:
        return _compare(target, script, commit=False, on_statement=on_statement)
    identities: list[savedplan.Identity] = []
    result = transaction.run_and_compare(
        target.dsn, script.sql, schema=script.schema, roles=script.roles, commit=False,
        settings=script.settings, on_statement=on_statement,
        check=lambda conn, _before: identities.append(
            savedplan.read_identity(conn, target.dsn)))
    saved = savedplan.make_saved_plan(
        sql=script.sql, schema=script.schema, roles=script.roles, settings=script.settings,
        variables=script.variables, identity=identities[0], before=result.before,
        changes=result.changes)
    try:
        savedplan.write_plan(out, saved)
    except OSError as e:
        raise SupabaseInitError(f"{out}: cannot write the plan: {e.strerror or e}") from e
    return result


def verify(target: Target, script: Script) -> Plan:
    """Drift: the plan; the database matches when it has no changes."""
    return plan(target, script)


def snapshot(target: Target, script: Script) -> Snapshot:
    """The catalog of the script's schema and roles as it is now (read only)."""
    with connect(target.dsn) as conn:
        return snapshot_catalog(conn, schema=script.schema, roles=script.roles)


def _compare(target: Target, script: Script, *, commit: bool,
             on_statement: OnStatement | None, concurrent_indexes: bool = False) -> Comparison:
    return transaction.run_and_compare(
        target.dsn, script.sql, schema=script.schema, roles=script.roles, commit=commit,
        settings=script.settings, on_statement=on_statement,
        concurrent_indexes=concurrent_indexes)


def write_migration(directory: Path, script: Script, *, force: bool = False) -> MigrationResult:
    """Write ``script`` as a Supabase CLI migration in ``directory`` when its SQL differs
    from the newest migration supabase-init wrote there (or always, with ``force``)."""
    return migration.write_migration(directory, script.sql, force=force)


def stop_embedded(directory: Path) -> None:
    """Stop the kept embedded server of ``directory`` (``apply --embedded --keep`` names it)
    and remove the directory with its data."""
    stop_kept_server(directory)


def versions() -> dict[str, str]:
    """The versions ``--version`` prints: this package, the libraries it runs on, libpq."""
    import platform
    from importlib import metadata

    from psycopg import pq

    from . import __version__

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    libpq = pq.version()
    return {"supabase-init": __version__, "python-hcl2": installed("python-hcl2"),
            "psycopg": installed("psycopg"), "libpq": f"{libpq // 10000}.{libpq % 100}",
            "jinja2": installed("jinja2"), "python": platform.python_version()}


def url_target(dsn: str) -> Target:
    """A target for a connection string (no server is started)."""
    return Target(dsn)


__all__ = ["HAZARD_ROWS", "SUPABASE_LOCAL_DATABASE_URL", "SUPABASE_LOCAL_DATABASE_URL_REDACTED",
           "ApplyResult", "Change", "Comparison", "MigrationResult", "SavedPlan", "read_plan",
           "stop_embedded", "versions", "write_migration",
           "Plan", "Project", "Script", "Snapshot", "Statement", "Target", "TargetChoice",
           "VariableSources", "apply", "build_template", "plan", "redact_dsn", "render",
           "snapshot", "split_statements", "stale_diff", "url_target", "verify",
           "write_file", "write_template"]

"""The public library API: what every command, the benchmarks and the tests call.

The pipeline, one call per step::

    project = Project.load(Path("."))                 # config + files, validated
    write_template(project)                            # stage 1: templates -> .tpl
    script = render(project, project.sources(...))     # stage 2: .tpl -> Script
    with TargetChoice(database_url).open() as target:  # a DSN or an embedded server
        result = apply(target, script)                 # or plan / verify / lint
    runs = plan_targets(project, project.sources(),    # several databases at once
                        choose_targets(urls, targets_file))  # (or lint_targets)
    report.apply_text(result, target)                  # what a command prints

Each function does one step and returns a value; none prints. Errors are
``SupabaseInitError`` subclasses (``errors``) with a one-line message.
Heavy modules (psycopg, Jinja, python-hcl2) are imported only by the steps
that need them, so ``render`` never loads psycopg; the database side of this
package (``transaction``, ``db``, ``introspect``, ``target``) is loaded on
first use of one of its names, so a command that needs no database does not
pay for importing it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# Where a project's templates find the engine's (a project may copy one to replace it).
from .engine import ENTRY_TEMPLATE as ENGINE_ENTRY_TEMPLATE  # noqa: F401
from .engine import TEMPLATES_DIR as ENGINE_TEMPLATES_DIR  # noqa: F401
from .errors import ApplyError, SupabaseInitError
from .files import write_atomic
from .project import Project
from .render import Script, render_script
from .variables import VariableSources

if TYPE_CHECKING:
    from . import transaction
    from .db import OnStatement
    from .dsn import redact_dsn
    from .introspect import Change, Snapshot
    from .lint import LEVELS, RULES, Finding, LintFailed, LintResult, Rule
    from .migration import MigrationResult
    from .savedplan import SavedPlan
    from .sqlsplit import Statement, split_statements
    from .target import (
        SUPABASE_LOCAL_DATABASE_URL,
        SUPABASE_LOCAL_DATABASE_URL_REDACTED,
        Interrupted,
        Target,
        TargetChoice,
    )
    from .targets import (
        PARALLELISM,
        TargetLint,
        TargetPlan,
        TargetRun,
        TargetSpec,
        any_changed,
        any_failing,
        choose_targets,
        load_targets,
    )
    from .transaction import HAZARD_ROWS, Comparison

    # A plan and an apply are the same comparison, committed or rolled back.
    Plan = Comparison
    ApplyResult = Comparison

# Names this module hands out from the database side, loaded on first use.
_LAZY = {"OnStatement": "db", "redact_dsn": "dsn", "Change": "introspect",
         "Snapshot": "introspect", "Statement": "sqlsplit", "split_statements": "sqlsplit",
         "SUPABASE_LOCAL_DATABASE_URL": "target",
         "SUPABASE_LOCAL_DATABASE_URL_REDACTED": "target", "Target": "target",
         "TargetChoice": "target", "Interrupted": "target",
         "HAZARD_ROWS": "transaction", "Comparison": "transaction",
         "Plan": "transaction", "ApplyResult": "transaction", "LEVELS": "lint",
         "RULES": "lint", "Finding": "lint", "LintFailed": "lint", "LintResult": "lint",
         "Rule": "lint", "PARALLELISM": "targets", "TargetLint": "targets",
         "TargetPlan": "targets", "TargetRun": "targets", "TargetSpec": "targets",
         "any_changed": "targets", "any_failing": "targets", "choose_targets": "targets",
         "load_targets": "targets", "run_targets": "targets",
         "MigrationResult": "migration", "SavedPlan": "savedplan", "read_plan": "savedplan"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    found = getattr(importlib.import_module(f"{__package__}.{module}"),
                    "Comparison" if name in ("Plan", "ApplyResult") else name)
    globals()[name] = found
    return found


def build_template(project: Project) -> str:
    """Stage 1: the Terraform template the config and templates give."""
    from . import build

    return build.build_template(project)


def write_template(project: Project) -> bool:
    """Build and write ``terraform/supabase-init.sql.tpl`` atomically; True if it changed."""
    from . import build

    return build.write_template(project)


def stale_diff(project: Project) -> str:
    """A unified diff from the committed ``.tpl`` to a fresh build ('' when current)."""
    from . import build

    return build.stale_diff(project)


def require_current(project: Project) -> None:
    """Fail unless the committed ``.tpl`` records the digest of the project's inputs
    (the check ``render`` makes; a build is run only to explain a failure).

    A missing ``.tpl`` is named as missing; a stale one whose build fails (a
    template the config names is missing, ...) gets the build's error, which
    names the file at fault, rather than "stale".
    """
    from . import build
    from .errors import RenderError

    if not project.tpl_path.is_file():
        raise RenderError("does not exist: run supabase-init build",
                          path=project.relative(project.tpl_path))
    try:
        build.require_current(project)
    except RenderError:
        build.build_template(project)  # raises the error that names the file at fault
        raise


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
        require_current(project)
    return render_script(project, sources, {"lock_timeout": lock_timeout,
                                            "statement_timeout": statement_timeout})


@contextlib.contextmanager
def sql_errors_located(project: Project, script: Script | SavedPlan) -> Iterator[None]:
    """A failing statement of ``script`` (``ApplyError``) raised inside the block names the
    template and line it came from, before the line of the rendered SQL."""
    try:
        yield
    except ApplyError as e:
        if e.line is None or e.statement_line is None:
            raise
        from .locate import SourceMap

        where = SourceMap(project).statement(script.sql.split("\n"), e.statement_line, e.line)
        prefix = f"line {e.statement_line}: "
        if where is None or not e.message.startswith(prefix):
            raise
        raise ApplyError(f"{where.path}:{where.line} (line {e.statement_line} of the rendered "
                         f"SQL): {e.message.removeprefix(prefix)}", line=e.line,
                         sqlstate=e.sqlstate, statement=e.statement,
                         server_message=e.server_message, hint=e.hint,
                         statement_line=e.statement_line) from e


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader sees the old file or the new one)."""
    try:
        write_atomic(path, text)
    except OSError as e:
        raise SupabaseInitError(f"{path}: cannot write: {e.strerror or e}") from e


def apply(target: Target, script: Script | SavedPlan, *,
          on_statement: OnStatement | None = None,
          concurrent_indexes: bool = False, lint_project: Project | None = None) -> ApplyResult:
    """Run ``script`` in one transaction and commit it; what it changed.

    A ``SavedPlan`` (``read_plan``) runs exactly its SQL, after checking, in
    the transaction and under the script's advisory lock, that the target is
    the database it was made on and its catalog has not changed since
    (``StalePlanError`` otherwise, nothing applied).

    ``concurrent_indexes``: an index the script would add to a table that
    holds rows is built after the commit with CREATE INDEX CONCURRENTLY
    instead (writes to the table go on meanwhile).

    ``lint_project``: lint the catalog inside the transaction, after the
    script and before the commit; an error finding raises ``LintFailed`` and
    nothing is committed (the result's ``inspected`` is the ``LintResult``).
    """
    from . import lint as linting
    from .savedplan import SavedPlan

    inspect = (linting.gate(lint_project, script.schema, schemas=script.schemas)
               if lint_project is not None else None)
    check = None
    if isinstance(script, SavedPlan):
        if target.server is not None:
            raise SupabaseInitError("a saved plan applies to the database it was made on, "
                                    "not to --embedded")
        check = script.check(target.dsn)
    return _compare(target, script, commit=True, on_statement=on_statement,
                    concurrent_indexes=concurrent_indexes, inspect=inspect, check=check)


def plan(target: Target, script: Script, *, on_statement: OnStatement | None = None,
         lint_project: Project | None = None, out: Path | None = None) -> Plan:
    """What ``apply`` would change: the script run in a transaction that is rolled back.

    ``lint_project``: also lint the planned state, in the same transaction
    (the result's ``inspected`` is the ``LintResult``; its findings are not
    located, a summary needs no file and line).

    ``out``: also write a saved plan there (atomically, mode 0600) that
    ``apply`` can run later exactly as planned (``read_plan``).
    """
    from . import lint as linting

    inspect = (linting.inspector(lint_project, script.schema, locate=False,
                                         schemas=script.schemas)
               if lint_project is not None else None)
    if out is None:
        return _compare(target, script, commit=False, on_statement=on_statement,
                        inspect=inspect)
    from . import savedplan

    identities: list[savedplan.Identity] = []
    result = _compare(target, script, commit=False, on_statement=on_statement,
                      inspect=inspect, check=lambda conn, _before: identities.append(
                          savedplan.read_identity(conn, target.dsn)))
    saved = savedplan.make_saved_plan(
        sql=script.sql, schema=script.schema, roles=script.roles,
        publications=script.publications, schemas=script.schemas, settings=script.settings,
        variables=script.variables, identity=identities[0], before=result.before,
        changes=result.changes)
    try:
        savedplan.write_plan(out, saved)
    except OSError as e:
        raise SupabaseInitError(f"{out}: cannot write the plan: {e.strerror or e}") from e
    return result


def lint(target: Target | None, script: Script, project: Project) -> LintResult:
    """The lint rules on the state ``script`` would leave on ``target``, rolled back.

    The script runs in a transaction, the rules read the catalog after its
    last statement, and the transaction is rolled back: the target is never
    changed. ``target`` None: the static forms of the rules only (the
    config, the templates and the rendered SQL; no database).
    """
    from . import lint as linting
    from . import transaction

    if target is None:
        return linting.static_result(project, script.sql, script.schema)
    run: transaction.ScriptRun[None] = transaction.run_in_transaction(
        target.dsn, script.sql, commit=False, settings=script.settings,
        inspect=linting.inspector(project, script.schema, schemas=script.schemas))
    assert isinstance(run.inspected, linting.LintResult)
    return dataclasses.replace(run.inspected, seconds=run.seconds, statements=run.statements)


def verify(target: Target, script: Script) -> Plan:
    """Drift: the plan; the database matches when it has no changes."""
    return plan(target, script)


def snapshot(target: Target, script: Script) -> Snapshot:
    """The catalog of the script's schema and roles as it is now (read only)."""
    from .db import connect
    from .introspect import snapshot_catalog

    with connect(target.dsn) as conn:
        return snapshot_catalog(conn, schema=script.schema, roles=script.roles,
                                publications=script.publications, schemas=script.schemas)


def _compare(target: Target, script: Script | SavedPlan, *, commit: bool,
             on_statement: OnStatement | None, concurrent_indexes: bool = False,
             inspect: transaction.Body | None = None,
             check: transaction.Check[Snapshot] | None = None) -> Comparison:
    from . import transaction

    return transaction.run_and_compare(
        target.dsn, script.sql, schema=script.schema, roles=script.roles,
        publications=script.publications, schemas=script.schemas, commit=commit,
        settings=script.settings, on_statement=on_statement,
        concurrent_indexes=concurrent_indexes, inspect=inspect, check=check)


def url_target(dsn: str) -> Target:
    """A target for a connection string (no server is started)."""
    from .target import Target

    return Target(dsn)


R = TypeVar("R")


def _on_targets(project: Project, sources: VariableSources, specs: Sequence[TargetSpec],
                job: Callable[[TargetSpec, Script], R], *, lock_timeout: str | None,
                statement_timeout: str | None, allow_stale: bool,
                parallelism: int | None) -> list[TargetRun[R]]:
    """Render each target's script (one after the other), then run ``job`` on the targets
    in parallel (``parallelism`` None: targets.PARALLELISM). A target that fails to render
    fails alone, like one that fails to run."""
    from .targets import PARALLELISM, run_targets

    if not allow_stale:
        require_current(project)
    overrides = {"lock_timeout": lock_timeout, "statement_timeout": statement_timeout}
    rendered: dict[str, Script | SupabaseInitError] = {}
    for spec in specs:
        try:
            rendered[spec.name] = render_script(project, spec.sources(sources), overrides)
        except SupabaseInitError as e:
            rendered[spec.name] = e

    def run(spec: TargetSpec) -> R:
        script = rendered[spec.name]
        if isinstance(script, SupabaseInitError):
            raise script
        return job(spec, script)

    return run_targets(specs, run, parallelism=PARALLELISM if parallelism is None else parallelism)


def plan_targets(project: Project, sources: VariableSources, specs: Sequence[TargetSpec], *,
                 lock_timeout: str | None = None, statement_timeout: str | None = None,
                 allow_stale: bool = False,
                 parallelism: int | None = None,
                 lint: bool = False) -> list[TargetRun[TargetPlan]]:
    """``plan`` on several databases, at most ``parallelism`` at once, in target order.

    Each target's script is rendered with the common ``sources`` and then its
    own variables (rendering happens here, one target after the other; only
    the database work runs in parallel). A target that fails to render or
    to plan carries its one-line error; the others are still planned.
    ``lint``: each plan also lints its planned state, as ``plan`` does with
    ``lint_project``.
    """
    from .target import Target
    from .targets import TargetPlan

    def job(spec: TargetSpec, script: Script) -> TargetPlan:
        return TargetPlan(script, plan(Target(spec.dsn), script,
                                       lint_project=project if lint else None))

    return _on_targets(project, sources, specs, job, lock_timeout=lock_timeout,
                       statement_timeout=statement_timeout, allow_stale=allow_stale,
                       parallelism=parallelism)


def lint_targets(project: Project, sources: VariableSources, specs: Sequence[TargetSpec], *,
                 lock_timeout: str | None = None, statement_timeout: str | None = None,
                 allow_stale: bool = False,
                 parallelism: int | None = None) -> list[TargetRun[TargetLint]]:
    """``lint`` on several databases, as ``plan_targets`` plans them."""
    from .target import Target
    from .targets import TargetLint

    def job(spec: TargetSpec, script: Script) -> TargetLint:
        return TargetLint(script, lint(Target(spec.dsn), script, project))

    return _on_targets(project, sources, specs, job, lock_timeout=lock_timeout,
                       statement_timeout=statement_timeout, allow_stale=allow_stale,
                       parallelism=parallelism)


def write_migration(directory: Path, script: Script, *, force: bool = False) -> MigrationResult:
    """Write ``script`` as a Supabase CLI migration in ``directory`` when its SQL differs
    from the newest migration supabase-init wrote there (or always, with ``force``)."""
    from . import migration

    return migration.write_migration(directory, script.sql, force=force)


def find_project_root(start: Path) -> Path | None:
    """``start`` or the nearest directory above it that holds ``supabase-init.hcl``, as git
    finds its repository; None when there is none."""
    from .project import CONFIG_FILE

    start = start.resolve()
    return next((d for d in (start, *start.parents) if (d / CONFIG_FILE).is_file()), None)


def stop_embedded(directory: Path) -> None:
    """Stop the kept embedded server of ``directory`` (``apply --embedded --keep`` names it)
    and remove the directory with its data."""
    from .embedded import stop_kept_server

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


__all__ = ["HAZARD_ROWS", "LEVELS", "PARALLELISM", "RULES", "SUPABASE_LOCAL_DATABASE_URL",
           "SUPABASE_LOCAL_DATABASE_URL_REDACTED", "ApplyResult", "Interrupted",
           "Change", "Comparison", "Finding", "LintFailed", "LintResult", "Plan", "Project",
           "Rule", "Script", "Snapshot", "Statement", "Target", "TargetChoice", "TargetLint",
           "TargetPlan",
           "TargetRun", "TargetSpec", "VariableSources", "any_changed", "any_failing", "apply",
           "build_template", "choose_targets", "lint", "lint_targets", "load_targets", "plan",
           "plan_targets", "require_current",
           "redact_dsn", "render", "snapshot", "split_statements", "stale_diff", "url_target",
           "verify", "write_file", "write_template", "find_project_root", "sql_errors_located"]

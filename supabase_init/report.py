"""Everything a command shows: apply, plan, verify and lint as text and JSON, error lines.

Pure formatting of result objects into strings (and the terminal progress
line, ``StatementProgress``); the CLI writes them out. The JSON documents'
keys are the stable interface described in docs/. Never touches a
database, never reads the config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .dsn import scrub
from .files import describe_os_error
from .introspect import ACTIONS, CHANGE, CREATE, REMOVE, Change, HeldLock
from .lint import ERROR, INFO, LEVELS, WARN, Finding, LintResult, Rule
from .progress import StatementProgress, terminal_escapes
from .transaction import HAZARD_ROWS

if TYPE_CHECKING:  # only annotations here: a command loads what it uses
    from .migration import MigrationResult
    from .savedplan import SavedPlan
    from .target import Target
    from .targets import TargetLint, TargetPlan, TargetRun, TargetSpec
    from .transaction import Comparison

# 2: plan / verify documents gained `locks` and `hazards`.
JSON_FORMAT_VERSION = 2
SYMBOLS = {CREATE: "+", CHANGE: "~", REMOVE: "-"}
_PLURALS = {"index": "indexes", "policy": "policies", "schema": "schemas"}
_ACTION_WORDS = {CREATE: "Created", CHANGE: "Changed", REMOVE: "Removed or revoked"}
_KIND_ORDER = ("role", "schema", "function", "procedure", "sequence", "table", "column",
               "constraint", "index", "trigger", "view", "materialized view", "policy", "grant",
               "publication", "published table")


def count_changes(changes: Sequence[Change]) -> dict[str, int]:
    """{"add": n, "change": n, "revoke": n} — the numbers of the summary line."""
    return {"add": sum(c.action == CREATE for c in changes),
            "change": sum(c.action == CHANGE for c in changes),
            "revoke": sum(c.action == REMOVE for c in changes)}


def summary_line(changes: Sequence[Change], label: str = "Plan") -> str:
    """``Plan: 3 to add, 1 to change, 2 to revoke.``"""
    n = count_changes(changes)
    return f"{label}: {n['add']} to add, {n['change']} to change, {n['revoke']} to revoke."


# --------------------------------------------------------------------------
# apply


def _kind_rank(kind: str) -> tuple[int, str]:
    return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), kind)


def _counted(kind: str, n: int) -> str:
    if n == 1:
        return f"1 {kind}"
    return f"{n} {_PLURALS.get(kind, kind + 's')}"


def stop_command(target: Target) -> str:
    """The one command that stops a kept embedded server and removes its data."""
    return "" if target.server is None else f"supabase-init embedded stop {target.server.root}"


def kept_server_notice(target: Target) -> str:
    """Said on stderr as soon as a kept embedded server is up."""
    return (f"Embedded PostgreSQL server (kept running): {target.display}\n"
            f"  stop it and remove its data with: {stop_command(target)}\n")


def _target_words(target: Target) -> str:
    return "a throwaway embedded server" if target.throwaway else target.display


def apply_text(result: Comparison, target: Target) -> str:
    """What apply changed, by action and kind, or ``No changes: ...``."""
    where = _target_words(target)
    counts = result.counts()
    if result.changed:
        lines = [f"Applied {result.statements} statements to {where} in "
                 f"{result.seconds:.2f} s."]
        for action, word in _ACTION_WORDS.items():
            kinds = counts.get(action)
            if kinds:
                lines.append(f"  {word}: " + ", ".join(
                    _counted(kind, kinds[kind]) for kind in sorted(kinds, key=_kind_rank)) + ".")
    else:
        lines = [f"No changes: {where} was already up to date ({result.statements} "
                 f"statements applied in {result.seconds:.2f} s)."]
    if result.built_concurrently:
        lines.append("  Built with CREATE INDEX CONCURRENTLY after the commit: "
                     + ", ".join(result.built_concurrently) + ".")
    if target.server is not None and target.kept:
        lines.append(f"Embedded server kept running: {target.display}")
        lines.append(f"  data: {target.server.pgdata}; stop it and remove its data with: "
                     f"{stop_command(target)}")
    return "\n".join(lines) + "\n"


def apply_json(result: Comparison, target: Target) -> str:
    """The ``apply --json`` document (docs/apply.md)."""
    counts = result.counts()
    server = target.server
    return json.dumps({
        "status": "applied",
        "changed": result.changed,
        "counts": {action: counts.get(action, {}) for action in ACTIONS},
        "changes": [c.as_dict() for c in result.changes],
        "statements": result.statements,
        "concurrent_indexes": list(result.built_concurrently),
        "seconds": round(result.seconds, 3),
        "database": target.display,
        "embedded": None if server is None else {
            "kept": target.kept, "url": target.display if target.kept else None,
            "pid": server.pid if target.kept else None,
            "pgdata": str(server.pgdata) if target.kept else None,
            "stop_command": stop_command(target) if target.kept else None},
    }, indent=2) + "\n"


# --------------------------------------------------------------------------
# plan and verify


def _grant_line(change: Change) -> str:
    target, _, grantee = change.name.rpartition(" to ")
    privileges = change.details[0] if change.details else ""
    return f"{SYMBOLS[change.action]} grant {privileges} on {target} to {grantee}"


def _item_lines(change: Change, indent: str) -> list[str]:
    if change.kind == "grant":
        return [indent + _grant_line(change)]
    head = f"{indent}{SYMBOLS[change.action]} {change.kind} {change.name}"
    details = list(change.details)
    if len(details) == 1 and change.action != CHANGE and "\n" not in details[0]:
        return [f"{head}: {details[0]}"]
    lines = [head]
    for detail in details:
        lines.extend(f"{indent}    {part}" for part in detail.splitlines() or [""])
    return lines


def format_changes(changes: Sequence[Change]) -> list[str]:
    """The changes grouped by the object they belong to, in display order."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.object or f"{change.kind} {change.name}", []).append(change)
    lines: list[str] = []
    for group, members in groups.items():
        own = [c for c in members if f"{c.kind} {c.name}" == group]
        rest = [c for c in members if c not in own]
        if own:
            for change in own:
                lines.extend(_item_lines(change, ""))
        else:
            lines.append(f"~ {group}")
        for change in rest:
            lines.extend(_item_lines(change, "    "))
        lines.append("")
    return lines


def _schemas(schema: str, schemas: Sequence[str]) -> str:
    """'schema "public"', or 'schemas "public" and "private"' when the objects are in more."""
    if len(schemas) < 2:
        return f'schema "{schema}"'
    quoted = [f'"{s}"' for s in schemas]
    return f"schemas {', '.join(quoted[:-1])} and {quoted[-1]}"


def plan_text(changes: Sequence[Change], *, schema: str, target: str,
              notes: Sequence[str] = (), lint: str | None = None,
              schemas: Sequence[str] = ()) -> str:
    """``plan``'s text: the changes grouped by object, ``notes`` (lines), the ``lint``
    summary line when given, the summary line."""
    lint_lines = [lint] if lint else []
    where = _schemas(schema, schemas)
    if not changes:
        return "\n".join([f"No changes: {where} at {target} match"
                          f"{'' if len(schemas) > 1 else 'es'} the config and templates.",
                          *lint_lines, summary_line(changes)]) + "\n"
    head = f"apply would make these changes to {where} at {target}:\n\n"
    return (head + "\n".join([*format_changes(changes), *notes, *lint_lines]) + "\n"
            + summary_line(changes) + "\n")


def verify_text(changes: Sequence[Change], *, schema: str, target: str,
                notes: Sequence[str] = (), schemas: Sequence[str] = ()) -> str:
    """``verify``'s text: ``No drift: ...``, or the drift, ``notes`` and the summary line."""
    where, plural = _schemas(schema, schemas), len(schemas) > 1
    if not changes:
        return (f"No drift: {where} at {target} match{'' if plural else 'es'} the config "
                "and templates.\n")
    head = (f"Drift: {where} at {target} differ{'' if plural else 's'} from the config and "
            "templates; apply would make these changes:\n\n")
    return (head + "\n".join([*format_changes(changes), *notes]) + "\n"
            + summary_line(changes, "Drift") + "\n")


def as_json(command: str, changes: Sequence[Change], *, schema: str,
            target: str, schemas: Sequence[str] = ()) -> dict[str, Any]:
    """The ``--json`` document of plan and verify (docs/plan-verify.md: "JSON output")."""
    if command == "verify":
        status = "drifted" if changes else "in_sync"
    else:
        status = "changes" if changes else "no_changes"
    return {
        "format_version": JSON_FORMAT_VERSION,
        "command": command,
        "status": status,
        "database": target,
        "schema": schema,
        "schemas": list(schemas or (schema,)),
        "summary": count_changes(changes),
        "changes": [c.as_dict() for c in changes],
    }


def lock_size(lock: HeldLock) -> str:
    """`` (about N rows, X MB)``, `` (empty, 0 bytes)``: a locked relation's size, for a line."""
    parts = []
    if lock.rows == 0 and lock.analyzed is None:
        parts.append("empty")
    elif lock.rows is not None:
        parts.append(f"about {lock.rows:,} rows" + (
            ", estimated from its size: never analyzed" if lock.analyzed is False else ""))
    if lock.bytes is not None:
        parts.append(f"{lock.bytes / 1e6:.1f} MB" if lock.bytes >= 100_000
                     else f"{lock.bytes:,} bytes")
    return f" ({', '.join(parts)})" if parts else ""


def lock_lines(result: Comparison, hazard_rows: int) -> list[str]:
    """The locks stronger than ACCESS SHARE the run took on relations that exist now,
    hazards marked; empty when it took none (a no-op takes none)."""
    locks = result.strong_locks
    if not locks:
        return []
    hazards = result.hazards(hazard_rows)
    lines = ["Locks apply would take (measured in the rolled-back transaction):"]
    for lock in locks:
        line = (f"  {lock.kind} {lock.schema}.{lock.name}: {', '.join(lock.modes)}"
                f"{lock_size(lock)}")
        if lock in hazards:
            line += (f"  HAZARD: blocks writes to a table of {hazard_rows:,}+ rows for the "
                     "length of the change")
        lines.append(line)
    return [*lines, ""]


def _lock_json(lock: HeldLock, hazards: Sequence[HeldLock]) -> dict[str, Any]:
    return {**lock.as_dict(), "hazard": lock in hazards}


def plan_document(command: str, result: Comparison, schema: str, target: str,
                  hazard_rows: int = HAZARD_ROWS) -> dict[str, Any]:
    """The ``--json`` document of one plan or verify: locks and hazards, and the lint
    counts when the planned state was linted."""
    document = as_json(command, result.changes, schema=schema, target=target,
                       schemas=result.before.schemas)
    hazards = result.hazards(hazard_rows)
    document["locks"] = [_lock_json(lock, hazards) for lock in result.strong_locks]
    document["hazards"] = [_lock_json(lock, hazards) for lock in hazards]
    if isinstance(result.inspected, LintResult):
        document["lint"] = {**result.inspected.counts(),
                            "suppressed": len(result.inspected.suppressed),
                            "accepted": len(result.inspected.accepted)}
    return document


def _plan_text(command: str, result: Comparison, schema: str, target: str,
               hazard_rows: int) -> str:
    if command == "plan":
        lint = (lint_summary_line(result.inspected, "`supabase-init lint` lists them")
                if isinstance(result.inspected, LintResult) else None)
        return plan_text(result.changes, schema=schema, target=target,
                         notes=lock_lines(result, hazard_rows), lint=lint,
                         schemas=result.before.schemas)
    return verify_text(result.changes, schema=schema, target=target,
                       notes=lock_lines(result, hazard_rows), schemas=result.before.schemas)


_COLORS = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m"}
_RESET = "\x1b[0m"


def use_color(stream: Any) -> bool:
    """Colour for ``stream``: a terminal only, and never with NO_COLOR set."""
    return terminal_escapes(stream)


def colorize(text: str) -> str:
    """Plan text with each ``+`` / ``~`` / ``-`` line in green / yellow / red."""
    lines = []
    for line in text.split("\n"):
        body = line.lstrip()
        color = _COLORS.get(body[:1]) if body[1:2] == " " else None
        lines.append(f"{color}{line}{_RESET}" if color else line)
    return "\n".join(lines)


def plan_report(command: str, result: Comparison, schema: str, target: Target,
                json_output: bool, hazard_rows: int = HAZARD_ROWS, color: bool = False) -> str:
    """What ``plan`` / ``verify`` print on stdout for ``result`` (``color``: for a
    terminal, see ``use_color``; never in JSON)."""
    where = _target_words(target)
    if json_output:
        return json.dumps(plan_document(command, result, schema, where, hazard_rows),
                          indent=2) + "\n"
    out = _plan_text(command, result, schema, where, hazard_rows)
    return colorize(out) if color else out


# --------------------------------------------------------------------------
# plan and verify on several targets

# (changed, unchanged) in each command's words.
_TARGET_STATES = {"plan": ("with changes", "no changes"), "verify": ("drifted", "in sync")}


def _target_heading(spec: TargetSpec) -> str:
    display = spec.display
    return f"# Target {spec.name}" + ("" if spec.name == display else f" ({display})")


def _status(command: str, changed: bool) -> str:
    if command == "verify":
        return "drifted" if changed else "in_sync"
    return "changes" if changed else "no_changes"


def _targets_summary(command: str, runs: Sequence[TargetRun[TargetPlan]]) -> str:
    changed_word, unchanged_word = _TARGET_STATES[command]
    changed = [r.spec.name for r in runs if r.result is not None and r.result.plan.changed]
    failed = [r.spec.name for r in runs if r.failed]
    unchanged = len(runs) - len(changed) - len(failed)
    parts = [f"{changed_word}: {len(changed)}" + (f" ({', '.join(changed)})" if changed else ""),
             f"{unchanged_word}: {unchanged}",
             f"failed: {len(failed)}" + (f" ({', '.join(failed)})" if failed else "")]
    return f"Targets: {len(runs)}; " + "; ".join(parts) + "."


def _target_json(command: str, run: TargetRun[TargetPlan], hazard_rows: int) -> dict[str, Any]:
    if run.result is None:
        return {"name": run.spec.name, "format_version": JSON_FORMAT_VERSION,
                "command": command, "status": "error", "database": run.spec.display,
                "error": run.error}
    return {"name": run.spec.name, **plan_document(
        command, run.result.plan, run.result.script.schema, run.spec.display, hazard_rows)}


def targets_report(command: str, runs: Sequence[TargetRun[TargetPlan]], json_output: bool,
                   hazard_rows: int = HAZARD_ROWS) -> str:
    """What ``plan`` / ``verify`` print for several targets: one section per target, in
    the order given, then a combined summary line (or one JSON document)."""
    changed = sum(r.result is not None and r.result.plan.changed for r in runs)
    failed = sum(r.failed for r in runs)
    if json_output:
        return json.dumps({
            "format_version": JSON_FORMAT_VERSION, "command": command,
            "status": "error" if failed else _status(command, bool(changed)),
            "summary": {"targets": len(runs), "changed": changed,
                        "unchanged": len(runs) - changed - failed, "failed": failed},
            "targets": [_target_json(command, run, hazard_rows) for run in runs],
        }, indent=2) + "\n"
    sections = []
    for run in runs:
        body = (error_line(run.error or "") + "\n" if run.result is None else _plan_text(
            command, run.result.plan, run.result.script.schema, run.spec.display, hazard_rows))
        sections.append(f"{_target_heading(run.spec)}\n{body}")
    return "\n".join([*sections, _targets_summary(command, runs)]) + "\n"


def targets_failure(runs: Sequence[TargetRun[Any]]) -> str | None:
    """The one error line's message when targets failed (None when none did)."""
    failed = [r.spec.name for r in runs if r.failed]
    if not failed:
        return None
    return f"{len(failed)} of {len(runs)} targets failed: {', '.join(failed)}"


def targets_warnings(runs: Sequence[TargetRun[TargetPlan] | TargetRun[TargetLint]]
                     ) -> list[str]:
    """The warnings of every target's rendering, each once, as warning lines."""
    seen: dict[str, None] = {}
    for run in runs:
        if run.result is not None:
            seen.update(dict.fromkeys(run.result.script.warnings))
    return [warning_line(w) for w in seen]


# --------------------------------------------------------------------------
# saved plans


def saved_plan_notice(path: str) -> str:
    """Said on stderr after ``plan -out FILE``."""
    return (f"Saved the plan to {path}. To apply exactly these changes, run: "
            f"supabase-init apply {path}\n")


def saved_plan_report(saved: SavedPlan, json_output: bool) -> str:
    """What ``show FILE`` prints: the saved plan as ``plan`` printed it, with where and
    when it was made (``--json``: plan's document plus ``saved_plan``)."""
    if json_output:
        document = as_json("plan", saved.changes, schema=saved.schema,
                           target=saved.identity.display, schemas=saved.schemas)
        document["saved_plan"] = {
            "created": saved.created, "supabase_init_version": saved.tool_version,
            "catalog_fingerprint": saved.fingerprint, "target": saved.identity.as_dict(),
            "variables": dict(saved.variables), "sql": saved.sql}
        return json.dumps(document, indent=2, default=str) + "\n"
    head = (f"Saved plan, made {saved.created or 'at an unknown time'} by supabase-init "
            f"{saved.tool_version} on {saved.identity.display} (catalog "
            f"{saved.fingerprint[:19]}).\n")
    if saved.variables:
        head += "Variables: " + ", ".join(f"{name} = {json.dumps(value, default=str)}"
                                          for name, value in sorted(saved.variables.items()))
        head += "\n"
    return head + "\n" + plan_text(saved.changes, schema=saved.schema,
                                   target=saved.identity.display, schemas=saved.schemas)


# --------------------------------------------------------------------------
# migrations


def migration_line(result: MigrationResult) -> str:
    """What ``migration`` says: the file it wrote, or that there was nothing to write."""
    if result.written is not None:
        return f"Wrote {result.written}\n"
    return (f"No changes: {result.previous} (the newest migration supabase-init wrote) "
            "holds this SQL; --force writes one anyway\n")


# --------------------------------------------------------------------------
# version


def version_text(versions: Mapping[str, str]) -> str:
    """``supabase-init 0.1.0`` then one ``  name version`` line per library."""
    items = list(versions.items())
    (name, version), rest = items[0], items[1:]
    return f"{name} {version}\n" + "".join(f"  {lib} {ver}\n" for lib, ver in rest)


# --------------------------------------------------------------------------
# errors


def error_line(message: str) -> str:
    """The one line every user-facing error is."""
    return f"Error: {message}"


def os_error_line(error: OSError) -> str:
    """An operating system error on a file (permissions, a full disk, ...): one line."""
    return error_line(describe_os_error(error))


def warning_line(message: str) -> str:
    """One warning on stderr (the command goes on)."""
    return f"Warning: {message}"


def unexpected_error_line(error: BaseException, argv: Sequence[str],
                          environ: Mapping[str, str] | None = None) -> str:
    """A bug, not a user error: still one line, and no password from any DSN given."""
    environ = os.environ if environ is None else environ
    message = " ".join(str(error).split())
    dsns = [environ.get("DATABASE_URL", "")]
    for i, arg in enumerate(argv):
        if arg == "--database-url" and i + 1 < len(argv):
            dsns.append(argv[i + 1])
        elif arg.startswith("--database-url="):
            dsns.append(arg.partition("=")[2])
    for dsn in dsns:
        message = scrub(message, dsn)
    return error_line(f"unexpected {type(error).__name__}: {message} (this is a bug; "
                      "set SUPABASE_INIT_DEBUG=1 for a traceback)")


# --------------------------------------------------------------------------
# lint

# 1: the first lint document.
LINT_FORMAT_VERSION = 1
LINT_FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL_HEADINGS = {ERROR: "Errors", WARN: "Warnings", INFO: "Notices"}
_LEVEL_WORDS = {ERROR: ("error", "errors"), WARN: ("warning", "warnings"),
                INFO: ("notice", "notices")}
_SARIF_LEVELS = {ERROR: "error", WARN: "warning", INFO: "note"}
_GITHUB_COMMANDS = {ERROR: "error", WARN: "warning", INFO: "notice"}


def lint_summary_line(result: LintResult, hint: str = "") -> str:
    """``Lint: 1 error, 0 warnings, 2 notices (1 suppressed).``; ``hint`` goes in the
    parentheses too."""
    counts = result.counts()
    parts = [f"{counts[level]} {_LEVEL_WORDS[level][counts[level] != 1]}" for level in LEVELS]
    notes = [f"{len(result.suppressed)} suppressed"] if result.suppressed else []
    notes += [f"{len(result.accepted)} accepted"] if result.accepted else []
    notes += [hint] if hint else []
    return f"Lint: {', '.join(parts)}" + (f" ({'; '.join(notes)})" if notes else "") + "."


def _where(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}" if finding.path else "(no source)"


def lint_text(result: LintResult, *, verbose: bool = False) -> str:
    """The findings grouped by level, most severe first, then the summary line."""
    state = ("the state apply would leave (run in a rolled-back transaction)"
             if result.mode == "planned" else "the config and templates (static rules only)")
    schemas = result.schemas or (result.schema,)
    named = ", ".join(f'"{schema}"' for schema in schemas)
    lines = [f"Lint of schema{'s' if len(schemas) > 1 else ''} {named}, {state}: "
             f"{len(result.rules)} rules.", ""]
    for level in LEVELS:
        found = [f for f in result.active if f.level == level]
        if not found:
            continue
        lines.append(f"{_LEVEL_HEADINGS[level]} ({len(found)}):")
        for f in found:
            lines.append(f"  {_where(f)}: {f.rule}: {f.object}: {f.message}")
            lines.append(f"      fix: {f.fix}")
        lines.append("")
    # Accepted findings are always shown: the team lives with them, knowingly.
    if result.accepted:
        lines.append(f"Accepted ({len(result.accepted)}):")
        for f in result.accepted:
            lines.append(f"  {_where(f)}: {f.rule} ({f.level}): {f.object}: {f.message}")
            lines.append(f"      accepted: {f.accepted}")
        lines.append("")
    if result.stale_accepts:
        lines.append("Accepted findings that no longer occur (remove them from the lint "
                     "block):")
        lines.extend(f"  {entry}" for entry in result.stale_accepts)
        lines.append("")
    if verbose and result.suppressed:
        lines.append(f"Suppressed ({len(result.suppressed)}):")
        for f in result.suppressed:
            lines.append(f"  {_where(f)}: {f.rule} ({f.level}): {f.object}: {f.message}")
            lines.append(f"      reason: {f.suppressed}")
        lines.append("")
    if verbose and result.unused_ignores:
        lines.append("Lint blocks that ignore nothing here (stale, or a misspelt object?):")
        lines.extend(f"  {entry}" for entry in result.unused_ignores)
        lines.append("")
    lines.append(lint_summary_line(result))
    return "\n".join(lines) + "\n"


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "level": rule.level, "category": rule.category,
            "title": rule.title, "description": rule.description, "fix": rule.fix,
            "origin": rule.origin, "static": rule.static}


def lint_json(result: LintResult, database: str | None, fail_on: str) -> str:
    """The ``lint --format json`` document (docs/lint.md)."""
    return json.dumps({
        "format_version": LINT_FORMAT_VERSION,
        "command": "lint",
        "mode": result.mode,
        "database": database,
        "schema": result.schema,
        "fail_on": fail_on,
        "failed": result.fails(fail_on),
        "schemas": list(result.schemas or (result.schema,)),
        "summary": {**result.counts(), "suppressed": len(result.suppressed),
                    "accepted": len(result.accepted)},
        "findings": [f.as_dict() for f in result.findings],
        "unused_suppressions": list(result.unused_ignores),
        "stale_accepts": list(result.stale_accepts),
        "rules": [_rule_json(rule) for rule in result.rules],
    }, indent=2) + "\n"


def lint_sarif(result: LintResult) -> str:
    """SARIF 2.1.0 for code scanning: one run, the rules as metadata, each finding at the
    template or config line its object comes from (paths relative to the project)."""
    from . import __version__

    index = {rule.id: i for i, rule in enumerate(result.rules)}
    others = tuple(f"{schema}." for schema in result.schemas[1:])
    results = []
    for f in result.findings:
        name = f.object.partition(" ")[2]
        location: dict[str, Any] = {"logicalLocations": [{
            "fullyQualifiedName": name if name.startswith(others) else f"{result.schema}.{name}",
            "kind": f.object.partition(" ")[0]}]}
        if f.path:
            location["physicalLocation"] = {
                "artifactLocation": {"uri": f.path, "uriBaseId": "PROJECTROOT"},
                "region": {"startLine": f.line or 1}}
        entry: dict[str, Any] = {
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": _SARIF_LEVELS[f.level],
            "message": {"text": f"{f.object}: {f.message}. Fix: {f.fix}"},
            "locations": [location],
            "partialFingerprints": {"supabaseInitObject/v1": f"{f.rule}:{f.object}"}}
        if f.suppressed is not None:
            entry["suppressions"] = [{"kind": "external", "justification": f.suppressed}]
        elif f.accepted is not None:
            entry["suppressions"] = [{"kind": "external", "status": "accepted",
                                      "justification": f.accepted}]
        results.append(entry)
    rules = [{
        "id": rule.id, "name": "".join(w.capitalize() for w in rule.id.split("_")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": _SARIF_LEVELS[rule.level]},
        "properties": {"tags": [rule.category], "origin": rule.origin}}
        for rule in result.rules]
    return json.dumps({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "supabase-init", "version": __version__,
                                "rules": rules}},
            "originalUriBaseIds": {"PROJECTROOT": {
                "description": {"text": "The project directory (supabase-init.hcl)"}}},
            "results": results,
        }],
    }, indent=2) + "\n"


def _github_escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def lint_github(result: LintResult) -> str:
    """GitHub Actions workflow commands, one annotation per finding, then the summary."""
    lines = []
    for f in result.active:
        props = [f"title={_github_escape(f.rule, property_value=True)}"]
        if f.path:
            props.insert(0, f"file={_github_escape(f.path, property_value=True)},"
                            f"line={f.line or 1}")
        lines.append(f"::{_GITHUB_COMMANDS[f.level]} {','.join(props)}::"
                     + _github_escape(f"{f.object}: {f.message}. Fix: {f.fix}"))
    lines.append(lint_summary_line(result))
    return "\n".join(lines) + "\n"


def lint_report(result: LintResult, output_format: str, *, database: str | None,
                fail_on: str, verbose: bool = False) -> str:
    """What ``lint`` prints on stdout in ``output_format`` (one of LINT_FORMATS)."""
    if output_format == "json":
        return lint_json(result, database, fail_on)
    if output_format == "sarif":
        return lint_sarif(result)
    if output_format == "github":
        return lint_github(result)
    return lint_text(result, verbose=verbose)


def _lint_target_json(run: TargetRun[TargetLint], fail_on: str) -> dict[str, Any]:
    if run.result is None:
        return {"name": run.spec.name, "format_version": LINT_FORMAT_VERSION,
                "command": "lint", "status": "error", "database": run.spec.display,
                "error": run.error}
    return {"name": run.spec.name,
            **json.loads(lint_json(run.result.lint, run.spec.display, fail_on))}


def lint_targets_report(runs: Sequence[TargetRun[TargetLint]], output_format: str, *,
                        fail_on: str, verbose: bool = False) -> str:
    """What ``lint`` prints for several targets: one section per target and a summary
    line (text), or one JSON document with a ``targets`` list. SARIF and workflow
    annotations point at template lines, the same for every target: text and json only."""
    failing = [r.spec.name for r in runs if r.result is not None
               and r.result.lint.fails(fail_on)]
    failed = [r.spec.name for r in runs if r.failed]
    if output_format == "json":
        return json.dumps({
            "format_version": LINT_FORMAT_VERSION, "command": "lint", "fail_on": fail_on,
            "failed": bool(failing), "error": bool(failed),
            "summary": {"targets": len(runs), "failing": len(failing),
                        "passing": len(runs) - len(failing) - len(failed),
                        "failed": len(failed)},
            "targets": [_lint_target_json(run, fail_on) for run in runs],
        }, indent=2) + "\n"
    sections = []
    for run in runs:
        body = (error_line(run.error or "") + "\n" if run.result is None
                else lint_text(run.result.lint, verbose=verbose))
        sections.append(f"{_target_heading(run.spec)}\n{body}")
    parts = [f"failing at --fail-on {fail_on}: {len(failing)}"
             + (f" ({', '.join(failing)})" if failing else ""),
             f"passing: {len(runs) - len(failing) - len(failed)}",
             f"failed: {len(failed)}" + (f" ({', '.join(failed)})" if failed else "")]
    return "\n".join([*sections, f"Targets: {len(runs)}; " + "; ".join(parts) + "."]) + "\n"


__all__ = ["JSON_FORMAT_VERSION", "LINT_FORMATS", "LINT_FORMAT_VERSION", "StatementProgress",
           "apply_json", "apply_text", "as_json", "colorize", "count_changes", "error_line",
           "format_changes", "kept_server_notice", "lint_github", "lint_json", "lint_report",
           "lint_sarif", "lint_summary_line", "lint_targets_report", "lint_text", "lock_lines",
           "migration_line", "plan_document", "plan_report", "plan_text", "saved_plan_notice",
           "saved_plan_report", "stop_command", "summary_line", "targets_failure",
           "targets_report", "targets_warnings", "unexpected_error_line", "use_color",
           "verify_text", "version_text"]

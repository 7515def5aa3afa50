"""Everything a command shows: apply, plan and verify as text and as JSON, error lines.

Pure formatting of result objects into strings (and the terminal progress
line, ``StatementProgress``); the CLI writes them out. The JSON documents'
keys are the stable interface described in the README. Never touches a
database, never reads the config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .dsn import scrub
from .files import describe_os_error
from .introspect import ACTIONS, CHANGE, CREATE, REMOVE, Change, HeldLock
from .migration import MigrationResult
from .progress import StatementProgress, terminal_escapes
from .savedplan import SavedPlan
from .target import Target
from .transaction import HAZARD_ROWS, Comparison

# 2: plan / verify documents gained `locks` and `hazards`.
JSON_FORMAT_VERSION = 2
SYMBOLS = {CREATE: "+", CHANGE: "~", REMOVE: "-"}
_PLURALS = {"index": "indexes", "policy": "policies", "schema": "schemas"}
_ACTION_WORDS = {CREATE: "Created", CHANGE: "Changed", REMOVE: "Removed or revoked"}
_KIND_ORDER = ("role", "schema", "function", "procedure", "sequence", "table", "column",
               "constraint", "index", "trigger", "view", "materialized view", "policy", "grant")


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


def apply_text(result: Comparison, target: Target) -> str:
    """What apply changed, by action and kind, or ``No changes: ...``."""
    where = "a throwaway embedded server" if target.throwaway else target.display
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
    """The ``apply --json`` document (README: "apply")."""
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


def plan_text(changes: Sequence[Change], *, schema: str, target: str,
              notes: Sequence[str] = ()) -> str:
    """``plan``'s text: the changes grouped by object, ``notes`` (lines), the summary line."""
    if not changes:
        return (f'No changes: schema "{schema}" at {target} matches the config and '
                f"templates.\n{summary_line(changes)}\n")
    head = f'apply would make these changes to schema "{schema}" at {target}:\n\n'
    return (head + "\n".join([*format_changes(changes), *notes]) + "\n"
            + summary_line(changes) + "\n")


def verify_text(changes: Sequence[Change], *, schema: str, target: str,
                notes: Sequence[str] = ()) -> str:
    """``verify``'s text: ``No drift: ...``, or the drift, ``notes`` and the summary line."""
    if not changes:
        return f'No drift: schema "{schema}" at {target} matches the config and templates.\n'
    head = (f'Drift: schema "{schema}" at {target} differs from the config and templates; '
            "apply would make these changes:\n\n")
    return (head + "\n".join([*format_changes(changes), *notes]) + "\n"
            + summary_line(changes, "Drift") + "\n")


def as_json(command: str, changes: Sequence[Change], *, schema: str,
            target: str) -> dict[str, Any]:
    """The ``--json`` document of plan and verify (README: "JSON output")."""
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
        "summary": count_changes(changes),
        "changes": [c.as_dict() for c in changes],
    }


def _size(lock: HeldLock) -> str:
    parts = []
    if lock.rows is not None:
        parts.append(f"about {lock.rows:,} rows")
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
                f"{_size(lock)}")
        if lock in hazards:
            line += (f"  HAZARD: blocks writes to a table of {hazard_rows:,}+ rows for the "
                     "length of the change")
        lines.append(line)
    return [*lines, ""]


def _lock_json(lock: HeldLock, hazards: Sequence[HeldLock]) -> dict[str, Any]:
    return {**lock.as_dict(), "hazard": lock in hazards}


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
    if json_output:
        document = as_json(command, result.changes, schema=schema, target=target.display)
        hazards = result.hazards(hazard_rows)
        document["locks"] = [_lock_json(lock, hazards) for lock in result.strong_locks]
        document["hazards"] = [_lock_json(lock, hazards) for lock in hazards]
        return json.dumps(document, indent=2) + "\n"
    text = plan_text if command == "plan" else verify_text
    out = text(result.changes, schema=schema, target=target.display,
               notes=lock_lines(result, hazard_rows))
    return colorize(out) if color else out


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
                           target=saved.identity.display)
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
                                   target=saved.identity.display)


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


__all__ = ["JSON_FORMAT_VERSION", "StatementProgress", "apply_json", "apply_text", "as_json",
           "colorize", "count_changes", "error_line", "format_changes", "kept_server_notice",
           "lock_lines", "migration_line", "plan_report", "plan_text", "saved_plan_notice",
           "saved_plan_report", "stop_command", "summary_line", "unexpected_error_line",
           "use_color", "verify_text", "version_text"]

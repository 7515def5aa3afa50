"""Plan and verify output: Terraform-style text, and the documented JSON shape.

Pure formatting of ``introspect.Change`` lists; the CLI prints the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .introspect import CHANGE, CREATE, REMOVE, Change, count_changes, summary_line

JSON_FORMAT_VERSION = 1
SYMBOLS = {CREATE: "+", CHANGE: "~", REMOVE: "-"}


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


def plan_text(changes: Sequence[Change], *, schema: str, target: str) -> str:
    if not changes:
        return (f'No changes: schema "{schema}" at {target} matches the config and '
                f"templates.\n{summary_line(changes)}\n")
    head = f'apply would make these changes to schema "{schema}" at {target}:\n\n'
    return head + "\n".join(format_changes(changes)) + "\n" + summary_line(changes) + "\n"


def verify_text(changes: Sequence[Change], *, schema: str, target: str) -> str:
    if not changes:
        return f'No drift: schema "{schema}" at {target} matches the config and templates.\n'
    head = (f'Drift: schema "{schema}" at {target} differs from the config and templates; '
            "apply would make these changes:\n\n")
    return head + "\n".join(format_changes(changes)) + "\n" + summary_line(changes, "Drift") + "\n"


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

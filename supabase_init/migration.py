"""Supabase CLI migrations: the rendered SQL as a timestamped file in supabase/migrations.

Teams that deploy with ``supabase db push`` get the script as a migration
named as the Supabase CLI names them (``<YYYYMMDDHHMMSS>_supabase_init.sql``,
UTC). A file is written only when the SQL differs from the newest migration
supabase-init wrote there (recognised by its name and its first line), unless
forced: the CLI runs each file once, so a forced file is how drift is healed
through ``db push``. Never prints, never touches a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import __version__
from .errors import SupabaseInitError
from .files import write_atomic

SUFFIX = "_supabase_init.sql"
MARKER = "-- supabase-init migration:"
_STAMP = "%Y%m%d%H%M%S"
_NAME = re.compile(r"^(\d{14})" + re.escape(SUFFIX) + "$")


def header() -> str:
    return (f"{MARKER} written by supabase-init {__version__} (`supabase-init migration`).\n"
            "-- Do not edit: change the config or the templates and run it again.\n")


@dataclass(frozen=True)
class MigrationResult:
    """What ``write_migration`` did: the file written, or None, and the newest one before."""

    written: Path | None
    previous: Path | None


def _body(text: str) -> str | None:
    """The SQL of a migration supabase-init wrote (None: not ours)."""
    if not text.startswith(MARKER):
        return None
    lines = text.split("\n", 2)
    return lines[2] if len(lines) == 3 else ""


def newest_own_migration(directory: Path) -> tuple[Path, str] | None:
    """The newest migration in ``directory`` that supabase-init wrote, and its SQL."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.iterdir(), key=lambda p: p.name, reverse=True):
        if not _NAME.match(path.name) or not path.is_file():
            continue
        try:
            body = _body(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if body is not None:
            return path, body
    return None


def _free_name(directory: Path, now: datetime) -> Path:
    """A name later than every migration there (the CLI applies them in name order)."""
    latest = max((m.group(1) for p in directory.iterdir() if (m := re.match(r"^(\d{14})_",
                                                                             p.name))),
                 default="")
    stamp = now.strftime(_STAMP)
    if stamp <= latest:
        try:
            stamp = (datetime.strptime(latest, _STAMP) + timedelta(seconds=1)).strftime(_STAMP)
        except ValueError:  # not a date (e.g. 99999999999999): our name must still sort last
            raise SupabaseInitError(f"{directory}: a migration is named {latest}_...; no later "
                                    "timestamp can be given to a new one") from None
    return directory / f"{stamp}{SUFFIX}"


def write_migration(directory: Path, sql: str, *, force: bool = False,
                    now: datetime | None = None) -> MigrationResult:
    """Write ``sql`` as a new migration unless the newest one of ours holds the same SQL."""
    previous = newest_own_migration(directory)
    if previous is not None and previous[1] == sql and not force:
        return MigrationResult(written=None, previous=previous[0])
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = _free_name(directory, now or datetime.now(UTC))
        write_atomic(path, header() + sql)
    except OSError as e:
        raise SupabaseInitError(f"{directory}: cannot write a migration: "
                                f"{e.strerror or e}") from e
    return MigrationResult(written=path, previous=None if previous is None else previous[0])


__all__ = ["MARKER", "SUFFIX", "MigrationResult", "newest_own_migration", "write_migration"]

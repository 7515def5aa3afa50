"""One exception hierarchy; every error carries a one-line, user-facing message.

The CLI is the only place that turns these into ``Error: ...`` and an exit
code. Messages never contain a password: DSNs pass through ``redact_dsn``
before they reach an exception.
"""

from __future__ import annotations

from pathlib import Path


class SupabaseInitError(Exception):
    """Root of every error the tool reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _where(path: Path | str | None, line: int | None) -> str:
    if path is None:
        return ""
    return f"{path}:{line}: " if line else f"{path}: "


class ConfigError(SupabaseInitError):
    """The HCL config is malformed or inconsistent."""

    def __init__(self, message: str, *, path: Path | str | None = None,
                 line: int | None = None) -> None:
        super().__init__(_where(path, line) + message)
        self.path = path
        self.line = line


class VariableError(SupabaseInitError):
    """A Terraform-time variable is missing, unknown or invalid."""


class RenderError(SupabaseInitError):
    """A Jinja template or a Terraform template could not be rendered."""

    def __init__(self, message: str, *, path: Path | str | None = None,
                 line: int | None = None) -> None:
        super().__init__(_where(path, line) + message)
        self.path = path
        self.line = line


class DatabaseError(SupabaseInitError):
    """Connecting to, or running SQL on, the database failed."""


class ConnectionFailed(DatabaseError):
    """The database could not be reached."""


class ApplyError(DatabaseError):
    """A statement of the script failed; the transaction was rolled back."""

    def __init__(self, message: str, *, line: int | None = None,
                 sqlstate: str | None = None, statement: str | None = None,
                 server_message: str | None = None, hint: str | None = None,
                 statement_line: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.statement_line = statement_line  # the failing statement's first line number
        self.sqlstate = sqlstate
        self.statement = statement  # the failing statement's first line
        self.server_message = server_message
        self.hint = hint


class EmbeddedServerError(DatabaseError):
    """The throwaway embedded PostgreSQL server could not be started."""


class PlanFileError(SupabaseInitError):
    """A saved plan file cannot be read: missing, corrupted, or of an unknown version."""


class StalePlanError(DatabaseError):
    """A saved plan no longer fits its target: another database, or a changed catalog."""

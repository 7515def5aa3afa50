"""Statements on PostgreSQL through psycopg: connect, run a script, explain a failure.

A script runs the way ``psql -v ON_ERROR_STOP=1`` runs it: one statement at
a time, inside the caller's transaction (so ``statement_timeout`` bounds each
statement, and an error points at its statement and line). Owns the
connection and the mapping of server errors (by SQLSTATE) to ``ApplyError``;
the transaction around a script is ``transaction``'s. Never prints, never
reads the config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .dsn import describe_target, redact_dsn, scrub
from .errors import ApplyError, ConnectionFailed, DatabaseError
from .sqlsplit import SplitError, Statement, split_statements

if TYPE_CHECKING:
    import psycopg

# Called just before statement number ``index`` (1-based) of ``total`` runs.
OnStatement = Callable[[int, int, Statement], None]

CONNECT_TIMEOUT_SECONDS = 10
_TIMEOUT_SETTINGS = ("lock_timeout", "statement_timeout")
_PLPGSQL_LINE = re.compile(r"inline_code_block line (\d+)")
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """Open a connection; ConnectionFailed says where it tried, never the password."""
    import psycopg

    # Keyword arguments override the DSN's own parameters: add only what it lacks.
    extra: dict[str, Any] = {}
    if "connect_timeout" not in dsn:
        extra["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if "application_name" not in dsn:
        extra["application_name"] = "supabase-init"
    try:
        return psycopg.connect(dsn, autocommit=autocommit, **extra)
    except psycopg.Error as e:
        reason = " ".join(scrub(str(e), dsn).split()) or type(e).__name__
        reason = reason.removeprefix("connection failed: ").rstrip(".")
        end = "" if reason.endswith("?") else "."
        raise ConnectionFailed(
            f"could not connect to PostgreSQL at {describe_target(dsn)} "
            f"({redact_dsn(dsn)}): {reason}{end} "
            f"{connection_hint(getattr(e, 'sqlstate', None), reason)}") from None
    except UnicodeDecodeError:
        # psycopg decodes percent-encoded parts as UTF-8 (a password of other
        # bytes fails there, before libpq sees it); say so without the text.
        raise ConnectionFailed(
            f"could not connect to PostgreSQL ({redact_dsn(dsn)}): a percent-encoded part of "
            "the connection string is not valid UTF-8") from None
    except ValueError as e:
        # E.g. a host name Python cannot encode for the resolver (IDNA).
        reason = " ".join(scrub(str(e), dsn).split()) or type(e).__name__
        raise ConnectionFailed(
            f"could not connect to PostgreSQL ({redact_dsn(dsn)}): the connection string "
            f"cannot be used: {reason}") from None


# What to do about a failed connection, by its cause (SQLSTATE, else libpq's words).
HINT_PASSWORD = ("Hint: the server refused these credentials: check the user name, and give "
                 "the password with PGPASSWORD, a password file (PGPASSFILE, ~/.pgpass) or a "
                 "service file (PGSERVICEFILE), not in --database-url")
HINT_DATABASE = ("Hint: that database does not exist on the server: create it (createdb NAME "
                 "or CREATE DATABASE) or check the database name in the connection string")
HINT_UNREACHABLE = ("Hint: nothing accepted the connection there: check the host and port and "
                    "that the server is running; give the database with --database-url (or "
                    "DATABASE_URL), or use --embedded for a throwaway local server")
HINT_TLS = ("Hint: a TLS problem: set sslmode in the connection string (sslmode=require to "
            "insist on TLS, sslmode=disable for a local server without it) and, to verify the "
            "server, sslrootcert")
HINT_OTHER = ("Hint: give the database with --database-url (or DATABASE_URL), or use "
              "--embedded for a throwaway local server")
_AUTH_WORDS = ("password authentication failed", "no password supplied", "authentication failed",
               "no pg_hba.conf entry", "role \"")
_TLS_WORDS = ("ssl", "tls", "certificate")
_UNREACHABLE_WORDS = ("connection refused", "could not translate host name", "timeout expired",
                      "no route to host", "network is unreachable", "no such file or directory",
                      "name or service not known", "could not connect to server")


def connection_hint(sqlstate: str | None, reason: str) -> str:
    """The hint that fits why a connection failed."""
    text = reason.lower()
    if sqlstate == "3D000" or ("database \"" in text and "does not exist" in text):
        return HINT_DATABASE
    if sqlstate in ("28P01", "28000") or any(w in text for w in _AUTH_WORDS):
        return HINT_PASSWORD
    if any(w in text for w in _TLS_WORDS):
        return HINT_TLS
    if any(w in text for w in _UNREACHABLE_WORDS):
        return HINT_UNREACHABLE
    return HINT_OTHER


def split_script(sql: str | Sequence[Statement]) -> list[Statement]:
    """The statements of a script (text is split as psql splits it)."""
    if not isinstance(sql, str):
        return list(sql)
    try:
        return split_statements(sql)
    except SplitError as e:
        raise ApplyError(f"the SQL cannot be split into statements: {e}",
                         line=e.line) from None


def execute_script(conn: psycopg.Connection[Any], sql: str | Sequence[Statement], *,
                   on_statement: OnStatement | None = None) -> int:
    """Run the statements of ``sql`` one by one inside the caller's transaction.

    ``conn`` must not be in autocommit mode unless a transaction is already
    open (psycopg opens one on the first statement otherwise). Returns the
    number of statements run. On the first failure raises ApplyError with the
    statement's line in ``sql``, its first line, the server's message,
    SQLSTATE and hint; the transaction is then aborted and the caller must
    roll back.
    """
    import psycopg
    from psycopg import pq

    if conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE:
        raise ValueError("execute_script needs an open transaction (autocommit is on)")
    statements = split_script(sql)
    total = len(statements)
    if not statements:
        return 0
    with conn.cursor() as cur:
        # Known timeouts make a timeout error say which limit was hit; they
        # cannot be read once the failed statement has aborted the transaction.
        timeouts = current_timeouts(cur)
        for index, stmt in enumerate(statements, start=1):
            if on_statement is not None:
                on_statement(index, total, stmt)
            try:
                # No parameters: psycopg sends the text as is (simple query
                # protocol), so '%' and '$1' in SQL bodies are not placeholders.
                cur.execute(stmt.text.encode(), prepare=False)
                if _changes_timeouts(stmt):
                    timeouts = current_timeouts(cur)
            except psycopg.Error as e:
                raise statement_error(e, stmt, timeouts) from None
    return total


def current_timeouts(cur: psycopg.Cursor[Any]) -> dict[str, str]:
    """The session's lock_timeout and statement_timeout, as the server prints them."""
    import psycopg

    try:
        cur.execute(b"SELECT pg_catalog.current_setting('lock_timeout'),"
                    b" pg_catalog.current_setting('statement_timeout')")
    except psycopg.Error as e:
        raise DatabaseError(f"could not read the session's timeouts: {e}") from None
    row = cur.fetchone()
    return {} if row is None else dict(zip(_TIMEOUT_SETTINGS, row, strict=True))


def _changes_timeouts(stmt: Statement) -> bool:
    head = stmt.text.lstrip()[:6].lower()
    return head.startswith(("set", "reset")) and "timeout" in stmt.text.lower()


def statement_error(e: Exception, stmt: Statement,
                    timeouts: Mapping[str, str] | None = None) -> ApplyError:
    """An ApplyError for a psycopg error raised by ``stmt``."""
    import psycopg
    from psycopg import errors

    timeouts = timeouts or {}
    diag = e.diag if isinstance(e, psycopg.Error) else None
    sqlstate = getattr(diag, "sqlstate", None)
    server = (getattr(diag, "message_primary", None) or str(e)).strip()
    hint = getattr(diag, "message_hint", None)
    detail = getattr(diag, "message_detail", None)
    line = _error_line(stmt, diag)

    if isinstance(e, errors.LockNotAvailable):
        limit = timeouts.get("lock_timeout")
        what = ("could not get a lock within lock_timeout"
                + (f" ({limit})" if limit else "")
                + ": another session holds a conflicting lock on an object this "
                  "statement needs")
    elif isinstance(e, errors.QueryCanceled) and "statement timeout" in server:
        limit = timeouts.get("statement_timeout")
        what = ("the statement ran longer than statement_timeout"
                + (f" ({limit})" if limit else ""))
    elif isinstance(e, errors.DeadlockDetected):
        what = "deadlock with another session"
    elif sqlstate is None:
        what = "lost the connection to the server"
    else:
        what = server
    message = f"line {stmt.line}: {stmt.first_line}"
    if line != stmt.line:
        message += f" (error at line {line})"
    message += f": {what}"
    if what != server:
        message += f" (server: {server})"
    if detail:
        message += f"; detail: {detail}"
    if sqlstate:
        message += f" [SQLSTATE {sqlstate}]"
    if hint:
        message += f"; hint: {hint}"
    return ApplyError(" ".join(message.split()), line=line, sqlstate=sqlstate,
                      statement=stmt.first_line, server_message=server, hint=hint,
                      statement_line=stmt.line)


def _error_line(stmt: Statement, diag: Any) -> int:
    """The script line the server points at, else the statement's first line."""
    position = getattr(diag, "statement_position", None)
    if position and str(position).isdigit():
        return stmt.line + stmt.text[:int(position) - 1].count("\n")
    context = getattr(diag, "context", None) or ""
    m = _PLPGSQL_LINE.search(context)
    quote = _DOLLAR_QUOTE.search(stmt.text)
    if m and quote:
        # PL/pgSQL counts lines from the start of the body string.
        return stmt.line + stmt.text[:quote.end()].count("\n") + int(m.group(1)) - 1
    return stmt.line


__all__ = ["OnStatement", "connect", "connection_hint", "current_timeouts", "execute_script",
           "split_script", "statement_error"]

"""Run provisioning SQL on PostgreSQL through psycopg: connect, execute, apply.

The script runs the way ``psql -v ON_ERROR_STOP=1 --single-transaction``
runs it: one transaction, one statement at a time (so ``statement_timeout``
bounds each statement, and an error points at its statement), commit only
when every statement succeeded.

Public entry points, kept stable for ``plan`` / ``verify``:

* ``connect(dsn)`` → a psycopg connection (not autocommit);
* ``execute_script(conn, sql, *, on_statement=None)`` → statements run, inside
  the caller's open transaction; raises ``ApplyError``;
* ``run_in_transaction(dsn, sql, *, commit, on_statement=None, snapshot=None,
  settings=None)`` → ``ScriptRun`` (snapshots before and after, in the same
  transaction; rolled back unless ``commit`` and everything succeeded);
* ``apply(dsn, sql, *, schema, roles, ...)`` → ``ApplyResult`` with the
  catalog changes, committed.

This module never prints.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .dsn import describe_target, redact_dsn, scrub
from .errors import ApplyError, ConnectionFailed, DatabaseError
from .sqlsplit import SplitError, Statement, split_statements

if TYPE_CHECKING:
    import psycopg

    from .introspect import Change

S = TypeVar("S")

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
            f"({redact_dsn(dsn)}): {reason}{end} Give the database with --database-url "
            "(or DATABASE_URL), or use --embedded for a throwaway local server") from None


def _statements(sql: str | Sequence[Statement]) -> list[Statement]:
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
    statements = _statements(sql)
    total = len(statements)
    if not statements:
        return 0
    with conn.cursor() as cur:
        # Known timeouts make a timeout error say which limit was hit; they
        # cannot be read once the failed statement has aborted the transaction.
        timeouts = _current_timeouts(cur)
        for index, stmt in enumerate(statements, start=1):
            if on_statement is not None:
                on_statement(index, total, stmt)
            try:
                # No parameters: psycopg sends the text as is (simple query
                # protocol), so '%' and '$1' in SQL bodies are not placeholders.
                cur.execute(stmt.text.encode())
                if _changes_timeouts(stmt):
                    timeouts = _current_timeouts(cur)
            except psycopg.Error as e:
                raise statement_error(e, stmt, timeouts) from None
    return total


def _current_timeouts(cur: psycopg.Cursor[Any]) -> dict[str, str]:
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
                      statement=stmt.first_line, server_message=server, hint=hint)


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


@dataclass
class ScriptRun(Generic[S]):
    """What ``run_in_transaction`` did."""

    statements: int
    seconds: float
    committed: bool
    before: S | None = None
    after: S | None = None
    result: Any = None  # what a callable body returned


def _is_preamble(stmt: Statement) -> bool:
    """A leading statement that only takes the advisory lock or sets a setting."""
    text = stmt.text.lstrip().lower()
    if text.startswith(("set ", "set\n", "reset ")):
        return True
    return "pg_advisory" in text and text.startswith(("select", "do"))


Body = Callable[["psycopg.Connection[Any]"], Any]


def run_in_transaction(target: str | psycopg.Connection[Any],
                       sql: str | Sequence[Statement] | Body, *, commit: bool,
                       on_statement: OnStatement | None = None,
                       snapshot: Callable[[psycopg.Connection[Any]], S] | None = None,
                       settings: Mapping[str, str] | None = None) -> ScriptRun[S]:
    """Run ``sql`` in one transaction; commit only if asked and everything succeeded.

    ``target`` is a DSN (a connection is opened and closed here) or an open
    psycopg connection with no transaction in progress (left open).
    ``sql`` is the script (text or split statements) or a callable that gets
    the connection and does its own work inside the transaction (its return
    value is ``ScriptRun.result``).

    ``settings`` are applied first with ``SET LOCAL`` semantics (the script's
    own ``SET LOCAL`` statements override them). ``snapshot``, when given, is
    called on the connection twice, in the same transaction: after the
    script's preamble (its leading advisory lock and ``SET`` statements, so a
    concurrent run that committed while this one waited is already visible)
    and after the last statement. With ``commit=False`` the transaction is
    always rolled back: that is how ``plan`` sees exactly what would change.
    """
    import psycopg
    from psycopg import pq
    from psycopg import sql as pgsql

    started = time.monotonic()
    body: Body | None = sql if callable(sql) else None
    statements = [] if callable(sql) else _statements(sql)
    split = 0
    while split < len(statements) and _is_preamble(statements[split]):
        split += 1
    total = len(statements)

    def offset(first: int) -> OnStatement | None:
        if on_statement is None:
            return None
        return lambda i, _n, stmt: on_statement(first + i, total, stmt)

    own = isinstance(target, str)
    conn = connect(target) if isinstance(target, str) else target
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise ValueError("run_in_transaction needs a connection with no open transaction")
    committed = False
    before = after = result = None
    try:
        with conn.cursor() as cur:
            if conn.autocommit:
                cur.execute(b"BEGIN")
            for name, value in (settings or {}).items():
                try:
                    cur.execute(pgsql.SQL("SELECT pg_catalog.set_config({}, {}, true)")
                                .format(pgsql.Literal(name), pgsql.Literal(value)))
                except psycopg.Error as e:
                    raise ApplyError(f"cannot set {name} to {value!r}: "
                                     f"{' '.join(str(e).split())}",
                                     sqlstate=getattr(e.diag, "sqlstate", None)) from None
        execute_script(conn, statements[:split], on_statement=offset(0))
        if snapshot is not None:
            before = _read_catalog(snapshot, conn)
        if body is not None:
            result = body(conn)
        execute_script(conn, statements[split:], on_statement=offset(split))
        if snapshot is not None:
            after = _read_catalog(snapshot, conn)
        if commit:
            _end(conn, b"COMMIT")
            committed = True
        else:
            _end(conn, b"ROLLBACK")
    except ApplyError as e:
        _rollback_quietly(conn)
        message = e.message
        if e.sqlstate == "55P03":
            holders = _lock_holders(conn)
            if holders:
                message += f"; locks held by other sessions: {holders}"
        if commit:
            message += " (rolled back: nothing was changed)"
        raise ApplyError(message, line=e.line, sqlstate=e.sqlstate, statement=e.statement,
                         server_message=e.server_message, hint=e.hint) from None
    except BaseException:
        _rollback_quietly(conn)
        raise
    finally:
        if own:
            conn.close()
    return ScriptRun(statements=total, seconds=time.monotonic() - started,
                     committed=committed, before=before, after=after, result=result)


def _read_catalog(snapshot: Callable[[psycopg.Connection[Any]], S],
                  conn: psycopg.Connection[Any]) -> S:
    import psycopg
    from psycopg import errors

    with conn.cursor() as cur:
        lock_timeout = _current_timeouts(cur).get("lock_timeout")
    try:
        return snapshot(conn)
    except psycopg.Error as e:
        sqlstate = getattr(e.diag, "sqlstate", None)
        # Deparsing a policy or a view (pg_get_expr, pg_get_viewdef) takes
        # ACCESS SHARE on the relation, so reading the catalog waits for a
        # session holding ACCESS EXCLUSIVE, bounded by the script's lock_timeout.
        if isinstance(e, errors.LockNotAvailable):
            message = (f"could not get a lock within lock_timeout ({lock_timeout}) while "
                       "reading the catalog: another session holds a conflicting lock")
        else:
            message = f"could not read the catalog: {' '.join(str(e).split())}"
        raise ApplyError(message + (f" [SQLSTATE {sqlstate}]" if sqlstate else ""),
                         sqlstate=sqlstate) from None


def _lock_holders(conn: psycopg.Connection[Any]) -> str:
    """Relations of this database other sessions hold locks on (best effort, for messages)."""
    import psycopg

    try:
        rows = conn.execute(
            "SELECT pg_catalog.format('%I.%I (%s, pid %s)', n.nspname, c.relname,"
            "                         l.mode, l.pid)"
            " FROM pg_catalog.pg_locks AS l"
            " JOIN pg_catalog.pg_class AS c ON c.oid = l.relation"
            " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE l.locktype = 'relation' AND l.granted"
            "   AND l.pid <> pg_catalog.pg_backend_pid()"
            "   AND l.database = (SELECT oid FROM pg_catalog.pg_database"
            "                     WHERE datname = pg_catalog.current_database())"
            "   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            "   AND n.nspname NOT LIKE 'pg\\_%'"
            " ORDER BY l.mode = 'AccessExclusiveLock' DESC, 1 LIMIT 4").fetchall()
        if not conn.autocommit:
            conn.rollback()
    except psycopg.Error:
        return ""
    return ", ".join(row[0] for row in rows)


def _end(conn: psycopg.Connection[Any], command: bytes) -> None:
    import psycopg

    try:
        if conn.autocommit:
            conn.execute(command)
        elif command == b"COMMIT":
            conn.commit()
        else:
            conn.rollback()
    except psycopg.Error as e:
        # A deferred constraint or a serialization failure surfaces at COMMIT.
        sqlstate = getattr(e.diag, "sqlstate", None)
        raise ApplyError(f"{command.decode()} failed: {' '.join(str(e).split())}"
                         + (f" [SQLSTATE {sqlstate}]" if sqlstate else ""),
                         sqlstate=sqlstate) from None


def _rollback_quietly(conn: psycopg.Connection[Any]) -> None:
    import psycopg

    try:
        if conn.closed:
            return
        if conn.autocommit:
            conn.execute(b"ROLLBACK")
        else:
            conn.rollback()
    except psycopg.Error:
        pass  # the connection is gone: the server rolls the transaction back itself


@dataclass
class ApplyResult:
    """The outcome of ``apply``: statements run, time taken, what changed."""

    statements: int
    seconds: float
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, dict[str, int]]:
        """{action: {kind: count}}, e.g. {"create": {"table": 6, "column": 48}}."""
        out: dict[str, dict[str, int]] = {}
        for change in self.changes:
            kinds = out.setdefault(change.action, {})
            kinds[change.kind] = kinds.get(change.kind, 0) + 1
        return out


def apply(dsn: str, sql: str | Sequence[Statement], *, schema: str, roles: Sequence[str],
          on_statement: OnStatement | None = None,
          settings: Mapping[str, str] | None = None) -> ApplyResult:
    """Apply ``sql`` in one committed transaction and report what it changed in
    ``schema`` and to ``roles`` (catalog snapshots before and after, same transaction)."""
    from .introspect import diff_snapshots, snapshot_catalog

    run = run_in_transaction(
        dsn, sql, commit=True, on_statement=on_statement, settings=settings,
        snapshot=lambda conn: snapshot_catalog(conn, schema=schema, roles=roles))
    assert run.before is not None and run.after is not None
    return ApplyResult(statements=run.statements, seconds=run.seconds,
                       changes=diff_snapshots(run.before, run.after))


__all__ = ["ApplyResult", "DatabaseError", "ScriptRun", "apply", "connect", "execute_script",
           "run_in_transaction", "statement_error"]

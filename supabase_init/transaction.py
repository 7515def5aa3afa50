"""One transaction around a script, with the catalog compared before and after.

The flow every database command shares: open a transaction, run the
script's preamble (its advisory lock and settings), snapshot the catalog,
run the rest, snapshot again, commit (``apply``) or roll back (``plan``,
``verify``), and diff the two snapshots. PostgreSQL DDL is transactional,
so a rolled-back run shows exactly what a committed one would change, on the
real target. Never prints, never reads the config.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .db import OnStatement, connect, current_timeouts, execute_script, split_script
from .errors import ApplyError
from .introspect import Change, Snapshot, diff_snapshots, snapshot_catalog
from .sqlsplit import Statement

if TYPE_CHECKING:
    import psycopg

S = TypeVar("S")


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
    statements = [] if callable(sql) else split_script(sql)
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
        lock_timeout = current_timeouts(cur).get("lock_timeout")
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


@dataclass(frozen=True)
class Comparison:
    """A script run in one transaction, and what it changed in the catalog."""

    statements: int
    seconds: float
    committed: bool
    before: Snapshot
    after: Snapshot
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


def run_and_compare(dsn: str, sql: str | Sequence[Statement], *, schema: str,
                    roles: Sequence[str], commit: bool,
                    settings: Mapping[str, str] | None = None,
                    on_statement: OnStatement | None = None) -> Comparison:
    """Snapshot ``schema`` and ``roles``, run ``sql``, snapshot again, commit or roll
    back, diff. With ``commit=False`` the database is never changed; a failing
    statement raises ApplyError either way."""

    def snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
        return snapshot_catalog(conn, schema=schema, roles=roles)

    run = run_in_transaction(dsn, sql, commit=commit, on_statement=on_statement,
                             snapshot=snapshot, settings=settings)
    assert run.before is not None and run.after is not None
    return Comparison(statements=run.statements, seconds=run.seconds,
                      committed=run.committed, before=run.before, after=run.after,
                      changes=diff_snapshots(run.before, run.after))

"""One transaction around a script, with the catalog compared before and after.

The flow every database command shares: open a transaction, run the
script's preamble (its advisory lock and settings), snapshot the catalog,
run the rest, snapshot again, commit (``apply``) or roll back (``plan``,
``verify``), and diff the two snapshots. PostgreSQL DDL is transactional,
so a rolled-back run shows exactly what a committed one would change, on the
real target. Never prints, never reads the config.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .engine.contract import ADVISORY_LOCK_CALL, DEFER_INDEX_BUILDS, DEFERRED_INDEXES
from .errors import ApplyError

if TYPE_CHECKING:
    import psycopg

    from .db import OnStatement
    from .introspect import Change, HeldLock, Snapshot
    from .sqlsplit import Statement

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
    # The relation locks the transaction held after its last statement.
    locks: list[HeldLock] = field(default_factory=list)
    inspected: Any = None  # what ``inspect`` returned


def _is_preamble(stmt: Statement) -> bool:
    """A leading statement that only takes the advisory lock or sets a setting."""
    text = stmt.text.lstrip().lower()
    if text.startswith(("set ", "set\n", "reset ")):
        return True
    return ADVISORY_LOCK_CALL in stmt.text and text.startswith(("select", "do"))


Body = Callable[["psycopg.Connection[Any]"], Any]
# Called inside the transaction before the script's own statements, with the
# catalog as it is then (see run_in_transaction).
Check = Callable[["psycopg.Connection[Any]", S | None], None]


def run_in_transaction(target: str | psycopg.Connection[Any],
                       sql: str | Sequence[Statement] | Body, *, commit: bool,
                       on_statement: OnStatement | None = None,
                       snapshot: Callable[[psycopg.Connection[Any]], S] | None = None,
                       settings: Mapping[str, str] | None = None,
                       inspect: Body | None = None,
                       check: Check[S] | None = None) -> ScriptRun[S]:
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

    ``inspect``, when given, is called on the connection after the last
    statement (and the second snapshot), before the commit or rollback: it
    reads the catalog as the script leaves it (its return value is
    ``ScriptRun.inspected``), and an exception it raises rolls back.

    ``check``, when given, is called with the connection and the first
    snapshot (None without ``snapshot``) right after it, under the script's
    advisory lock and before anything else of the script runs; raising
    there rolls everything back.
    """
    import psycopg
    from psycopg import pq
    from psycopg import sql as pgsql

    from .db import connect, execute_script, split_script
    from .introspect import Snapshot, read_locks

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
    before = after = result = inspected = None
    locks: list[HeldLock] = []
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
        if check is not None:
            check(conn, before)
        if body is not None:
            result = body(conn)
        execute_script(conn, statements[split:], on_statement=offset(split))
        locks = read_locks(conn, before if isinstance(before, Snapshot) else None)
        if snapshot is not None:
            after = _read_catalog(snapshot, conn)
        if inspect is not None:
            inspected = _read_catalog(inspect, conn)
        if commit:
            _end(conn, b"COMMIT")
            committed = True
        else:
            _end(conn, b"ROLLBACK")
    except ApplyError as e:
        _rollback_quietly(conn)
        message = e.message
        if e.sqlstate == "55P03":
            holders = _lock_holders(conn, advisory=ADVISORY_LOCK_CALL in (e.statement or ""))
            if holders:
                message += f"; {holders}"
        if commit:
            message += " (rolled back: nothing was changed)"
        raise ApplyError(message, line=e.line, sqlstate=e.sqlstate, statement=e.statement,
                         server_message=e.server_message, hint=e.hint,
                         statement_line=e.statement_line) from None
    except BaseException:
        _rollback_quietly(conn)
        raise
    finally:
        if own:
            conn.close()
    return ScriptRun(statements=total, seconds=time.monotonic() - started,
                     committed=committed, before=before, after=after, result=result,
                     locks=locks, inspected=inspected)


def _read_catalog(snapshot: Callable[[psycopg.Connection[Any]], S],
                  conn: psycopg.Connection[Any]) -> S:
    import psycopg
    from psycopg import errors

    from .db import current_timeouts

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


def _lock_holders(conn: psycopg.Connection[Any], *, advisory: bool = False) -> str:
    """Who holds the locks a statement could not get (best effort, for messages).

    ``advisory``: the statement waited for an advisory lock, the provisioning
    lock a script takes first; its holders are named by pid and
    application_name. Otherwise: relations of this database other sessions
    hold locks on. Runs after the rollback, in a transaction of its own with
    a short statement_timeout, so a message never waits long.
    """
    import psycopg

    this_database = ("(SELECT oid FROM pg_catalog.pg_database"
                     " WHERE datname = pg_catalog.current_database())")
    try:
        conn.execute("SELECT pg_catalog.set_config('statement_timeout', '2s', true)")
        if advisory:
            rows = conn.execute(
                "SELECT l.pid, coalesce(a.application_name, '')"
                " FROM pg_catalog.pg_locks AS l"
                " LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
                "   AND l.pid <> pg_catalog.pg_backend_pid()"
                f"  AND l.database = {this_database}"
                " ORDER BY l.pid LIMIT 4").fetchall()
        else:
            rows = conn.execute(
                "SELECT pg_catalog.format('%I.%I (%s, pid %s)', n.nspname, c.relname,"
                "                         l.mode, l.pid)"
                " FROM pg_catalog.pg_locks AS l"
                " JOIN pg_catalog.pg_class AS c ON c.oid = l.relation"
                " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE l.locktype = 'relation' AND l.granted"
                "   AND l.pid <> pg_catalog.pg_backend_pid()"
                f"  AND l.database = {this_database}"
                "   AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                "   AND n.nspname NOT LIKE 'pg\\_%'"
                " ORDER BY l.mode = 'AccessExclusiveLock' DESC, 1 LIMIT 4").fetchall()
        _rollback_quietly(conn)
    except psycopg.Error:
        _rollback_quietly(conn)
        return ""
    if not rows:
        return ""
    if not advisory:
        return "locks held by other sessions: " + ", ".join(row[0] for row in rows)
    holders = []
    for pid, application in rows:
        if application.startswith("supabase-init"):
            holders.append(f"another supabase-init run, pid {pid}, holds the provisioning lock")
        else:
            holders.append(f"pid {pid} ({application or 'no application_name'}) holds "
                           "an advisory lock of this database")
    return "; ".join(holders)


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


# A change that blocks writes to a table of at least this many rows (the
# planner's estimate) is a hazard: live traffic waits for its whole length.
HAZARD_ROWS = 10_000


@dataclass(frozen=True)
class Comparison:
    """A script run in one transaction, and what it changed in the catalog."""

    statements: int
    seconds: float
    committed: bool
    before: Snapshot
    after: Snapshot
    # Locks the run held on relations that existed before it (a relation it
    # creates is locked by its creation and matters to nobody else).
    locks: list[HeldLock] = field(default_factory=list)
    # Indexes built with CREATE INDEX CONCURRENTLY after the commit.
    built_concurrently: tuple[str, ...] = ()
    # What the ``inspect`` callable returned (e.g. the lint of the planned state).
    inspected: Any = None

    @functools.cached_property
    def changes(self) -> list[Change]:
        """What turns ``before`` into ``after``, in display order: diffed when first
        asked for, so a run whose changes nobody shows (``apply --quiet``) does not
        describe the 14,000 items a first apply of 1,000 tables creates."""
        from .introspect import diff_snapshots

        return diff_snapshots(self.before, self.after)

    @property
    def changed(self) -> bool:
        return bool(self.changes) or bool(self.built_concurrently)

    def counts(self) -> dict[str, dict[str, int]]:
        """{action: {kind: count}}, e.g. {"create": {"table": 6, "column": 48}}."""
        out: dict[str, dict[str, int]] = {}
        for change in self.changes:
            kinds = out.setdefault(change.action, {})
            kinds[change.kind] = kinds.get(change.kind, 0) + 1
        if self.built_concurrently:
            kinds = out.setdefault("create", {})
            kinds["index"] = kinds.get("index", 0) + len(self.built_concurrently)
        return out

    @property
    def strong_locks(self) -> list[HeldLock]:
        """Locks stronger than ACCESS SHARE (what plain reads take) on existing relations."""
        return [lock for lock in self.locks if lock.modes != ("AccessShareLock",)]

    def hazards(self, min_rows: int = HAZARD_ROWS) -> list[HeldLock]:
        """Write-blocking locks on tables of at least ``min_rows`` rows (never an empty one)."""
        return [lock for lock in self.strong_locks if lock.blocks_writes
                and lock.kind == "table" and lock.rows != 0 and (lock.rows or 0) >= min_rows]


_DEFERRED_QUERY = ("SELECT index_name, statement, cleanup"
                   f" FROM pg_temp.{DEFERRED_INDEXES} ORDER BY ord, step").encode()


def run_and_compare(dsn: str, sql: str | Sequence[Statement], *, schema: str,
                    roles: Sequence[str], commit: bool,
                    publications: Sequence[str] = (),
                    schemas: Sequence[str] = (),
                    settings: Mapping[str, str] | None = None,
                    on_statement: OnStatement | None = None,
                    concurrent_indexes: bool = False,
                    inspect: Body | None = None,
                    check: Check[Snapshot] | None = None) -> Comparison:
    """Snapshot ``schema`` (and the other ``schemas``) and ``roles``, run ``sql``,
    snapshot again, commit or roll
    back, diff. With ``commit=False`` the database is never changed; a failing
    statement raises ApplyError either way.

    ``concurrent_indexes`` (with ``commit``): the script queues the indexes it
    would build on tables that hold rows; after the commit each is built with
    CREATE INDEX CONCURRENTLY, one at a time, in the same session (writes go
    on meanwhile). A failed build drops the invalid index it left and raises
    ApplyError naming it; what was committed stays, and a re-run finishes.

    ``inspect`` reads the catalog after the script, before the commit or
    rollback (see ``run_in_transaction``); an exception from it means no commit.

    ``check``: as for ``run_in_transaction``, with the first snapshot.
    """

    from .db import connect
    from .introspect import snapshot_catalog

    def snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
        return snapshot_catalog(conn, schema=schema, roles=roles, publications=publications,
                                schemas=schemas)

    settings = dict(settings or {})
    if concurrent_indexes and commit:
        settings[DEFER_INDEX_BUILDS] = "on"
    with connect(dsn) as conn:
        run = run_in_transaction(conn, sql, commit=commit, on_statement=on_statement,
                                 snapshot=snapshot, settings=settings, inspect=inspect,
                                 check=check)
        built = (_build_deferred_indexes(conn, settings) if concurrent_indexes and commit
                 else ())
    assert run.before is not None and run.after is not None
    return Comparison(statements=run.statements, seconds=run.seconds,
                      committed=run.committed, before=run.before, after=run.after,
                      locks=run.locks, built_concurrently=built,
                      inspected=run.inspected)


def _build_deferred_indexes(conn: psycopg.Connection[Any],
                            settings: Mapping[str, str]) -> tuple[str, ...]:
    """Run the statements the script queued, each on its own (autocommit)."""
    import psycopg
    from psycopg import sql as pgsql

    conn.autocommit = True
    if conn.execute(f"SELECT pg_catalog.to_regclass('pg_temp.{DEFERRED_INDEXES}')"
                    " IS NOT NULL".encode()).fetchone() != (True,):
        return ()
    queued = conn.execute(_DEFERRED_QUERY).fetchall()
    conn.execute(f"TRUNCATE pg_temp.{DEFERRED_INDEXES}".encode())
    # The transaction's SET LOCAL timeouts ended with it: the builds get the
    # same bounds, for the session.
    for name in ("lock_timeout", "statement_timeout"):
        if name in settings:
            conn.execute(pgsql.SQL("SELECT pg_catalog.set_config({}, {}, false)").format(
                pgsql.Literal(name), pgsql.Literal(settings[name])))
    built: list[str] = []
    for index_name, statement, cleanup in queued:
        try:
            conn.execute(statement.encode())
        except psycopg.Error as e:
            reason = " ".join((getattr(e.diag, "message_primary", None) or str(e)).split())
            sqlstate = getattr(e.diag, "sqlstate", None)
            dropped = ""
            if cleanup:
                try:
                    conn.execute(cleanup.encode())
                    dropped = "; the invalid index it left was dropped"
                except psycopg.Error:
                    dropped = ("; the invalid index it left could not be dropped: "
                               "a re-run rebuilds it")
            done = f" (built before it: {', '.join(built)})" if built else ""
            raise ApplyError(
                f"building index {index_name} concurrently failed: {reason}"
                f"{f' [SQLSTATE {sqlstate}]' if sqlstate else ''}{dropped}. The rest of the "
                f"changes were committed{done}; run apply again to finish",
                sqlstate=sqlstate) from None
        if statement.lstrip().upper().startswith("CREATE"):
            built.append(index_name)
    return tuple(built)

"""Catalog snapshots of schemas, and the difference between two of them.

``snapshot_catalog`` reads everything the schemas consist of with a fixed
number of queries (``supabase_init/sql/*.sql``), whatever the object count.
Every item is keyed by kind and name and carries only comparable text:
no OIDs, sorted arrays, no PostgreSQL 18 NOT NULL constraint names, and no
``MAINTAIN`` that PostgreSQL 17+ adds to ``ALL`` (a ``MAINTAIN`` granted on
its own is kept, so it shows as drift). So two snapshots differ only where the schema
really differs, and ``diff_snapshots`` turns that into a list of changes.
Names are relative to the first schema, the API schema; an object of another
schema is named with its schema ("private.counts", "private.counts.total").

Owns the catalog queries and the comparison; running a script around the
snapshots is ``transaction``'s, showing the changes ``report``'s. Never prints.
"""

from __future__ import annotations

import difflib
import functools
import gc
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# One file per catalog area, run in this order.
QUERY_FILES = ("roles", "relations", "columns", "constraints", "indexes", "functions",
               "triggers", "policies", "grants", "publications")

# The kinds of item that are relations (pg_class rows) of the schema.
RELATION_KINDS = frozenset(("table", "view", "materialized view", "foreign table", "sequence",
                            "index"))

CREATE, CHANGE, REMOVE = "create", "change", "remove"
ACTIONS = (CREATE, CHANGE, REMOVE)

# Display order: an object's group first by kind, then the object itself,
# then what hangs off it.
_GROUP_ORDER = ("role", "schema", "function", "procedure", "sequence", "table",
                "foreign table", "view", "materialized view", "publication")
_ITEM_ORDER = ("role", "schema", "function", "procedure", "sequence", "table", "foreign table",
               "view", "materialized view", "column", "constraint", "index", "trigger",
               "policy", "grant", "publication", "published table")


@dataclass(frozen=True)
class Item:
    """One catalog object: kind ("table", "column", "grant", ...), name, attributes.

    ``raw`` is the attributes as JSON text, as the catalog query prints them
    (canonical: equal values print equally), so comparing items compares text
    and only the items that differ are ever parsed.
    """

    kind: str
    name: str
    parent: str | None
    raw: str

    @classmethod
    def of(cls, kind: str, name: str, parent: str | None, attrs: Mapping[str, Any]) -> Item:
        return cls(kind, name, parent, json.dumps(attrs, sort_keys=True))

    @functools.cached_property
    def attrs(self) -> dict[str, Any]:
        value = json.loads(self.raw) if self.raw else {}
        return value if isinstance(value, dict) else {}

    @property
    def object(self) -> str:
        """The object this item is listed under, e.g. "table campaigns"."""
        return self.parent or f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Snapshot:
    """Everything the schemas consist of, plus the managed roles, keyed by (kind, name)."""

    schema: str  # the API schema, which names are relative to
    roles: tuple[str, ...]
    items: Mapping[tuple[str, str], Item] = field(default_factory=dict)
    publications: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()  # every schema read, ``schema`` first

    def __post_init__(self) -> None:
        if not self.schemas:
            object.__setattr__(self, "schemas", (self.schema,))

    def __len__(self) -> int:
        return len(self.items)

    def get(self, kind: str, name: str) -> Item | None:
        return self.items.get((kind, name))

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.items if k == kind)

    def relation_names(self) -> list[str]:
        """The names of the schemas' relations (tables, views, sequences, indexes, ...)."""
        return sorted(name for k, name in self.items if k in RELATION_KINDS)


@dataclass(frozen=True)
class Change:
    """One difference: what apply would create, change or remove/revoke.

    ``name`` is schema-relative ("campaigns", "campaigns.status",
    "table campaigns to anon"); ``object`` is what it is listed under.
    """

    action: str
    kind: str
    name: str
    details: tuple[str, ...] = ()
    object: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "name": self.name,
                "object": self.object or f"{self.kind} {self.name}",
                "details": list(self.details)}


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Items and changes hold only strings and tuples of strings, so they form no
    reference cycles: the cyclic garbage collector has nothing to find among
    them, but creating tens of thousands would make it walk the heap over and over."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@functools.cache
def _query(name: str) -> str:
    """A catalog query, returning (kind, name, parent, attrs as jsonb text)."""
    return f"SELECT kind, name, parent, attrs::text FROM (\n{_plain_query(name)}\n) AS q"


def snapshot_catalog(conn: psycopg.Connection[Any], *, schema: str,
                     roles: Sequence[str], publications: Sequence[str] = (),
                     schemas: Sequence[str] = ()) -> Snapshot:
    """Read the catalog of ``schema`` and of the other ``schemas``, the roles'
    attributes and the publications with the schemas' tables they publish (a
    fixed number of queries).

    Runs in a savepoint (or a transaction when none is open) that is rolled
    back, so it changes nothing, not even the caller's settings. Catalog
    functions that print names (pg_get_indexdef, pg_get_viewdef, ...)
    qualify them according to search_path, so it is pinned to pg_catalog:
    snapshots taken before and after a script that sets its own read alike.
    """
    read = (schema, *(s for s in schemas if s != schema))
    params = {"schema": schema, "schemas": list(read), "roles": list(roles),
              "publications": list(publications)}
    items: dict[tuple[str, str], Item] = {}
    with _no_cyclic_gc(), conn.transaction(force_rollback=True):
        conn.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog', true)")
        for name in QUERY_FILES:
            rows = conn.execute(_query(name), params).fetchall()
            for kind, item_name, parent, raw in rows:
                items[(kind, item_name)] = Item(kind, item_name, parent, raw or "{}")
    return Snapshot(schema=schema, roles=tuple(roles), items=items,
                    publications=tuple(publications), schemas=read)


def read_items(conn: psycopg.Connection[Any], name: str, *, schema: str,
               schemas: Sequence[str] = (), roles: Sequence[str] = ()) -> list[Item]:
    """The items of one catalog area (``sql/<name>.sql``, one of QUERY_FILES), as a
    snapshot reads them, in ``schema`` and the other ``schemas`` (whose names carry
    their schema); run in the caller's transaction."""
    rows = conn.execute(_query(name), {"schema": schema, "schemas": [schema, *schemas],
                                       "roles": list(roles)}).fetchall()
    return [Item(kind, item_name, parent, raw or "{}") for kind, item_name, parent, raw in rows]


# --------------------------------------------------------------------------
# diff


_GROUP_RANK = {kind: rank for rank, kind in enumerate(_GROUP_ORDER)}
_ITEM_RANK = {kind: rank for rank, kind in enumerate(_ITEM_ORDER)}
_MULTI_WORD_GROUPS = tuple(kind for kind in _GROUP_ORDER if " " in kind)


@functools.lru_cache(maxsize=4096)
def _group_order(obj: str) -> tuple[int, str]:
    """(rank of the object's kind, its name) for an ``Item.object``."""
    group_kind, _, group_name = obj.partition(" ")
    if group_kind not in _GROUP_RANK:  # "materialized view x", "foreign table x"
        for known in _MULTI_WORD_GROUPS:
            if obj.startswith(known + " "):
                group_kind, group_name = known, obj[len(known) + 1:]
    return _GROUP_RANK.get(group_kind, len(_GROUP_ORDER)), group_name


def _order(item: Item) -> tuple[Any, ...]:
    rank, group_name = _group_order(item.object)
    return (rank, group_name, _ITEM_RANK.get(item.kind, len(_ITEM_ORDER)), item.name)


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in sorted(value.items()))
    return str(value)


def _describe(item: Item) -> tuple[str, ...]:
    """A one-line description of an item that is created or removed."""
    a = item.attrs
    if item.kind == "role":
        return (" ".join(("LOGIN" if a.get("login") else "NOLOGIN",
                          "INHERIT" if a.get("inherit") else "NOINHERIT",
                          "BYPASSRLS" if a.get("bypass_rls") else "NOBYPASSRLS")),)
    if item.kind == "column":
        parts = [str(a.get("type"))]
        if a.get("not_null"):
            parts.append("NOT NULL")
        if a.get("default") is not None:
            parts.append(f"DEFAULT {a['default']}")
        if a.get("identity"):
            parts.append(f"GENERATED {a['identity']} AS IDENTITY")
        if a.get("generated"):
            parts.append(f"GENERATED ALWAYS AS ({a['generated']}) STORED")
        return (" ".join(parts),)
    if item.kind in ("table", "foreign table"):
        security = ("row level security " + ("forced" if a.get("force_row_security")
                                            else "enabled")
                    if a.get("row_security") else "row level security disabled")
        return (security,)
    if item.kind in ("view", "materialized view"):
        return (f"options: {_text(a.get('options'))}",) if a.get("options") else ()
    if item.kind in ("function", "procedure"):
        config = f", SET {_text(a.get('config'))}" if a.get("config") else ""
        return (("SECURITY DEFINER" if a.get("security_definer") else "SECURITY INVOKER")
                + config,)
    if item.kind == "policy":
        text = (f"AS {'PERMISSIVE' if a.get('permissive') else 'RESTRICTIVE'} "
                f"FOR {a.get('command')} TO {_text(a.get('roles'))}")
        if a.get("using") is not None:
            text += f" USING ({a['using']})"
        if a.get("with_check") is not None:
            text += f" WITH CHECK ({a['with_check']})"
        return (text,)
    if item.kind == "trigger":
        enabled = "" if a.get("enabled") == "origin" else f" ({a.get('enabled')})"
        return (f"{a.get('definition')}{enabled}",)
    if item.kind == "grant":
        return (_text(a.get("privileges")),)
    if item.kind == "publication":
        return (f"publish {_text(a.get('publish'))}",)
    if item.kind == "published table":
        return tuple(f"{key}: {a[key]}" for key in ("columns", "row_filter") if key in a)
    if "definition" in a:
        return (str(a["definition"]),)
    return ()


def _attribute_changes(old: Item, new: Item) -> tuple[str, ...]:
    details: list[str] = []
    for key in sorted(old.attrs.keys() | new.attrs.keys()):
        before, after = old.attrs.get(key), new.attrs.get(key)
        if before == after:
            continue
        if isinstance(before, str) and isinstance(after, str) and (
                "\n" in before or "\n" in after or len(before) + len(after) > 120):
            details.append(f"{key} changes:")
            lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                         lineterm="", n=1)
            body = [line for line in lines if not line.startswith(("---", "+++", "@@"))]
            details.extend("  " + line for line in body[:40])
            if len(body) > 40:
                details.append(f"  ... {len(body) - 40} more lines")
        else:
            details.append(f"{key}: {_text(before)} -> {_text(after)}")
    return tuple(details)


def _parse_attrs(items: Iterable[Item]) -> None:
    """Parse the attributes of many items at once (one JSON document: a first apply
    of a thousand tables describes some 14,000 items, and parsing each alone costs
    more in calls than in parsing)."""
    pending = [item for item in items if "attrs" not in item.__dict__]
    if not pending:
        return
    values = json.loads("[" + ",".join(item.raw or "{}" for item in pending) + "]")
    for item, value in zip(pending, values, strict=True):
        # What the cached_property would store on first access.
        item.__dict__["attrs"] = value if isinstance(value, dict) else {}


def diff_snapshots(before: Snapshot, after: Snapshot) -> list[Change]:
    """What turns ``before`` into ``after``, in display order.

    A grant is one item per (object, grantee); privileges it gains are a
    create and privileges it loses a remove, so a revoked privilege counts
    as a revoke even when the grantee keeps others.
    """
    if before.items == after.items:  # the usual case, and the quickest to find
        return []
    with _no_cyclic_gc():
        return _diff(before, after)


def _diff(before: Snapshot, after: Snapshot) -> list[Change]:
    changes: list[Change] = []
    olds, news = before.items, after.items
    # (sort key, before, after) of each item that differs, in display order.
    differing: list[tuple[tuple[Any, ...], Item, Item | None, Item | None]] = []
    for key in olds.keys() | news.keys():
        old, new = olds.get(key), news.get(key)
        if old != new:
            ref = new if new is not None else old
            assert ref is not None
            differing.append((_order(ref), ref, old, new))
    differing.sort(key=lambda entry: entry[0])
    _parse_attrs([item for _, _, old, new in differing for item in (old, new)
                  if item is not None])
    for _, ref, old, new in differing:
        if old is not None and new is not None and old.attrs == new.attrs:
            continue
        if ref.kind == "grant":
            had = set(old.attrs.get("privileges") or ()) if old else set()
            gets = set(new.attrs.get("privileges") or ()) if new else set()
            if gets - had:
                changes.append(Change(CREATE, ref.kind, ref.name,
                                      (", ".join(sorted(gets - had)),), ref.object))
            if had - gets:
                changes.append(Change(REMOVE, ref.kind, ref.name,
                                      (", ".join(sorted(had - gets)),), ref.object))
        elif old is None:
            assert new is not None
            changes.append(Change(CREATE, ref.kind, ref.name, _describe(new), ref.object))
        elif new is None:
            changes.append(Change(REMOVE, ref.kind, ref.name, _describe(old), ref.object))
        else:
            changes.append(Change(CHANGE, ref.kind, ref.name, _attribute_changes(old, new),
                                  ref.object))
    return changes


# --------------------------------------------------------------------------
# locks

# PostgreSQL's table lock modes, weakest first.
LOCK_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock",
              "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock",
              "ExclusiveLock", "AccessExclusiveLock")
# The modes that conflict with ROW EXCLUSIVE, the lock INSERT / UPDATE /
# DELETE take: while one is held, writes to the relation wait.
WRITE_BLOCKING_MODES = frozenset(LOCK_MODES[4:])


@dataclass(frozen=True)
class HeldLock:
    """The locks one backend holds on one relation, and the relation's size."""

    schema: str
    name: str
    kind: str  # "table", "view", "index", ...
    modes: tuple[str, ...]  # weakest first
    rows: int | None  # the planner's estimate (tables), None when not a table
    bytes: int | None
    # Whether the table's statistics were ever gathered (ANALYZE / VACUUM);
    # None when not a table, or when it is empty (then 0 rows is exact).
    analyzed: bool | None = None

    @property
    def strongest(self) -> str:
        return self.modes[-1]

    @property
    def blocks_writes(self) -> bool:
        return any(mode in WRITE_BLOCKING_MODES for mode in self.modes)

    def as_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "relation": self.name, "kind": self.kind,
                "modes": list(self.modes), "rows": self.rows, "bytes": self.bytes,
                "analyzed": self.analyzed, "blocks_writes": self.blocks_writes}


def read_locks(conn: psycopg.Connection[Any], before: Snapshot | None = None) -> list[HeldLock]:
    """The relation locks this connection's backend holds now, by relation.

    With ``before`` (a snapshot taken earlier in this transaction), the
    relations of its schemas that it does not list are left out: the
    transaction created them, so no other session can see them or wait for
    them, and a first apply of a thousand tables holds locks on some 8,000.

    For a table locked more strongly than ACCESS SHARE, ``rows`` is 0 when
    the table has no pages (exact, and no planner guess: one never analyzed
    is assumed ten pages, some 350 rows), else the planner's estimate
    (``EXPLAIN``), which scales the last ANALYZE to the table's current size
    and works on a table never analyzed (``analyzed`` False says so); this
    backend already holds a lock on it, so reading it waits for nobody.
    """
    from psycopg import sql as pgsql

    params = {"schema": None if before is None else before.schema,
              "schemas": [] if before is None else list(before.schemas),
              "existing": [] if before is None else before.relation_names()}
    by_relation: dict[tuple[str, str, str], tuple[list[str], int | None, bool, bool]] = {}
    for schema, name, kind, mode, size, empty, analyzed in conn.execute(
            _plain_query("locks"), params).fetchall():
        modes, *_ = by_relation.setdefault((schema, name, kind), ([], size, empty, analyzed))
        modes.append(mode)
    locks: list[HeldLock] = []
    for (schema, name, kind), (modes, size, empty, analyzed) in by_relation.items():
        ordered = tuple(sorted(set(modes), key=lambda m: (LOCK_MODES.index(m)
                                                          if m in LOCK_MODES else -1, m)))
        rows = None
        stats = None
        if kind == "table" and ordered[-1] != "AccessShareLock":
            if empty:
                rows = 0
            else:
                stats = bool(analyzed)
                rows = _estimated_rows(conn, pgsql.SQL("EXPLAIN (FORMAT JSON) SELECT FROM {}.{}")
                                       .format(pgsql.Identifier(schema), pgsql.Identifier(name)))
        locks.append(HeldLock(schema, name, kind, ordered, rows, size, stats))
    return locks


def _estimated_rows(conn: psycopg.Connection[Any], explain: Any) -> int | None:
    """The planner's row estimate; None when it cannot be had (no SELECT privilege).
    In a savepoint, so that a failure leaves the caller's transaction usable."""
    import psycopg

    try:
        with conn.transaction():
            row = conn.execute(explain).fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return int(plan[0]["Plan"]["Plan Rows"])


@functools.cache
def _plain_query(name: str) -> str:
    """The text of ``supabase_init/sql/<name>.sql``."""
    return (resources.files("supabase_init") / "sql" / f"{name}.sql").read_text(encoding="utf-8")

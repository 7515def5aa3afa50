"""Saved plans: the file ``plan -out FILE`` writes and ``apply FILE`` runs.

A saved plan holds exactly what apply will run (the rendered SQL, the schema
and roles it provisions, the settings made for its transaction), the
variable values it was rendered with, the target's identity (the redacted
DSN, the server's system identifier, the database's name and oid) and a
fingerprint of the catalog snapshot the plan started from. ``apply FILE``
runs that SQL only when, inside its transaction and under the script's
advisory lock, the database is the same one and its catalog still has that
fingerprint. The format (JSON, ``format_version``) is described in
docs/saved-plans.md. Never prints; reads and writes only plan files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .dsn import describe_target, redact_dsn, without_secrets
from .errors import PlanFileError, StalePlanError
from .files import write_atomic
from .introspect import Change, Snapshot

if TYPE_CHECKING:
    import psycopg

FORMAT = "supabase-init plan"
FORMAT_VERSION = 1
STALE_MESSAGE = "the database changed since the plan was made"


def fingerprint(snapshot: Snapshot) -> str:
    """A hash of the snapshot's canonical JSON: its items sorted by (kind, name), each
    with its attributes as the server printed them (jsonb text: equal values print
    equally), plus the schema (and the other schemas read, if any) and the roles."""
    items = sorted([kind, name, item.parent, item.raw]
                   for (kind, name), item in snapshot.items.items())
    document: dict[str, Any] = {"schema": snapshot.schema, "roles": sorted(snapshot.roles),
                                "items": items}
    if len(snapshot.schemas) > 1:
        document["schemas"] = list(snapshot.schemas)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Which database a plan was made on."""

    display: str  # the DSN, password redacted
    host: str
    port: str
    database: str
    database_oid: int | None = None
    system_identifier: str | None = None
    server_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"display": self.display, "host": self.host, "port": self.port,
                "database": self.database, "database_oid": self.database_oid,
                "system_identifier": self.system_identifier,
                "server_version": self.server_version}

    def mismatch(self, other: Identity) -> str:
        """'' when ``other`` is the same database, else what differs."""
        if self.system_identifier and other.system_identifier:
            if self.system_identifier != other.system_identifier:
                return "another server (system identifier differs)"
            if self.database != other.database or self.database_oid != other.database_oid:
                return f"another database ({other.database}, not {self.database})"
            return ""
        # The server's identity cannot be read: compare where the DSNs point.
        mine = (self.host, self.port, self.database)
        theirs = (other.host, other.port, other.database)
        return "" if mine == theirs else f"another database ({other.display})"


def read_identity(conn: psycopg.Connection[Any], dsn: str) -> Identity:
    """The identity of the database ``conn`` is connected to (one query, read only)."""
    import psycopg

    where = describe_target(dsn)
    row = conn.execute(
        "SELECT pg_catalog.current_database(), d.oid::bigint,"
        " pg_catalog.current_setting('server_version')"
        " FROM pg_catalog.pg_database AS d"
        " WHERE d.datname = pg_catalog.current_database()").fetchone()
    database, oid, version = row if row is not None else (where.database, None, "")
    system_identifier = None
    try:
        # Hosted servers may revoke pg_control_system() from ordinary roles.
        with conn.transaction():
            ident = conn.execute(
                "SELECT system_identifier::text FROM pg_catalog.pg_control_system()").fetchone()
            system_identifier = ident[0] if ident else None
    except psycopg.Error:
        system_identifier = None
    return Identity(display=redact_dsn(dsn), host=where.host, port=where.port,
                    database=str(database), database_oid=None if oid is None else int(oid),
                    system_identifier=system_identifier, server_version=str(version))


@dataclass(frozen=True)
class SavedPlan:
    """What ``plan -out`` wrote, read back."""

    sql: str
    schema: str
    roles: tuple[str, ...]
    identity: Identity
    fingerprint: str
    publications: tuple[str, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    created: str = ""
    tool_version: str = __version__
    schemas: tuple[str, ...] = ()  # every schema the plan read, ``schema`` first

    def __post_init__(self) -> None:
        if not self.schemas:
            object.__setattr__(self, "schemas", (self.schema,))

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "supabase_init_version": self.tool_version,
            "created": self.created,
            "target": self.identity.as_dict(),
            "catalog_fingerprint": self.fingerprint,
            "schema": self.schema,
            "schemas": list(self.schemas),
            "roles": list(self.roles),
            "publications": list(self.publications),
            "settings": dict(self.settings),
            "variables": dict(self.variables),
            "changes": [c.as_dict() for c in self.changes],
            "sql": self.sql,
        }, indent=2, ensure_ascii=False, default=str) + "\n"

    def target_dsn(self) -> str | None:
        """A connection string to the database the plan was made on, or None.

        The plan holds no password: libpq takes it from PGPASSWORD, a password
        file or a service file. Supabase's local development database (whose
        password is its public default) is reached with that default.
        """
        from .target import SUPABASE_LOCAL_DATABASE_URL, SUPABASE_LOCAL_DATABASE_URL_REDACTED

        if self.identity.display == SUPABASE_LOCAL_DATABASE_URL_REDACTED:
            return SUPABASE_LOCAL_DATABASE_URL
        return without_secrets(self.identity.display)

    def check(self, dsn: str) -> Callable[[psycopg.Connection[Any], Snapshot | None], None]:
        """The ``transaction`` check that refuses another database or a changed catalog."""

        def check(conn: psycopg.Connection[Any], before: Snapshot | None) -> None:
            differs = self.identity.mismatch(read_identity(conn, dsn))
            if differs:
                raise StalePlanError(f"this plan was made for {self.identity.display}; the "
                                     f"target is {differs}: nothing was applied")
            if before is None or fingerprint(before) != self.fingerprint:
                raise StalePlanError(f"{STALE_MESSAGE}: nothing was applied; make a new plan")

        return check


def make_saved_plan(*, sql: str, schema: str, roles: Sequence[str],
                    publications: Sequence[str], settings: Mapping[str, str],
                    variables: Mapping[str, Any],
                    identity: Identity, before: Snapshot,
                    changes: Sequence[Change], schemas: Sequence[str] = ()) -> SavedPlan:
    return SavedPlan(sql=sql, schema=schema, roles=tuple(roles), schemas=tuple(schemas),
                     publications=tuple(publications), identity=identity,
                     fingerprint=fingerprint(before), settings=dict(settings),
                     variables=dict(variables), changes=tuple(changes),
                     created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_plan(path: Path, plan: SavedPlan) -> None:
    """Write the plan file atomically, readable by its owner only."""
    write_atomic(path, plan.to_json(), mode=0o600)


def _field(document: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = document.get(name)
    if not isinstance(value, kind):
        raise PlanFileError(f"not a valid plan file: {name!r} is missing or malformed")
    return value


def read_plan(path: Path) -> SavedPlan:
    """A plan file read back; PlanFileError (one line) when it is not one we can apply."""
    try:
        text = path.read_bytes().decode("utf-8")
        document = json.loads(text)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PlanFileError(f"{path}: not a plan file (not valid JSON): it may be corrupted; "
                            "make a new plan with `supabase-init plan -out FILE`") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PlanFileError(f"{path}: not a supabase-init plan file")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFileError(f"{path}: plan format version {version!r} is not supported "
                            f"(this supabase-init reads version {FORMAT_VERSION}); make a new "
                            "plan")
    try:
        target = _field(document, "target", dict)
        identity = Identity(
            display=str(target.get("display", "")), host=str(target.get("host", "")),
            port=str(target.get("port", "")), database=str(target.get("database", "")),
            database_oid=target.get("database_oid"),
            system_identifier=target.get("system_identifier"),
            server_version=str(target.get("server_version", "")))
        changes = tuple(Change(action=str(c["action"]), kind=str(c["kind"]), name=str(c["name"]),
                               details=tuple(str(d) for d in c.get("details", ())),
                               object=str(c.get("object", "")))
                        for c in _field(document, "changes", list))
        return SavedPlan(
            sql=_field(document, "sql", str), schema=_field(document, "schema", str),
            roles=tuple(str(r) for r in _field(document, "roles", list)),
            publications=tuple(str(p) for p in document.get("publications", ())),
            schemas=tuple(str(s) for s in _field(document, "schemas", list))
            if "schemas" in document else (),
            identity=identity, fingerprint=_field(document, "catalog_fingerprint", str),
            settings={str(k): str(v) for k, v in _field(document, "settings", dict).items()},
            variables=_field(document, "variables", dict), changes=changes,
            created=str(document.get("created", "")),
            tool_version=str(document.get("supabase_init_version", "")))
    except PlanFileError as e:
        raise PlanFileError(f"{path}: {e.message}") from None
    except (KeyError, TypeError, AttributeError):
        raise PlanFileError(f"{path}: not a valid plan file: a change is malformed") from None


__all__ = ["FORMAT", "FORMAT_VERSION", "STALE_MESSAGE", "Identity", "SavedPlan", "fingerprint",
           "make_saved_plan", "read_identity", "read_plan", "write_plan"]

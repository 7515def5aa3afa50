"""The role and grant config (``supabase-init.hcl``) → a frozen, validated model.

Everything is checked here, once: the rest of the code never sees parser
dicts. Each error names the file, the line and the offending value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .excerpt import excerpt
from .hclfile import Attribute, Block, Document, parse_hcl_file

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
MAX_IDENTIFIER_BYTES = 63

OBJECT_KINDS = ("tables", "views", "sequences", "functions")

# What each object kind accepts. "ALL" is expanded to these explicit lists so
# that the generated SQL (and the catalog it leaves) is the same on every
# server version: PostgreSQL 17 added MAINTAIN to a table's ALL.
PRIVILEGES: dict[str, tuple[str, ...]] = {
    "tables": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
    "views": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
    "sequences": ("USAGE", "SELECT", "UPDATE"),
    "functions": ("EXECUTE",),
    "schema": ("USAGE", "CREATE"),
}
POLICY_COMMANDS = ("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")
# One key of a JWT claim path ("app_metadata.crm_role"): plain, so the path
# can be written as a text[] literal without quoting.
CLAIM_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Claims a user can set about themselves (Supabase's user_metadata is written
# by the user through the Auth API): an access level read from them would let
# anyone pick their own level.
USER_SET_CLAIMS = ("user_metadata",)
BLOCK_TYPES = ("variable", "role", "access", "objects", "grant", "policy", "lint",
               "publication")
# A lint rule id: lower case words joined by "_", as the rules are named.
LINT_RULE_ID = re.compile(r"[a-z][a-z0-9_]*")
VARIABLE_TYPES = ("string", "number", "bool")
# What a string variable's value stands for in PostgreSQL, checked beyond its
# pattern: "schema" (a schema name) and "duration" (a time setting whose unit
# is the millisecond, such as lock_timeout or statement_timeout).
VARIABLE_KINDS = ("schema", "duration")
# The variable naming the schema the API serves, where objects are unless an
# `objects "<variable>"` block places them elsewhere.
MAIN_SCHEMA_VARIABLE = "schema"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    description: str
    default: str | int | float | bool | None
    pattern: str | None
    line: int
    kind: str | None = None  # one of VARIABLE_KINDS

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Role:
    name: str
    login: bool
    inherit: bool
    bypass_rls: bool
    line: int


@dataclass(frozen=True)
class Access:
    """Ordered access levels read from one JWT claim; each level includes the ones before it."""

    name: str
    claim: tuple[str, ...]  # the claim's path in the JWT, e.g. ("app_metadata", "crm_role")
    levels: tuple[str, ...]  # lowest first
    line: int

    def at_least(self, level: str) -> tuple[str, ...]:
        """The levels that satisfy ``level``: it and every level above it."""
        return self.levels[self.levels.index(level):]


@dataclass(frozen=True)
class Grant:
    name: str
    roles: tuple[str, ...]
    privileges: tuple[str, ...]
    kind: str  # one of OBJECT_KINDS or "schema"
    # Resolved names ("*" expanded); for "schema", the variables naming the schemas.
    objects: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    roles: tuple[str, ...]
    command: str
    permissive: bool
    using: str | None
    with_check: str | None
    line: int
    # The minimum level of an access block the caller's JWT must carry, and
    # the column that must hold the caller's user id (the JWT's sub); the
    # templates turn both into expressions added to using / with_check.
    access: str | None = None
    level: str | None = None
    owner_column: str | None = None


@dataclass(frozen=True)
class LintIgnore:
    """A lint block: a rule switched off for some objects (``ignore``: ``"table x"``,
    ``"*"`` for all), findings of it the team accepts (``accept``: still listed, not
    failing), and why."""

    rule: str
    objects: tuple[str, ...]
    reason: str
    line: int
    accept: tuple[str, ...] = ()


@dataclass(frozen=True)
class Publication:
    """A logical replication publication (Supabase Realtime's ``supabase_realtime``)
    and which of the managed tables it publishes; the other managed tables are
    removed from it, tables the config does not manage are left alone."""

    name: str
    tables: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Function:
    name: str
    signature: str  # argument types as written in the config, e.g. "" or "uuid, text"

    @property
    def qualified_args(self) -> str:
        return f"{self.name}({self.signature})"


@dataclass(frozen=True)
class Objects:
    tables: tuple[str, ...]
    views: tuple[str, ...]
    sequences: tuple[str, ...]
    functions: tuple[Function, ...]
    # (kind, line) of each list in the config, so later checks (a missing
    # template) can point at the line that names the object.
    lines: tuple[tuple[str, int], ...] = ()
    # (object name, variable) of each object an `objects "<variable>"` block
    # places in the schema that variable names; every other object is in
    # the schema of the variable "schema".
    placements: tuple[tuple[str, str], ...] = ()

    def names(self, kind: str) -> tuple[str, ...]:
        if kind == "functions":
            return tuple(f.name for f in self.functions)
        return tuple(getattr(self, kind))

    @functools.cached_property
    def _placed_in(self) -> dict[str, str]:
        return dict(self.placements)

    def schema_variable(self, name: str) -> str:
        """The variable naming the schema that holds the object ``name``."""
        return self._placed_in.get(name, MAIN_SCHEMA_VARIABLE)

    def in_schema(self, variable: str, names: Iterable[str]) -> list[str]:
        """The ``names`` of objects in ``variable``'s schema."""
        return [n for n in names if self.schema_variable(n) == variable]

    def placed(self, variable: str, entries: Iterable[Sequence[Any]], at: int = 0
               ) -> list[Sequence[Any]]:
        """The ``entries`` whose item ``at`` names an object in ``variable``'s schema
        (for the templates, which converge each schema's objects on their own)."""
        return [e for e in entries if self.schema_variable(e[at]) == variable]

    @functools.cached_property
    def schema_variables(self) -> tuple[str, ...]:
        """The variables naming the schemas the objects are in, "schema" first."""
        others = dict.fromkeys(v for _, v in self.placements)
        return (MAIN_SCHEMA_VARIABLE, *others)

    def line_of(self, kind: str) -> int | None:
        return next((line for k, line in self.lines if k == kind), None)


@dataclass(frozen=True)
class Config:
    path: Path
    variables: tuple[Variable, ...]
    roles: tuple[Role, ...]
    objects: Objects
    grants: tuple[Grant, ...]
    policies: tuple[Policy, ...]
    access: tuple[Access, ...] = ()
    lint_ignores: tuple[LintIgnore, ...] = ()
    publications: tuple[Publication, ...] = ()

    @property
    def publication_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.publications)

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roles)

    def access_named(self, name: str) -> Access:
        return next(a for a in self.access if a.name == name)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    def privileges_for(self, kind: str, name: str) -> dict[str, tuple[str, ...]]:
        """Role → privileges the config gives on one object (merged over grants)."""
        merged: dict[str, list[str]] = {r: [] for r in self.role_names}
        for grant in self.grants:
            if grant.kind == kind and name in grant.objects:
                for role in grant.roles:
                    merged[role].extend(p for p in grant.privileges if p not in merged[role])
        order = PRIVILEGES[kind]
        return {r: tuple(sorted(p, key=order.index)) for r, p in merged.items()}


# --------------------------------------------------------------------------
# validation helpers


class _Reader:
    """Typed access to one block's attributes, raising ConfigError with its line."""

    def __init__(self, block: Block | Document, what: str, path: Path) -> None:
        self.block = block
        self.what = what
        self.path = path
        self.line = block.line if isinstance(block, Block) else None

    def fail(self, message: str, attr: Attribute | None = None) -> ConfigError:
        line = attr.line if attr is not None else self.line
        return ConfigError(f"{self.what}: {message}", path=self.path, line=line)

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        for name, attr in self.block.attributes.items():
            if name not in allowed:
                raise self.fail(
                    f"unknown attribute {excerpt(name)} (allowed: {', '.join(allowed)})", attr)
        for inner in self.block.blocks:
            raise ConfigError(f"{self.what}: unexpected block {inner.type!r}",
                              path=self.path, line=inner.line)

    def get(self, name: str, types: tuple[type, ...], type_name: str,
            default: Any = None, required: bool = False) -> Any:
        attr = self.block.attributes.get(name)
        if attr is None:
            if required:
                raise self.fail(f"missing required attribute {excerpt(name)}")
            return default
        value = attr.value
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise self.fail(f"{name} must be {type_name}, got {excerpt(value)}", attr)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        return bool(self.get(name, (bool,), "true or false", default))

    def string(self, name: str, required: bool = False) -> str | None:
        value = self.get(name, (str,), "a string", None, required)
        return None if value is None else str(value)

    def string_list(self, name: str, required: bool = False) -> tuple[str, ...] | None:
        attr = self.block.attributes.get(name)
        value = self.get(name, (list,), "a list of strings", None, required)
        if value is None:
            return None
        for item in value:
            if not isinstance(item, str):
                raise self.fail(f"{name} must be a list of strings, got item {excerpt(item)}", attr)
        if len(set(value)) != len(value):
            dup = next(v for v in value if value.count(v) > 1)
            raise self.fail(f"{name} lists {excerpt(dup)} twice", attr)
        return tuple(value)

    def attr(self, name: str) -> Attribute | None:
        return self.block.attributes.get(name)


def check_identifier(value: str, what: str, path: Path, line: int | None) -> str:
    if not IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{what}: {excerpt(value)} is not a plain PostgreSQL identifier "
            "(lower-case letters, digits and _, not starting with a digit)",
            path=path, line=line)
    if len(value.encode()) > MAX_IDENTIFIER_BYTES:
        raise ConfigError(
            f"{what}: {excerpt(value)} is longer than {MAX_IDENTIFIER_BYTES} bytes "
            "(PostgreSQL would truncate it)", path=path, line=line)
    return value


def _labels(block: Block, count: int, usage: str, path: Path) -> tuple[str, ...]:
    if len(block.labels) != count:
        raise ConfigError(f"{block.type} block needs {count} label(s): {usage}",
                          path=path, line=block.line)
    return block.labels


# --------------------------------------------------------------------------
# blocks


def _variable(block: Block, path: Path) -> Variable:
    (name,) = _labels(block, 1, 'variable "name" { ... }', path)
    check_identifier(name, "variable", path, block.line)
    r = _Reader(block, f"variable {excerpt(name)}", path)
    r.check_keys(("type", "description", "default", "pattern", "kind"))
    type_ = r.string("type") or "string"
    if type_ not in VARIABLE_TYPES:
        raise r.fail(f"type must be one of {', '.join(VARIABLE_TYPES)}, got {type_!r}",
                     r.attr("type"))
    description = r.string("description") or ""
    pattern = r.string("pattern")
    if pattern is not None:
        if type_ != "string":
            raise r.fail("pattern applies only to string variables", r.attr("pattern"))
        try:
            re.compile(pattern)
        except re.error as e:
            raise r.fail(f"pattern {excerpt(pattern)} is not a valid regular expression: {e}",
                         r.attr("pattern")) from e
        if not anchored_as_a_whole(pattern):
            raise r.fail("pattern must be anchored with ^ and $ as a whole (^ first, $ last, "
                         f"any | inside a group, e.g. ^(a|b)$), got {excerpt(pattern)}",
                         r.attr("pattern"))
    kind = r.string("kind")
    if kind is not None:
        if kind not in VARIABLE_KINDS:
            raise r.fail(f"kind must be one of {', '.join(VARIABLE_KINDS)}, got "
                         f"{excerpt(kind)}", r.attr("kind"))
        if type_ != "string":
            raise r.fail("kind applies only to string variables", r.attr("kind"))
    default = None
    if "default" in block.attributes:
        expected: dict[str, tuple[tuple[type, ...], str]] = {
            "string": ((str,), "a string"),
            "number": ((int, float), "a number"),
            "bool": ((bool,), "true or false"),
        }
        types, type_name = expected[type_]
        default = r.get("default", types, type_name)
        variable = Variable(name, type_, description, default, pattern, block.line, kind)
        problem = value_problem(variable, str(default)) if type_ == "string" else None
        if problem is not None:
            raise r.fail(f"default {problem}", r.attr("default"))
    return Variable(name, type_, description, default, pattern, block.line, kind)


def _class_end(pattern: str, start: int) -> int:
    """The index just after the character class that opens at ``start`` (Python's rules)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1  # a "]" first in a class is a literal
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i + 1
        i += 1
    return len(pattern) + 1


def anchored_as_a_whole(pattern: str) -> bool:
    """``^`` first, an unescaped ``$`` last, and no ``|`` outside a group or class between.

    ``^[a-z_]+$|.*$`` is anchored at both ends and still accepts anything:
    the top-level alternation escapes the anchors. ``^(a|b)$`` is fine.
    """
    if len(pattern) < 2 or not pattern.startswith("^") or not pattern.endswith("$"):
        return False
    depth, i, end = 0, 1, len(pattern) - 1
    while i < end:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = _class_end(pattern, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
        elif ch == "|" and depth == 0:
            return False
        i += 1
    # i == end: the final "$" is not the escaped half of "\\$" nor inside a class.
    return i == end and depth == 0


# PostgreSQL's names for system schemas: CREATE SCHEMA refuses "pg_*", and
# information_schema already exists (objects would land among its views).
RESERVED_SCHEMA_PREFIX = "pg_"
RESERVED_SCHEMAS = ("information_schema",)
# PostgreSQL's time units for a setting kept in milliseconds, and each unit's
# next smaller one (a fraction is first rounded to a multiple of that).
_MS_UNITS: dict[str, Fraction] = {"d": Fraction(86_400_000), "h": Fraction(3_600_000),
                                  "min": Fraction(60_000), "s": Fraction(1000),
                                  "ms": Fraction(1), "us": Fraction(1, 1000)}
_NEXT_SMALLER_UNIT = {"d": "h", "h": "min", "min": "s", "s": "ms", "ms": "us"}
_DURATION = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?(us|ms|s|min|h|d)?")
INT_MAX = 2**31 - 1


def _duration(text: str) -> tuple[Fraction, str] | None:
    """The number and unit of a duration such as ``5s`` or ``1.5min`` (ms when no unit)."""
    m = _DURATION.fullmatch(text)
    if m is None:
        return None
    return Fraction(m.group(1) + (m.group(2) or "")), m.group(3) or "ms"


def duration_milliseconds(text: str) -> int | None:
    """The whole milliseconds PostgreSQL stores for a duration setting, or None if malformed.

    As PostgreSQL's parse_int() for a setting in ms: a fraction is rounded to
    the next smaller unit, then the total to whole milliseconds (half to
    even, as rint()), so 1us and 500us become 0 while 501us becomes 1.
    Only plain decimal numbers are accepted: PostgreSQL would read 010 as
    octal.
    """
    parsed = _duration(text)
    if parsed is None:
        return None
    number, unit = parsed
    value = number * _MS_UNITS[unit]
    smaller = _NEXT_SMALLER_UNIT.get(unit)
    if smaller is not None:
        value = round(value / _MS_UNITS[smaller]) * _MS_UNITS[smaller]
    return round(value)


def value_problem(variable: Variable, value: str) -> str | None:
    """Why a string variable's value is refused (its pattern, then its kind), or None."""
    if variable.pattern is not None and not pattern_matches(variable.pattern, value):
        return f"{excerpt(value)} does not match pattern {excerpt(variable.pattern)}"
    if variable.kind == "schema":
        if not value:
            return "is empty: a schema needs a name"
        if value.startswith(RESERVED_SCHEMA_PREFIX) or value in RESERVED_SCHEMAS:
            return (f"{excerpt(value)} is a schema name PostgreSQL reserves for itself "
                    "(pg_*, information_schema)")
        if len(value.encode()) > MAX_IDENTIFIER_BYTES:
            return (f"{excerpt(value)} is longer than {MAX_IDENTIFIER_BYTES} bytes "
                    "(PostgreSQL would truncate it)")
    elif variable.kind == "duration":
        parsed, ms = _duration(value), duration_milliseconds(value)
        if parsed is None or ms is None:
            return (f"{excerpt(value)} is not a PostgreSQL duration (a number and an "
                    "optional unit: us, ms, s, min, h, d)")
        # An explicit zero (0, 0s, ...) means "no limit" on purpose; 1us does not.
        if ms == 0 and parsed[0] != 0:
            return (f"{excerpt(value)} rounds to 0 ms (PostgreSQL keeps whole milliseconds), "
                    "which turns the setting off; give 0 to mean that, or at least 1ms")
        if ms > INT_MAX:
            return (f"{excerpt(value)} is more than PostgreSQL's maximum of {INT_MAX} ms "
                    "(about 24.8 days)")
    return None


def _re2_dollars(pattern: str) -> str:
    """``pattern`` with every ``$`` anchor spelled ``\\Z``.

    RE2's ``$`` (Terraform's ``regex``) matches only at the end of the text;
    Python's also matches before a final newline. A ``$`` that is escaped or
    inside a character class is a literal and stays as it is.
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]" or pattern[i - 1] == "[" or pattern[i - 2:i] == "[^"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            ch = r"\Z"
        out.append(ch)
        i += 1
    return "".join(out)


def pattern_matches(pattern: str, value: str) -> bool:
    """Match like Terraform's ``can(regex(pattern, value))``: a search, ``$`` = end of text.

    A search, not a full match: ``^a|b$`` accepts ``"ax"`` in Terraform too.
    """
    return re.search(_re2_dollars(pattern), value) is not None


def _role(block: Block, path: Path) -> Role:
    (name,) = _labels(block, 1, 'role "name" { ... }', path)
    check_identifier(name, "role", path, block.line)
    r = _Reader(block, f"role {excerpt(name)}", path)
    r.check_keys(("login", "inherit", "bypass_rls"))
    return Role(name, r.boolean("login", False), r.boolean("inherit", True),
                r.boolean("bypass_rls", False), block.line)


def _access(block: Block, path: Path) -> Access:
    (name,) = _labels(block, 1, 'access "name" { claim = "..."  levels = [...] }', path)
    check_identifier(name, "access", path, block.line)
    r = _Reader(block, f"access {excerpt(name)}", path)
    r.check_keys(("claim", "levels"))
    claim = r.string("claim", required=True) or ""
    keys = tuple(claim.split("."))
    if not all(CLAIM_KEY.fullmatch(k) for k in keys):
        raise r.fail(f"claim must be a dotted path of JWT keys (letters, digits and _), "
                     f"e.g. \"app_metadata.role\", got {excerpt(claim)}", r.attr("claim"))
    if keys[0] in USER_SET_CLAIMS:
        raise r.fail(f"claim {excerpt(claim)} is under {keys[0]}, which users can set themselves; "
                     "read levels from a claim they cannot set, e.g. app_metadata",
                     r.attr("claim"))
    levels = r.string_list("levels", required=True) or ()
    levels_attr = r.attr("levels")
    if not levels:
        raise r.fail("levels must not be empty", levels_attr)
    for level in levels:
        check_identifier(level, f"access {excerpt(name)}: level", path,
                         levels_attr.line if levels_attr else block.line)
    return Access(name, keys, levels, block.line)


_FUNCTION = re.compile(r"([a-z_][a-z0-9_]*)\(([a-z0-9_ ,\[\]]*)\)")


def _objects(blocks: list[Block], path: Path, variables: list[Variable]) -> Objects:
    """The objects of the unlabelled ``objects`` block (in the schema of the variable
    "schema") and of each ``objects "<variable>"`` block (in the schema that
    variable names), in creation order: a kind's lists one after the other."""
    found: dict[str, list[str]] = {kind: [] for kind in OBJECT_KINDS}
    seen: dict[str, tuple[str, str]] = {}  # name -> (kind, block)
    lines: list[tuple[str, int]] = []
    placements: list[tuple[str, str]] = []
    labels: dict[str, int] = {}
    declared = {v.name: v for v in variables}
    for block in blocks:
        if len(block.labels) > 1:
            raise ConfigError('objects block takes at most one label, the variable naming '
                              'its schema: objects "private_schema" { tables = [...] }',
                              path=path, line=block.line)
        label = block.labels[0] if block.labels else ""
        if label in labels:
            first = f'objects "{label}"' if label else "objects"
            raise ConfigError(f"only one {first} block is allowed (first declared on line "
                              f"{labels[label]})", path=path, line=block.line)
        labels[label] = block.line
        what = f"objects {excerpt(label)}" if label else "objects"
        variable = declared.get(label)
        if label and (label == MAIN_SCHEMA_VARIABLE or variable is None
                      or variable.type != "string" or variable.kind not in (None, "schema")):
            reason = ("names the API schema, where the unlabelled objects block puts objects"
                      if label == MAIN_SCHEMA_VARIABLE else
                      "is not a declared variable" if variable is None else
                      f"is of type = {excerpt(variable.type)}" if variable.type != "string" else
                      f"is of kind = {excerpt(variable.kind)}")
            raise ConfigError(f"{what}: the label must name the variable of the block's schema "
                              f'(a string variable, of kind = "schema" if it has a kind), and '
                              f"{excerpt(label)} {reason}", path=path, line=block.line)
        r = _Reader(block, what, path)
        r.check_keys(OBJECT_KINDS)
        for kind in OBJECT_KINDS:
            names = r.string_list(kind) or ()
            attr = r.attr(kind)
            line = attr.line if attr else block.line
            lines.append((kind, line))
            for item in names:
                name = item
                if kind == "functions":
                    m = _FUNCTION.fullmatch(item)
                    if not m:
                        raise ConfigError(
                            f"{what}: function {excerpt(item)} must be written as name("
                            "argument types), e.g. \"set_updated_at()\"", path=path, line=line)
                    name = m.group(1)
                check_identifier(name, f"{what}.{kind}", path, line)
                if name in seen:
                    seen_kind, seen_what = seen[name]
                    raise ConfigError(
                        f"{what}: {excerpt(name)} is also listed in {seen_what} (an object "
                        "has one schema, and templates name it by its name alone)"
                        if seen_what != what else
                        f"{what}: {excerpt(name)} is listed in both {seen_kind} and {kind}"
                        if seen_kind != kind else
                        f"{what}: {excerpt(name)} is listed twice in {kind}",
                        path=path, line=line)
                seen[name] = (kind, what)
                found[kind].append(item)
                if label:
                    placements.append((name, label))
    functions = []
    for item in found["functions"]:
        m = _FUNCTION.fullmatch(item)
        assert m is not None
        functions.append(Function(m.group(1), ", ".join(
            a.strip() for a in m.group(2).split(",") if a.strip())))
    return Objects(tuple(found["tables"]), tuple(found["views"]), tuple(found["sequences"]),
                   tuple(functions), tuple(lines), tuple(placements))


def _grant(block: Block, path: Path, roles: tuple[str, ...], objects: Objects) -> Grant:
    (name,) = _labels(block, 1, 'grant "name" { ... }', path)
    r = _Reader(block, f"grant {excerpt(name)}", path)
    r.check_keys(("roles", "privileges", "schema", "schemas") + OBJECT_KINDS)
    grant_roles = r.string_list("roles", required=True) or ()
    if not grant_roles:
        raise r.fail("roles must not be empty", r.attr("roles"))
    for role in grant_roles:
        if role not in roles:
            raise r.fail(f"unknown role {excerpt(role)} "
                         f"(declared roles: {', '.join(roles) or 'none'})", r.attr("roles"))
    kinds = [k for k in OBJECT_KINDS if k in block.attributes]
    schema = r.boolean("schema", False)
    if schema:
        kinds.append("schema")
    if "schemas" in block.attributes:
        kinds.append("schemas")
    if len(kinds) != 1:
        raise r.fail("give exactly one of schema = true, schemas, tables, views, sequences, "
                     "functions" + (f" (found {', '.join(kinds)})" if kinds else ""))
    kind = kinds[0]
    # A schema grant's objects are the variables naming its schemas: every
    # managed schema for schema = true, else the ones listed.
    names: tuple[str, ...] = ()
    if kind == "schema":
        names = objects.schema_variables
    elif kind == "schemas":
        kind = "schema"
        names = r.string_list("schemas") or ()
        if not names:
            raise r.fail("schemas must not be empty", r.attr("schemas"))
        for item in names:
            if item not in objects.schema_variables:
                raise r.fail(f"schemas: {excerpt(item)} is not the variable of a managed "
                             f"schema ({', '.join(objects.schema_variables)})",
                             r.attr("schemas"))
    else:
        listed = r.string_list(kind) or ()
        known = objects.names(kind)
        if not listed:
            raise r.fail(f"{kind} must not be empty", r.attr(kind))
        if "*" in listed:
            if len(listed) != 1:
                raise r.fail(f'{kind}: "*" (every object) cannot be combined with names',
                             r.attr(kind))
            names = known
        else:
            for item in listed:
                if item not in known:
                    raise r.fail(f"unknown {kind[:-1]} {excerpt(item)} (declared in objects: "
                                 f"{', '.join(known) or 'none'})", r.attr(kind))
            names = listed
    privileges = r.string_list("privileges", required=True) or ()
    if not privileges:
        raise r.fail("privileges must not be empty", r.attr("privileges"))
    allowed = PRIVILEGES[kind]
    expanded: list[str] = []
    for privilege in privileges:
        upper = privilege.upper()
        if upper == "ALL":
            expanded.extend(p for p in allowed if p not in expanded)
        elif upper in allowed:
            if upper not in expanded:
                expanded.append(upper)
        else:
            target = "a schema" if kind == "schema" else kind
            raise r.fail(f"privilege {excerpt(privilege)} does not apply to {target} "
                         f"(allowed: {', '.join(allowed)}, ALL)", r.attr("privileges"))
    return Grant(name, grant_roles, tuple(expanded), kind, names, block.line)


def _policy(block: Block, path: Path, roles: tuple[str, ...], objects: Objects,
            access: tuple[Access, ...] = ()) -> Policy:
    table, name = _labels(block, 2, 'policy "table" "name" { ... }', path)
    what = f"policy {excerpt(name)} on {excerpt(table)}"
    check_identifier(name, what, path, block.line)
    if table not in objects.tables:
        raise ConfigError(f"{what}: unknown table {excerpt(table)} (declared in objects: "
                          f"{', '.join(objects.tables) or 'none'})", path=path, line=block.line)
    r = _Reader(block, what, path)
    r.check_keys(("roles", "command", "permissive", "using", "with_check", "access", "level",
                  "owner_column"))
    policy_roles = r.string_list("roles", required=True) or ()
    if not policy_roles:
        raise r.fail("roles must not be empty", r.attr("roles"))
    for role in policy_roles:
        if role not in roles:
            raise r.fail(f"unknown role {excerpt(role)} "
                         f"(declared roles: {', '.join(roles) or 'none'})", r.attr("roles"))
    command = (r.string("command") or "ALL").upper()
    if command not in POLICY_COMMANDS:
        raise r.fail(f"command must be one of {', '.join(POLICY_COMMANDS)}, got {excerpt(command)}",
                     r.attr("command"))
    using = r.string("using")
    with_check = r.string("with_check")
    if command == "INSERT" and using is not None:
        raise r.fail("an INSERT policy takes with_check, not using", r.attr("using"))
    if command in ("SELECT", "DELETE") and with_check is not None:
        raise r.fail(f"a {command} policy takes using, not with_check", r.attr("with_check"))
    for key, expr in (("using", using), ("with_check", with_check)):
        if expr is not None and (not expr.strip() or ";" in expr):
            raise r.fail(f"{key} must be one SQL expression, got {excerpt(expr)}", r.attr(key))
    access_name, level = _policy_level(r, access)
    owner_column = r.string("owner_column")
    owner_attr = r.attr("owner_column")
    if owner_column is not None and owner_attr is not None:
        check_identifier(owner_column, f"{what}: owner_column", path, owner_attr.line)
    if using is None and with_check is None and level is None and owner_column is None:
        raise r.fail("give level, owner_column, using or with_check")
    return Policy(table, name, policy_roles, command, r.boolean("permissive", True),
                  using, with_check, block.line, access_name, level, owner_column)


def _publication(block: Block, path: Path, objects: Objects) -> Publication:
    (name,) = _labels(block, 1, 'publication "name" { tables = [...] }', path)
    check_identifier(name, "publication", path, block.line)
    r = _Reader(block, f"publication {excerpt(name)}", path)
    r.check_keys(("tables",))
    tables = r.string_list("tables", required=True) or ()
    for table in tables:
        if table not in objects.tables:
            raise r.fail(f"unknown table {excerpt(table)} (a publication lists tables declared "
                         f"in objects: {', '.join(objects.tables) or 'none'})", r.attr("tables"))
    return Publication(name, tables, block.line)


def _policy_level(r: _Reader, access: tuple[Access, ...]) -> tuple[str | None, str | None]:
    """The policy's (access block, level), checked against the declared access blocks."""
    access_name = r.string("access")
    level = r.string("level")
    declared = {a.name: a for a in access}
    if level is None:
        if access_name is not None:
            raise r.fail("access needs a level (the minimum level the policy requires)",
                         r.attr("access"))
        return None, None
    if access_name is None:
        if len(declared) != 1:
            raise r.fail("level needs an access block" if not declared else
                         f"level {excerpt(level)}: give access = one of {', '.join(declared)}",
                         r.attr("level"))
        access_name = next(iter(declared))
    elif access_name not in declared:
        raise r.fail(f"unknown access {excerpt(access_name)} (declared access blocks: "
                     f"{', '.join(declared) or 'none'})", r.attr("access"))
    levels = declared[access_name].levels
    if level not in levels:
        raise r.fail(f"unknown level {excerpt(level)} of access {excerpt(access_name)} (levels: "
                     f"{', '.join(levels)})", r.attr("level"))
    return access_name, level


# An object a lint finding names: its kind and its schema-relative name.
_LINT_OBJECT = re.compile(r"(table|view|function|policy|index|constraint|column) \S+")


def _lint_objects(r: _Reader, key: str, *, wildcard: bool) -> tuple[str, ...]:
    objects = r.string_list(key) or ()
    if r.attr(key) is not None and not objects:
        raise r.fail(f"{key} must not be empty" + (' (["*"] ignores the rule everywhere)'
                                                   if wildcard else ""), r.attr(key))
    for item in objects:
        if item == "*" and not wildcard:
            raise r.fail('accept: "*" is not an object: name each finding the team accepts '
                         '(ignore = ["*"] switches the rule off)', r.attr(key))
        if item != "*" and not _LINT_OBJECT.fullmatch(item):
            raise r.fail(f"{key}: {item!r} is not an object as lint names it (e.g. "
                         '"table campaigns", "policy campaigns.viewers_read", '
                         '"function set_updated_at()"' + (', or "*")' if wildcard else ")"),
                         r.attr(key))
    return objects


def _lint_ignore(block: Block, path: Path) -> LintIgnore:
    (rule,) = _labels(block, 1, 'lint "rule_id" { ignore = ["table x"]  reason = "..." }', path)
    if not LINT_RULE_ID.fullmatch(rule):
        raise ConfigError(f"lint {rule!r}: not a rule id (lower case letters, digits and _)",
                          path=path, line=block.line)
    r = _Reader(block, f"lint {rule!r}", path)
    r.check_keys(("ignore", "accept", "reason"))
    # ignore: the rule does not apply to these objects (the finding is wrong there);
    # accept: the finding is right, and the team lives with it.
    objects = _lint_objects(r, "ignore", wildcard=True)
    accept = _lint_objects(r, "accept", wildcard=False)
    if not objects and not accept:
        raise r.fail('needs ignore = [...] (objects the rule does not apply to) or '
                     'accept = [...] (findings the team accepts)')
    both = [item for item in accept if item in objects or "*" in objects]
    if both:
        raise r.fail(f"accept: {both[0]!r} is also ignored: a finding is either ignored "
                     "or accepted", r.attr("accept"))
    reason = r.string("reason", required=True) or ""
    if not reason.strip():
        raise r.fail("reason must say why the rule does not apply here, or why its "
                     "findings are accepted", r.attr("reason"))
    return LintIgnore(rule, objects, " ".join(reason.split()), block.line, accept)


def load_config(path: Path) -> Config:
    """Read and validate a config file."""
    return config_from_document(parse_hcl_file(path, secret=False))


def config_from_document(doc: Document) -> Config:
    path = doc.path
    for name, attr in doc.attributes.items():
        raise ConfigError(f"unexpected top-level attribute {excerpt(name)}; expected blocks "
                          f"({', '.join(BLOCK_TYPES)})", path=path, line=attr.line)
    by_type: dict[str, list[Block]] = {}
    for block in doc.blocks:
        if block.type not in BLOCK_TYPES:
            raise ConfigError(f"unknown block type {block.type!r} (expected "
                              f"{', '.join(BLOCK_TYPES)})", path=path, line=block.line)
        by_type.setdefault(block.type, []).append(block)

    def unique(items: list[Any], key: Any, what: str) -> None:
        seen: dict[Any, int] = {}
        for item in items:
            k = key(item)
            if k in seen:
                label = " ".join(repr(p) for p in k) if isinstance(k, tuple) else repr(k)
                raise ConfigError(f"duplicate {what} {label} (first declared on line {seen[k]})",
                                  path=path, line=item.line)
            seen[k] = item.line

    variables = [_variable(b, path) for b in by_type.get("variable", [])]
    unique(variables, lambda v: v.name, "variable")
    roles = [_role(b, path) for b in by_type.get("role", [])]
    unique(roles, lambda r: r.name, "role")
    objects = _objects(by_type.get("objects", []), path, variables)
    role_names = tuple(r.name for r in roles)
    grant_blocks = by_type.get("grant", [])
    grant_names: dict[str, int] = {}
    for b in grant_blocks:
        if b.labels and b.labels[0] in grant_names:
            raise ConfigError(f"duplicate grant {b.labels[0]!r} (first declared on line "
                              f"{grant_names[b.labels[0]]})", path=path, line=b.line)
        if b.labels:
            grant_names[b.labels[0]] = b.line
    grants = [_grant(b, path, role_names, objects) for b in grant_blocks]
    access = [_access(b, path) for b in by_type.get("access", [])]
    unique(access, lambda a: a.name, "access")
    policies = [_policy(b, path, role_names, objects, tuple(access))
                for b in by_type.get("policy", [])]
    unique(policies, lambda p: (p.table, p.name), "policy")
    lint_ignores = [_lint_ignore(b, path) for b in by_type.get("lint", [])]
    unique(lint_ignores, lambda i: i.rule, "lint block")
    publications = [_publication(b, path, objects) for b in by_type.get("publication", [])]
    unique(publications, lambda p: p.name, "publication")
    return Config(path, tuple(variables), tuple(roles), objects, tuple(grants), tuple(policies),
                  tuple(access), tuple(lint_ignores), tuple(publications))

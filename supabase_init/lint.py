"""Lint: Supabase's advisor rules and ours, judged on the state apply would leave.

Each rule has a stable id, a level (``error``, ``warn``, ``info``), a
one-line message naming the object, and a fix. Catalog rules read the
catalog inside the script's transaction, after its last statement
(``sql/lint.sql``), so they judge exactly what apply would commit, and the
transaction is rolled back (``plan`` and ``apply`` run them in their own
transaction). Some rules also have a static form that needs no database: it
reads the config, the templates and the rendered SQL (``lint --static``).

A finding is traced back to the template file and line, or the config
block, that its object comes from (``locate``), and a ``lint`` block of the
config may switch a rule off for some objects, with a reason. Never prints.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import TYPE_CHECKING, Any

from .config import Config, LintIgnore, Policy
from .errors import ConfigError, SupabaseInitError
from .introspect import read_items
from .locate import Location, SourceMap
from .project import Project
from .sqlsplit import SplitError, split_statements

if TYPE_CHECKING:
    import psycopg

ERROR, WARN, INFO = "error", "warn", "info"
LEVELS = (ERROR, WARN, INFO)  # most severe first
SECURITY, PERFORMANCE = "security", "performance"
# The roles PostgREST switches to for a request without and with a signed-in
# user. On Supabase every person who signs up is `authenticated`.
API_ROLES = ("anon", "authenticated")
ADVISOR = "Supabase's advisor"
OURS = "supabase-init"


@dataclass(frozen=True)
class Rule:
    """One lint rule: what it looks for, how bad it is, how to fix it."""

    id: str
    level: str
    category: str
    title: str
    description: str
    fix: str
    origin: str  # ADVISOR (Supabase's rule of that id) or OURS
    static: bool = False  # also checked without a database (lint --static)


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one object, and where that object comes from."""

    rule: str
    level: str
    object: str  # "table campaigns", "policy campaigns.viewers_read", ...
    message: str
    fix: str
    path: str | None = None
    line: int | None = None
    suppressed: str | None = None  # the reason of the lint block that ignores it
    accepted: str | None = None  # the reason of the lint block that accepts it

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level, "object": self.object,
                "message": self.message, "fix": self.fix, "file": self.path,
                "line": self.line, "suppressed": self.suppressed is not None,
                "accepted": self.accepted is not None,
                "reason": self.suppressed if self.suppressed is not None else self.accepted}


@dataclass(frozen=True)
class LintResult:
    """The findings of one lint run (suppressed and accepted ones included, marked)."""

    schema: str
    mode: str  # "planned" (the rolled-back script on a database) or "static"
    findings: tuple[Finding, ...]
    rules: tuple[Rule, ...]  # the rules that ran
    seconds: float = 0.0
    statements: int = 0
    # "rule: object" of each lint block entry that matched no finding (stale, or
    # misspelt); only known when every rule ran (on a database).
    unused_ignores: tuple[str, ...] = ()
    # "rule: object" of each accepted finding that no longer occurs (on a database
    # only): the accept entry can go.
    stale_accepts: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()  # every schema linted, the API schema first

    @property
    def active(self) -> tuple[Finding, ...]:
        """The findings that count: neither suppressed nor accepted."""
        return tuple(f for f in self.findings if f.suppressed is None and f.accepted is None)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed is not None)

    @property
    def accepted(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.accepted is not None)

    def counts(self) -> dict[str, int]:
        """{"error": n, "warn": n, "info": n} of the findings that count (not suppressed,
        not accepted)."""
        return {level: sum(f.level == level for f in self.active) for level in LEVELS}

    def fails(self, fail_on: str) -> bool:
        """A finding at ``fail_on`` or more severe exists."""
        worst = LEVELS[:LEVELS.index(fail_on) + 1]
        return any(f.level in worst for f in self.active)


class LintFailed(SupabaseInitError):
    """``apply`` refused: the state it would leave has error findings."""


# --------------------------------------------------------------------------
# the rules


def _rule(id: str, level: str, category: str, title: str, description: str, fix: str,
          origin: str = ADVISOR, static: bool = False) -> Rule:
    return Rule(id, level, category, title, description, fix, origin, static)


RULES: tuple[Rule, ...] = (
    _rule("rls_disabled_in_public", ERROR, SECURITY, "RLS disabled on an API table",
          "A table of the API schema that anon or authenticated can read has row level "
          "security disabled: every row is visible through the API.",
          "Enable row level security on the table and add policies for the API roles."),
    _rule("rls_disabled_api_writable", ERROR, SECURITY, "RLS disabled on an API-writable table",
          "anon or authenticated cannot read the table but can insert, update or delete "
          "in it, and row level security is disabled: every row can be written through "
          "the API.",
          "Enable row level security on the table, or revoke the write privileges.", OURS),
    _rule("policy_exists_rls_disabled", ERROR, SECURITY, "Policies on a table without RLS",
          "The table has policies but row level security is disabled, so they are ignored: "
          "every role with a privilege sees and changes every row.",
          "Enable row level security on the table."),
    _rule("rls_enabled_no_policy", ERROR, SECURITY, "RLS enabled, no policy",
          "Row level security is enabled but the table has no policy, so no role below its "
          "owner and service_role gets any row. Supabase's advisor rates it info; in a "
          "declarative config a table without policies is almost always a forgotten one, "
          "so here it is an error (ignore it with a reason when only service_role may use "
          "the table).",
          "Add the policies the API roles need, or a lint block that ignores the table with "
          "a reason."),
    _rule("security_definer_view", ERROR, SECURITY, "Security definer view",
          "A view that anon or authenticated can read runs with its owner's privileges "
          "and row level security (no security_invoker), not the caller's.",
          "Create the view WITH (security_invoker = true)."),
    _rule("view_without_security_invoker", WARN, SECURITY, "View without security_invoker",
          "A view of the API schema runs with its owner's privileges (no "
          "security_invoker); no API role can read it yet, but a grant would expose "
          "every row its owner sees.",
          "Create the view WITH (security_invoker = true).", OURS),
    _rule("function_search_path_mutable", WARN, SECURITY, "Function search_path mutable",
          "The function resolves names through the caller's search_path, which the "
          "caller can change to make it run other objects than intended.",
          "Give the function a fixed search_path (SET search_path = '' and schema-qualified "
          "names)."),
    _rule("rls_policy_always_true", ERROR, SECURITY, "Always-true write policy",
          "A permissive INSERT, UPDATE, DELETE or ALL policy for anon, authenticated or "
          "PUBLIC lets every row be written (USING or WITH CHECK is always true). "
          "Supabase's advisor warns; a write open to everyone who can sign up is an "
          "error here. The advisor also reads a missing USING (UPDATE, DELETE, ALL) or "
          "WITH CHECK (INSERT) as always true; PostgreSQL admits no row through it, and "
          "the finding says so.",
          "Restrict the policy (a level, an owner column, a real condition).", static=True),
    _rule("select_policy_always_true", ERROR, SECURITY, "Always-true read policy",
          "A permissive SELECT policy for anon, authenticated or PUBLIC shows every row "
          "(USING is always true). On Supabase anyone can sign up and become authenticated.",
          "Restrict the policy, or ignore it with a reason when the table is public on "
          "purpose.", OURS, static=True),
    _rule("rls_references_user_metadata", ERROR, SECURITY, "Policy reads user_metadata",
          "A policy reads user_metadata from the JWT, which every user can change "
          "for themselves.",
          "Read the claim from app_metadata, which only an administrator can set.",
          static=True),
    _rule("sensitive_columns_exposed", ERROR, SECURITY, "Sensitive columns exposed",
          "A table that anon or authenticated can read without row level security has "
          "columns whose names suggest credentials or identity, financial or health data.",
          "Enable row level security with restrictive policies, or revoke the privileges."),
    _rule("anon_security_definer_function_executable", WARN, SECURITY,
          "anon can run a SECURITY DEFINER function",
          "anon (no sign-in) may execute a SECURITY DEFINER function, which runs with its "
          "owner's privileges past row level security (PostgREST: /rpc/<name>).",
          "Revoke EXECUTE from anon and PUBLIC, or make the function SECURITY INVOKER."),
    _rule("authenticated_security_definer_function_executable", WARN, SECURITY,
          "authenticated can run a SECURITY DEFINER function",
          "Every signed-in user may execute a SECURITY DEFINER function, which runs with "
          "its owner's privileges past row level security (PostgREST: /rpc/<name>).",
          "Revoke EXECUTE from authenticated and PUBLIC, or make the function SECURITY "
          "INVOKER."),
    _rule("security_definer_function_in_api", INFO, SECURITY,
          "SECURITY DEFINER function in an API schema",
          "A SECURITY DEFINER function in the API schema becomes callable through the API "
          "as soon as an API role may execute it (a trigger function is not: PostgreSQL "
          "calls it only as a trigger).",
          "Keep SECURITY DEFINER functions in a schema the API does not expose.", OURS,
          static=True),
    _rule("anon_write_without_policy", ERROR, SECURITY, "anon may write unrestricted",
          "anon holds INSERT, UPDATE or DELETE on the table and no policy restricts that "
          "command for anon (row level security is off, or each policy for it is always "
          "true).",
          "Revoke the privilege from anon, or enable row level security with a restricting "
          "policy.", OURS),
    _rule("anon_grant_personal_data", ERROR, SECURITY, "anon may read personal data",
          "anon (no sign-in) holds a privilege on a table with columns that look like "
          "personal data (email, phone, address, birth date, ...).",
          "Revoke the grant to anon; give personal data to signed-in roles behind policies.",
          OURS, static=True),
    _rule("auth_rls_initplan", WARN, PERFORMANCE, "Auth call not in the (select ...) form",
          "A policy of a table with row level security calls auth.uid(), auth.jwt(), "
          "auth.role(), auth.email() or current_setting() and its text never shows that "
          "call right after a SELECT, the form Supabase's advisor looks for (it judges "
          "the text, as PostgreSQL prints it). A bare call is evaluated once per row; one "
          "inside a larger sub-select runs once per statement, and the finding says so, "
          "but the advisor still flags it.",
          "Wrap the call itself in a sub-select, e.g. (SELECT auth.uid()) or (SELECT "
          "current_setting('request.jwt.claims', true)): it is then evaluated once per "
          "statement, and the advisor sees it.", static=True),
    _rule("policy_call_per_row", WARN, PERFORMANCE, "Per-row auth call the advisor misses",
          "A policy calls auth.uid(), auth.jwt(), auth.role(), auth.email() or "
          "current_setting() outside any sub-select, so PostgreSQL evaluates it once per "
          "row, and Supabase's advisor does not see it (the same call appears wrapped "
          "elsewhere in the expression, which its text test takes for all of them).",
          "Wrap every such call in a sub-select, e.g. (SELECT auth.uid()).", OURS,
          static=True),
    _rule("pg_graphql_anon_table_exposed", WARN, SECURITY, "anon can see it in GraphQL",
          "anon (no sign-in) can SELECT the table or view (any column), so pg_graphql "
          "shows its name, columns and relationships in the GraphQL schema to anyone with "
          "the public anon key, whatever row level security lets through. The advisor "
          "checks it where pg_graphql is installed; every hosted Supabase project has it, "
          "so lint judges as if it were, and says when it is not.",
          "Revoke SELECT from anon on what must not be discoverable before sign-in."),
    _rule("pg_graphql_authenticated_table_exposed", WARN, SECURITY,
          "Signed-in users can see it in GraphQL",
          "authenticated can SELECT the table or view (any column), so pg_graphql shows "
          "its name, columns and relationships in the GraphQL schema to every signed-in "
          "user (on Supabase: anyone who signs up), whatever row level security lets "
          "through. Judged as if pg_graphql were installed, as for anon.",
          "Revoke SELECT from authenticated where signed-in users need not discover the "
          "object, or accept the finding with a reason (a lint block's accept)."),
    _rule("multiple_permissive_policies", WARN, PERFORMANCE, "Multiple permissive policies",
          "A role has several permissive policies for one command on a table; each is "
          "evaluated for every row.",
          "Merge them into one policy (OR the conditions)."),
    _rule("unindexed_foreign_keys", INFO, PERFORMANCE, "Unindexed foreign key",
          "No index leads with the foreign key's columns, so a delete or key update of a "
          "referenced row scans the table.",
          "Add an index on the foreign key's columns."),
    _rule("duplicate_index", WARN, PERFORMANCE, "Duplicate index",
          "Two indexes of a table have the same definition: writes maintain both, "
          "queries use one.",
          "Drop all of them but one."),
    _rule("no_primary_key", INFO, PERFORMANCE, "No primary key",
          "The table has no primary key: rows cannot be addressed one by one (PostgREST "
          "updates, logical replication) and are slow to find at scale.",
          "Add a primary key."),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}

# Column names (lower case, "-" read as "_") that suggest secrets or data
# about a person; a name also matches when it ends with "_" and one of them.
# Every name Supabase's advisor treats as sensitive is here (it matches whole
# names only), so sensitive_columns_exposed finds at least what it finds.
SENSITIVE_COLUMNS = frozenset((
    # credentials
    "password", "password_hash", "passwd", "pwd", "passphrase", "secret", "secret_key",
    "api_key", "apikey", "auth_key", "private_key", "access_token", "refresh_token",
    "session_token", "oauth_token", "bearer_token", "auth_code", "session_id", "session_key",
    "session_secret", "token", "jwt", "otp", "otp_secret", "two_factor", "2fa_secret",
    "2fa_code", "recovery_code", "backup_code", "verification_code",
    # keys and certificates
    "pgp_key", "gpg_key", "ssh_key", "certificate", "license_key", "activation_key",
    # identity documents
    "ssn", "social_security", "social_security_number", "tax_id", "national_id",
    "passport_number", "passport_id", "driver_license", "drivers_license", "license_number",
    # money
    "credit_card", "card_number", "cvv", "cvc", "cvn", "iban", "swift_code", "bic",
    "bank_account", "account_number", "routing_number",
    # health, devices, biometrics
    "medical_record", "health_record", "patient_id", "insurance_number", "health_insurance",
    "medical_insurance", "treatment", "mac_address", "macaddr", "imei", "device_uuid",
    "facial_recognition"))
PERSONAL_COLUMNS = SENSITIVE_COLUMNS | frozenset((
    "email", "email_address", "phone", "phone_number", "mobile", "address", "street",
    "street_address", "postal_code", "zip_code", "birth_date", "birthday", "date_of_birth",
    "dob", "first_name", "last_name", "full_name", "ip_address", "latitude", "longitude"))


def column_matches(column: str, names: frozenset[str]) -> bool:
    normal = column.lower().replace("-", "_")
    last = normal.rpartition("_")[2]
    return normal in names or ("_" in normal and last in names)


# --------------------------------------------------------------------------
# expressions

# A call that reads the request's identity: auth.uid() and friends, or a
# setting (request.jwt.claims, ...).
_IDENTITY_CALL = re.compile(
    r"(?<![\w$])((?:auth\.(?:uid|jwt|role|email))|(?:pg_catalog\.)?current_setting)\s*\(",
    re.IGNORECASE)
_SUBSELECT = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)


def per_row_calls(expression: str | None) -> list[str]:
    """The identity calls of ``expression`` not inside a sub-select (so per row).

    Quoted text and identifiers are skipped; ``(SELECT auth.uid())`` is
    evaluated once per statement (an InitPlan), ``auth.uid()`` once per row.
    """
    if not expression:
        return []
    found: list[str] = []
    stack: list[bool] = []  # per open parenthesis: does it start a sub-select?
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if expression[end] == ch:
                    if end + 1 < n and expression[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            i = end + 1
            continue
        if ch == "(":
            stack.append(bool(_SUBSELECT.match(expression, i + 1)))
        elif ch == ")":
            if stack:
                stack.pop()
        else:
            m = _IDENTITY_CALL.match(expression, i)
            if m and (i == 0 or not (expression[i - 1].isalnum() or expression[i - 1] in "_.$")):
                if not any(stack):
                    found.append(m.group(1).lower().removeprefix("pg_catalog.") + "()")
                i = m.end() - 1  # the call's "(" is read next
                continue
        i += 1
    return found


# The advisor's reading of a policy expression (auth_rls_initplan): a call is
# flagged when its text occurs and the text "select <call>" does not (case
# ignored there); current_setting is matched with any arguments.
_ADVISOR_AUTH_CALLS = ("auth.uid()", "auth.jwt()", "auth.role()", "auth.email()")
_CURRENT_SETTING_CALL = re.compile(r"current_setting\(.*\)", re.DOTALL)
_SELECTED_CURRENT_SETTING = re.compile(r"select current_setting\(.*\)", re.DOTALL)


def advisor_initplan_calls(expression: str | None) -> list[str]:
    """The calls Supabase's advisor flags in ``expression`` (auth_rls_initplan)."""
    if not expression:
        return []
    lower = expression.lower()
    found = [call for call in _ADVISOR_AUTH_CALLS
             if call in expression and f"select {call}" not in lower]
    if (_CURRENT_SETTING_CALL.search(expression)
            and not _SELECTED_CURRENT_SETTING.search(lower)):
        found.append("current_setting()")
    return found


def _initplan_verdict(using: str | None, with_check: str | None) -> str | None:
    """auth_rls_initplan's message for a policy, or None: the advisor's calls, and
    whether PostgreSQL evaluates them once per row or once per statement."""
    flagged = advisor_initplan_calls(using) + advisor_initplan_calls(with_check)
    if not flagged:
        return None
    calls = ", ".join(dict.fromkeys(flagged))
    per_row = set(per_row_calls(using) + per_row_calls(with_check)) & set(flagged)
    how = ("PostgreSQL evaluates it once per row" if per_row else
           "it runs once per statement here (inside a sub-select), but the advisor judges "
           "the text")
    return (f"calls {calls} without the (select ...) wrapper Supabase's advisor looks for: "
            f"{how}")


def _missed_verdict(using: str | None, with_check: str | None) -> str | None:
    """policy_call_per_row's message: calls evaluated once per row that the advisor's
    text test lets pass, or None."""
    missed = [call for expression in (using, with_check)
              for call in per_row_calls(expression)
              if call not in advisor_initplan_calls(expression)]
    if not missed:
        return None
    return (f"calls {', '.join(dict.fromkeys(missed))} once per row, outside any sub-select; "
            "the advisor does not flag it (the call appears wrapped elsewhere)")


_TRUE = frozenset(("true", "1=1", "'t'::boolean", "'true'::boolean"))


def always_true(expression: str | None) -> bool:
    """``expression`` is a constant true (``true``, ``(true)``, ``1 = 1``)."""
    if expression is None:
        return False
    text = "".join(expression.lower().split())
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1]
    return text in _TRUE


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def reads_user_metadata(expression: str | None) -> bool:
    return expression is not None and "user_metadata" in expression.lower()


# --------------------------------------------------------------------------
# catalog facts


@dataclass(frozen=True)
class Facts:
    """What ``sql/lint.sql`` read: attributes by kind and name, over every managed
    schema. Names in the API schema are bare, others carry their schema
    (``crm_private.counts``), as plan names them; each item's ``schema`` says
    where it is."""

    schema: str  # the API schema
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # pg_graphql installed; the schemas PostgREST's settings expose (pgrst.db_schemas).
    server: dict[str, Any] = field(default_factory=dict)

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.items.get(kind, {})

    def exposed(self, kind: str) -> dict[str, dict[str, Any]]:
        """The items of ``kind`` in a schema the API serves: the API schema, and any
        other the server's PostgREST settings name (the advisor's own scoping)."""
        served = {self.schema, *(self.server.get("exposed_schemas") or ())}
        return {name: item for name, item in self.of(kind).items()
                if item.get("schema", self.schema) in served}

    @functools.cached_property
    def other_schemas(self) -> tuple[str, ...]:
        """The managed schemas besides the API schema that hold something."""
        return tuple(sorted({item["schema"] for kind in self.items.values()
                             for item in kind.values()} - {self.schema}))

    def policies_of(self, table: str) -> list[dict[str, Any]]:
        return self._policies_by_table.get(table, [])

    @functools.cached_property
    def _policies_by_table(self) -> dict[str, list[dict[str, Any]]]:
        by_table: dict[str, list[dict[str, Any]]] = {}
        for policy in self.of("policy").values():
            by_table.setdefault(policy["table"], []).append(policy)
        return by_table


def qualified(schema: str, api_schema: str, name: str) -> str:
    """``name`` as lint (and plan) names it: bare in the API schema, else with its schema."""
    return name if schema == api_schema else f"{schema}.{name}"


def read_facts(conn: psycopg.Connection[Any], schema: str,
               schemas: Sequence[str] = ()) -> Facts:
    """The catalog as the rules read it, in ``schema`` (the API schema) and the other
    managed ``schemas`` (one query, and one per schema for the policies; in a
    savepoint that is rolled back)."""
    query = (resources.files("supabase_init") / "sql" / "lint.sql").read_text(encoding="utf-8")
    every = list(_every_schema(schema, schemas))
    items: dict[str, dict[str, dict[str, Any]]] = {}
    server: dict[str, Any] = {}
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog', true)")
        for where, kind, name, attrs in conn.execute(query, {"schemas": every}).fetchall():
            if kind == "server":
                server = attrs
                continue
            for key in ("table",) if kind in ("foreign_key", "index") else ():
                attrs[key] = qualified(where, schema, attrs[key])
            items.setdefault(kind, {})[qualified(where, schema, name)] = {**attrs,
                                                                          "schema": where}
        policies = items.setdefault("policy", {})
        # One query for every schema: names outside the API schema carry theirs.
        for item in read_items(conn, "policies", schema=schema, schemas=every[1:]):
            table = (item.parent or "").removeprefix("table ")
            where = table.partition(".")[0] if "." in table else schema
            policies[item.name] = {
                "table": table, "policy": item.name[len(table) + 1:], "using": None,
                "with_check": None, "roles": [], **item.attrs, "schema": where}
    return Facts(schema, items, server)


Hit = tuple[str, str]  # (object, message)
CatalogCheck = Callable[[Facts], Iterable[Hit]]
_CATALOG: dict[str, CatalogCheck] = {}


def catalog_hits(rule_id: str, facts: Facts) -> list[Hit]:
    """What one catalog rule finds in ``facts``: (object, message) pairs."""
    return list(_CATALOG[rule_id](facts))


def _catalog(rule_id: str) -> Callable[[CatalogCheck], CatalogCheck]:
    assert rule_id in RULES_BY_ID, rule_id

    def register(check: CatalogCheck) -> CatalogCheck:
        _CATALOG[rule_id] = check
        return check
    return register


def _api_privileges(table: dict[str, Any]) -> dict[str, list[str]]:
    privileges = table.get("privileges") or {}
    return {role: list(privileges.get(role) or ()) for role in API_ROLES}


def _who(roles: Iterable[str]) -> str:
    return " and ".join(roles)


@_catalog("rls_disabled_in_public")
def _rls_disabled_in_public(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.exposed("table").items():
        readers = [r for r, p in _api_privileges(table).items() if "SELECT" in p]
        if not table["row_security"] and readers:
            yield (f"table {name}", f"row level security is disabled and {_who(readers)} "
                   "can read every row through the API")


@_catalog("rls_disabled_api_writable")
def _rls_disabled_api_writable(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.exposed("table").items():
        privileges = _api_privileges(table)
        if table["row_security"] or any("SELECT" in p for p in privileges.values()):
            continue
        writers = {r: [p for p in ps if p != "SELECT"] for r, ps in privileges.items()}
        writers = {r: ps for r, ps in writers.items() if ps}
        if writers:
            what = "; ".join(f"{r}: {', '.join(ps)}" for r, ps in writers.items())
            yield (f"table {name}", f"row level security is disabled and the API can write "
                   f"every row ({what})")


@_catalog("policy_exists_rls_disabled")
def _policy_exists_rls_disabled(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.of("table").items():
        policies = sorted(p["policy"] for p in facts.policies_of(name))
        if policies and not table["row_security"]:
            yield (f"table {name}", f"has policies ({', '.join(policies)}) but row level "
                   "security is disabled, so they are ignored")


@_catalog("rls_enabled_no_policy")
def _rls_enabled_no_policy(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.of("table").items():
        if table["row_security"] and not facts.policies_of(name):
            yield (f"table {name}", "row level security is enabled but the table has no "
                   "policy: no API role gets any row")


def _security_invoker(view: dict[str, Any]) -> bool:
    options = {o.partition("=")[0].lower(): o.partition("=")[2].lower()
               for o in view.get("options") or ()}
    return options.get("security_invoker") in ("true", "on", "1", "yes")


@_catalog("security_definer_view")
def _security_definer_view(facts: Facts) -> Iterator[Hit]:
    for name, view in facts.exposed("view").items():
        readers = [r for r, p in _api_privileges(view).items() if "SELECT" in p]
        if readers and not _security_invoker(view):
            yield (f"view {name}", f"{_who(readers)} can read it, and it runs with its "
                   "owner's privileges and row level security (no security_invoker)")


@_catalog("view_without_security_invoker")
def _view_without_security_invoker(facts: Facts) -> Iterator[Hit]:
    for name, view in facts.exposed("view").items():
        readers = [r for r, p in _api_privileges(view).items() if "SELECT" in p]
        if not readers and not _security_invoker(view):
            yield (f"view {name}", "runs with its owner's privileges and row level "
                   "security (no security_invoker)")


@_catalog("function_search_path_mutable")
def _function_search_path_mutable(facts: Facts) -> Iterator[Hit]:
    for name, function in facts.of("function").items():
        if not function["search_path_set"]:
            yield (f"function {name}", "has no fixed search_path: it resolves names through "
                   "the caller's")


def _applies_to_api(roles: Sequence[str]) -> list[str]:
    return [r for r in roles if r in API_ROLES or r in ("PUBLIC", "public")]


def _write_always_true(command: str, using: str | None, with_check: str | None) -> str | None:
    """Which part of a write policy is always true ("USING", "WITH CHECK"), or None."""
    if command in ("UPDATE", "DELETE", "ALL") and always_true(using):
        return "USING"
    if command in ("INSERT", "UPDATE", "ALL") and always_true(with_check):
        return "WITH CHECK"
    # A policy without an expression admits nothing (PostgreSQL reads a missing
    # one as false; an UPDATE or ALL policy checks new rows with its USING).
    return None


def _advisor_reads_open(command: str, using: str | None, with_check: str | None) -> str | None:
    """The missing part Supabase's advisor reads as allow-all in a permissive write
    policy ("USING", "WITH CHECK"), or None. PostgreSQL admits no row through a
    missing expression, so such a policy is closed, but the advisor flags it."""
    if command in ("UPDATE", "DELETE", "ALL") and using is None:
        return "USING"
    if command == "INSERT" and with_check is None:
        return "WITH CHECK"
    return None


@_catalog("rls_policy_always_true")
def _rls_policy_always_true(facts: Facts) -> Iterator[Hit]:
    for name, p in sorted(facts.of("policy").items()):
        roles = _applies_to_api(p["roles"] or ())
        if not (p["permissive"] and roles
                and facts.of("table").get(p["table"], {}).get("row_security")):
            continue
        part = _write_always_true(p["command"], p["using"], p["with_check"])
        missing = _advisor_reads_open(p["command"], p["using"], p["with_check"])
        if part:
            yield (f"policy {name}", f"{p['command']} for {_who(roles)}: {part} is always "
                   "true, so every row can be written")
        elif missing:
            yield (f"policy {name}", f"{p['command']} for {_who(roles)}: {missing} is "
                   "missing; PostgreSQL admits no row through it, but Supabase's advisor "
                   "reads a missing expression as always true")


@_catalog("select_policy_always_true")
def _select_policy_always_true(facts: Facts) -> Iterator[Hit]:
    for name, p in sorted(facts.of("policy").items()):
        roles = _applies_to_api(p["roles"] or ())
        if (p["permissive"] and roles and p["command"] == "SELECT"
                and always_true(p["using"])):
            yield (f"policy {name}", f"SELECT for {_who(roles)}: USING is always true, so "
                   "every row is visible")


@_catalog("rls_references_user_metadata")
def _rls_references_user_metadata(facts: Facts) -> Iterator[Hit]:
    for name, p in sorted(facts.of("policy").items()):
        if reads_user_metadata(p["using"]) or reads_user_metadata(p["with_check"]):
            yield (f"policy {name}", "reads user_metadata, which every user can set for "
                   "themselves")


@_catalog("sensitive_columns_exposed")
def _sensitive_columns_exposed(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.exposed("table").items():
        readers = [r for r, p in _api_privileges(table).items() if "SELECT" in p]
        columns = [c for c in table["columns"] if column_matches(c, SENSITIVE_COLUMNS)]
        if readers and columns and not table["row_security"]:
            yield (f"table {name}", f"{_who(readers)} can read columns {', '.join(columns)} "
                   "of every row (no row level security)")


def _definer_executable(facts: Facts, role: str) -> Iterator[Hit]:
    for name, function in sorted(facts.exposed("function").items()):
        if function["security_definer"] and role in function["executable_by"]:
            yield (f"function {name}", f"is SECURITY DEFINER and {role} may execute it "
                   f"(/rpc/{name.partition('(')[0]})")


@_catalog("anon_security_definer_function_executable")
def _anon_definer(facts: Facts) -> Iterator[Hit]:
    return _definer_executable(facts, "anon")


@_catalog("authenticated_security_definer_function_executable")
def _authenticated_definer(facts: Facts) -> Iterator[Hit]:
    return _definer_executable(facts, "authenticated")


@_catalog("security_definer_function_in_api")
def _definer_in_api(facts: Facts) -> Iterator[Hit]:
    for name, function in sorted(facts.exposed("function").items()):
        if function["security_definer"] and not function.get("returns_trigger"):
            yield (f"function {name}", f"is SECURITY DEFINER in the API schema "
                   f"{facts.schema}")


_COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


def _opens(policy: dict[str, Any], command: str) -> bool | None:
    """Whether a permissive ``policy`` lets ``command`` through for every row (None: it
    does not apply to the command). Permissive policies are OR-ed: one open is enough."""
    if not policy["permissive"] or policy["command"] not in (command, "ALL"):
        return None
    if command == "INSERT":
        check = policy["with_check"]
        if check is None and policy["command"] == "ALL":
            check = policy["using"]
        return always_true(check)
    return always_true(policy["using"])


@_catalog("anon_write_without_policy")
def _anon_write_without_policy(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.exposed("table").items():
        writes = [p for p in _api_privileges(table)["anon"] if p != "SELECT"]
        if not writes:
            continue
        if not table["row_security"]:
            yield (f"table {name}", f"anon may {', '.join(writes)} and row level security is "
                   "disabled, so nothing restricts it")
            continue
        policies = [p for p in facts.policies_of(name)
                    if {"anon", "PUBLIC", "public"} & set(p["roles"] or ())]
        open_commands = [c for c in writes if any(_opens(p, c) for p in policies)]
        if open_commands:
            yield (f"table {name}", f"anon may {', '.join(open_commands)} and a policy for it "
                   "is always true")


@_catalog("anon_grant_personal_data")
def _anon_grant_personal_data(facts: Facts) -> Iterator[Hit]:
    for kind in ("table", "view"):
        for name, relation in facts.exposed(kind).items():
            granted = _api_privileges(relation)["anon"]
            columns = [c for c in relation["columns"] if column_matches(c, PERSONAL_COLUMNS)]
            if granted and columns:
                yield (f"{kind} {name}", f"anon holds {', '.join(granted)} on it, and it has "
                       f"personal data ({', '.join(columns)})")


@_catalog("auth_rls_initplan")
def _auth_rls_initplan(facts: Facts) -> Iterator[Hit]:
    tables = facts.of("table")
    for name, p in sorted(facts.of("policy").items()):
        verdict = _initplan_verdict(p["using"], p["with_check"])
        if verdict and tables.get(p["table"], {}).get("row_security"):
            yield (f"policy {name}", verdict)


@_catalog("policy_call_per_row")
def _policy_call_per_row(facts: Facts) -> Iterator[Hit]:
    for name, p in sorted(facts.of("policy").items()):
        verdict = _missed_verdict(p["using"], p["with_check"])
        if verdict:
            yield (f"policy {name}", verdict)


def _graphql_exposed(facts: Facts, role: str) -> Iterator[Hit]:
    installed = facts.server.get("pg_graphql", False)
    note = "" if installed else " (pg_graphql is not installed here; hosted projects have it)"
    who = "anyone with the anon key" if role == "anon" else "every signed-in user"
    for kind in ("table", "view"):
        for name, relation in sorted(facts.of(kind).items()):
            # pg_graphql leaves a partitioned table out and shows its partitions.
            if relation.get("partitioned") or "SELECT" not in _api_privileges(relation)[role]:
                continue
            yield (f"{kind} {name}", f"{role} can SELECT it, so pg_graphql shows its name and "
                   f"columns to {who}{note}")


@_catalog("pg_graphql_anon_table_exposed")
def _graphql_anon(facts: Facts) -> Iterator[Hit]:
    return _graphql_exposed(facts, "anon")


@_catalog("pg_graphql_authenticated_table_exposed")
def _graphql_authenticated(facts: Facts) -> Iterator[Hit]:
    return _graphql_exposed(facts, "authenticated")


@_catalog("multiple_permissive_policies")
def _multiple_permissive_policies(facts: Facts) -> Iterator[Hit]:
    by_key: dict[tuple[str, str, str], list[str]] = {}
    for p in facts.of("policy").values():
        if not p["permissive"]:
            continue
        commands = _COMMANDS if p["command"] == "ALL" else (p["command"],)
        # A policy for PUBLIC applies to every role, so it adds to each API role's.
        roles = p["roles"] or ()
        if {"PUBLIC", "public"} & set(roles):
            roles = (*roles, *(r for r in API_ROLES if r not in roles))
        for role in dict.fromkeys(roles):
            for command in commands:
                by_key.setdefault((p["table"], role, command), []).append(p["policy"])
    for (table, role, command), names in sorted(by_key.items()):
        if len(names) > 1:
            yield (f"table {table}", f"{role} has {len(names)} permissive {command} policies "
                   f"({', '.join(sorted(names))}), each evaluated for every row")


@_catalog("unindexed_foreign_keys")
def _unindexed_foreign_keys(facts: Facts) -> Iterator[Hit]:
    for name, fk in sorted(facts.of("foreign_key").items()):
        columns = ", ".join(fk["columns"] or ())
        if not fk["covered"]:
            yield (f"constraint {name}", f"no index of table {fk['table']} leads with "
                   f"({columns})")
        elif not fk["in_order"]:
            yield (f"constraint {name}", f"an index of table {fk['table']} leads with "
                   f"({columns}) in another order: it serves the key, but Supabase's "
                   "advisor wants the key's order")


@_catalog("duplicate_index")
def _duplicate_index(facts: Facts) -> Iterator[Hit]:
    groups: dict[tuple[str, str], list[tuple[bool, str]]] = {}
    for name, index in facts.of("index").items():
        groups.setdefault((index["table"], index["shape"]), []).append(
            (index["constraint"] is None, name))
    for (table, _), members in sorted(groups.items()):
        if len(members) > 1:
            # The one kept: a constraint's index if there is one, else the first by name.
            (_, kept), *extra = sorted(members)
            for _, name in extra:
                yield (f"index {name}", f"has the same definition as {kept} on table {table}")


@_catalog("no_primary_key")
def _no_primary_key(facts: Facts) -> Iterator[Hit]:
    for name, table in facts.of("table").items():
        if not table["primary_key"]:
            yield (f"table {name}", "has no primary key")


assert set(_CATALOG) == set(RULES_BY_ID), set(RULES_BY_ID) - set(_CATALOG)


# --------------------------------------------------------------------------
# static forms: the config, the templates and the rendered SQL, no database


@dataclass(frozen=True)
class StaticInput:
    """What the static rules read."""

    config: Config
    sources: SourceMap
    sql: str
    schema: str

    def table_columns(self) -> dict[str, list[str]]:
        """Columns of the tables the rendered SQL creates (CREATE TABLE and ADD COLUMN)."""
        try:
            statements = split_statements(self.sql)
        except SplitError:
            return {}
        found: dict[str, list[str]] = {}
        for stmt in statements:
            m = _CREATE_TABLE.match(stmt.text)
            if m is None:
                continue
            columns = found.setdefault(m.group(1).lower(), [])
            for element in _top_level_elements(stmt.text[m.end():]):
                word = element.split(None, 1)[0].strip('"') if element.strip() else ""
                if word and word.upper() not in _NOT_COLUMNS:
                    columns.append(word)
        return found


_CREATE_TABLE = re.compile(
    r"\s*CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?:\"?[\w$]+\"?\.)?\"?([\w$]+)\"?\s*\(", re.IGNORECASE)
_NOT_COLUMNS = frozenset(("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE",
                          "LIKE"))


def _top_level_elements(body: str) -> list[str]:
    """The comma-separated elements of a CREATE TABLE's list (``body`` starts after "(")."""
    elements, depth, start, quote = [], 0, 0, ""
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                elements.append(body[start:i])
                break
            depth -= 1
        elif ch == "," and depth == 0:
            elements.append(body[start:i])
            start = i + 1
    return elements


StaticHit = tuple[str, str, Location | None]
StaticCheck = Callable[[StaticInput], Iterable[StaticHit]]
_STATIC: dict[str, StaticCheck] = {}


def _static(rule_id: str) -> Callable[[StaticCheck], StaticCheck]:
    assert RULES_BY_ID[rule_id].static, rule_id

    def register(check: StaticCheck) -> StaticCheck:
        _STATIC[rule_id] = check
        return check
    return register


def _policy_object(p: Policy) -> str:
    return f"policy {p.table}.{p.name}"


def _unconditioned(p: Policy) -> bool:
    """No generated condition (level, owner column) is added to the policy's own."""
    return p.level is None and p.owner_column is None


@_static("rls_policy_always_true")
def _static_write_always_true(s: StaticInput) -> Iterator[StaticHit]:
    for p in s.config.policies:
        roles = _applies_to_api(p.roles)
        if p.command == "SELECT" or not p.permissive or not roles or not _unconditioned(p):
            continue
        part = _write_always_true(p.command, p.using, p.with_check)
        if part:
            yield (_policy_object(p), f"{p.command} for {_who(roles)}: {part} is always true, "
                   "so every row can be written", None)


@_static("select_policy_always_true")
def _static_select_always_true(s: StaticInput) -> Iterator[StaticHit]:
    for p in s.config.policies:
        roles = _applies_to_api(p.roles)
        if (p.command == "SELECT" and p.permissive and roles and _unconditioned(p)
                and always_true(p.using)):
            yield (_policy_object(p), f"SELECT for {_who(roles)}: USING is always true, so "
                   "every row is visible", None)


@_static("rls_references_user_metadata")
def _static_user_metadata(s: StaticInput) -> Iterator[StaticHit]:
    for p in s.config.policies:
        if reads_user_metadata(p.using) or reads_user_metadata(p.with_check):
            yield (_policy_object(p), "reads user_metadata, which every user can set for "
                   "themselves", None)


@_static("auth_rls_initplan")
def _static_initplan(s: StaticInput) -> Iterator[StaticHit]:
    for p in s.config.policies:
        verdict = _initplan_verdict(p.using, p.with_check)
        if verdict:
            yield (_policy_object(p), verdict, None)


@_static("policy_call_per_row")
def _static_call_per_row(s: StaticInput) -> Iterator[StaticHit]:
    for p in s.config.policies:
        verdict = _missed_verdict(p.using, p.with_check)
        if verdict:
            yield (_policy_object(p), verdict, None)


@_static("anon_grant_personal_data")
def _static_anon_personal_data(s: StaticInput) -> Iterator[StaticHit]:
    columns = s.table_columns()
    for g in s.config.grants:
        if "anon" not in g.roles or g.kind != "tables":
            continue
        for table in g.objects:
            personal = [c for c in columns.get(table, ()) if column_matches(c, PERSONAL_COLUMNS)]
            if personal:
                yield (f"table {table}", f"anon holds {', '.join(g.privileges)} on it (grant "
                       f"{g.name!r}), and it has personal data ({', '.join(personal)})",
                       s.sources.grant("anon", "table", table))


_DEFINER = re.compile(r"\bSECURITY\s+DEFINER\b", re.IGNORECASE)
_RETURNS_TRIGGER = re.compile(r"\bRETURNS\s+trigger\b", re.IGNORECASE)


@_static("security_definer_function_in_api")
def _static_definer_in_api(s: StaticInput) -> Iterator[StaticHit]:
    for function in s.config.objects.functions:
        where = s.sources.locate("function", function.name)
        path = s.sources.project.root / where.path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        code = [text.split("--", 1)[0] for text in lines]
        if any(_RETURNS_TRIGGER.search(text) for text in code):
            continue  # only a trigger calls it
        for number, text in enumerate(code, start=1):
            if _DEFINER.search(text):
                yield (f"function {function.qualified_args}", "is SECURITY DEFINER in the "
                       f"API schema {s.schema}", Location(where.path, number))
                break


# --------------------------------------------------------------------------
# running the rules


def _object_kind_name(obj: str) -> tuple[str, str]:
    kind, _, name = obj.partition(" ")
    return kind, name


def _located(finding: Finding, sources: SourceMap, table: str | None = None,
             schemas: Iterable[str] = ()) -> Finding:
    if finding.path is not None:
        return finding
    kind, name = _object_kind_name(finding.object)
    # Templates name an object without the schema it lands in (a variable).
    for schema in schemas:
        name = name.removeprefix(f"{schema}.")
        table = table.removeprefix(f"{schema}.") if table else table
    where = sources.locate(kind, name, table)
    return replace(finding, path=where.path, line=where.line)


def _table_of(facts: Facts | None, obj: str) -> str | None:
    kind, name = _object_kind_name(obj)
    if facts is None:
        return None
    if kind == "index":
        return (facts.of("index").get(name) or {}).get("table")
    if kind == "constraint":
        return (facts.of("foreign_key").get(name) or {}).get("table")
    return None


def check_catalog(facts: Facts, project: Project, *, locate: bool = True) -> list[Finding]:
    """Every rule's catalog form on ``facts``, suppressed per the config, and located
    (``locate``: a summary needs no file and line, and finding them reads the templates)."""
    findings = suppress((Finding(rule.id, rule.level, obj, message, rule.fix)
                         for rule in RULES for obj, message in _CATALOG[rule.id](facts)),
                        project.config)
    return locate_all(findings, project, facts) if locate else findings


def locate_all(findings: Iterable[Finding], project: Project,
               facts: Facts | None = None) -> list[Finding]:
    """The findings with the file and line their objects come from."""
    sources = SourceMap(project)
    others = facts.other_schemas if facts is not None else ()
    return [_located(f, sources, _table_of(facts, f.object), others) for f in findings]


def check_static(project: Project, sql: str, schema: str) -> list[Finding]:
    """The static forms of the rules that have one (no database)."""
    sources = SourceMap(project)
    given = StaticInput(project.config, sources, sql, schema)
    findings = []
    for rule in RULES:
        check = _STATIC.get(rule.id)
        if check is None:
            continue
        for obj, message, where in check(given):
            finding = Finding(rule.id, rule.level, obj, message, rule.fix,
                              where.path if where else None, where.line if where else None)
            findings.append(_located(finding, sources))
    return suppress(findings, project.config)


def static_rules() -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.static)


def check_ignores(config: Config) -> None:
    """Every lint block names a rule that exists (ConfigError naming its line)."""
    for ignore in config.lint_ignores:
        if ignore.rule not in RULES_BY_ID:
            raise ConfigError(f"lint {ignore.rule!r}: unknown rule (rules: "
                              f"{', '.join(sorted(RULES_BY_ID))})", path=config.path,
                              line=ignore.line)


def suppress(findings: Iterable[Finding], config: Config) -> list[Finding]:
    """The findings, those a lint block ignores or accepts marked with its reason."""
    check_ignores(config)
    by_rule: dict[str, LintIgnore] = {i.rule: i for i in config.lint_ignores}
    out = []
    for finding in findings:
        ignore = by_rule.get(finding.rule)
        if ignore is not None and ("*" in ignore.objects or finding.object in ignore.objects):
            finding = replace(finding, suppressed=ignore.reason)
        elif ignore is not None and finding.object in ignore.accept:
            finding = replace(finding, accepted=ignore.reason)
        out.append(finding)
    return sorted(out, key=lambda f: (LEVELS.index(f.level), f.rule, f.object))


def unused_ignores(findings: Sequence[Finding], config: Config) -> tuple[str, ...]:
    """The lint block entries that match no finding, as "rule: object"."""
    found = {(f.rule, f.object) for f in findings if f.suppressed is not None}
    rules = {rule for rule, _ in found}
    return tuple(f"{ignore.rule}: {item}" for ignore in config.lint_ignores
                 for item in ignore.objects
                 if (ignore.rule not in rules if item == "*"
                     else (ignore.rule, item) not in found))


def stale_accepts(findings: Sequence[Finding], config: Config) -> tuple[str, ...]:
    """The accepted findings (lint blocks' accept entries) that no longer occur."""
    found = {(f.rule, f.object) for f in findings if f.accepted is not None}
    return tuple(f"{block.rule}: {item}" for block in config.lint_ignores
                 for item in block.accept if (block.rule, item) not in found)


def inspector(project: Project, schema: str, *, locate: bool = True,
              schemas: Sequence[str] = ()) -> Callable[[psycopg.Connection[Any]], LintResult]:
    """A callable that lints the catalog of ``schema`` (the API schema) and the other
    managed ``schemas`` on a connection (for ``inspect`` of a transaction);
    ``locate``: see ``check_catalog``."""
    check_ignores(project.config)

    def inspect(conn: psycopg.Connection[Any]) -> LintResult:
        started = time.monotonic()
        findings = check_catalog(read_facts(conn, schema, schemas), project, locate=locate)
        return LintResult(schema, "planned", tuple(findings), RULES,
                          seconds=time.monotonic() - started,
                          unused_ignores=unused_ignores(findings, project.config),
                          stale_accepts=stale_accepts(findings, project.config),
                          schemas=_every_schema(schema, schemas))
    return inspect


def _every_schema(schema: str, schemas: Sequence[str]) -> tuple[str, ...]:
    return (schema, *(s for s in schemas if s != schema))


def gate(project: Project, schema: str, fail_on: str = ERROR, *,
         schemas: Sequence[str] = ()) -> Callable[[psycopg.Connection[Any]], LintResult]:
    """Like ``inspector``, but raises LintFailed when the lint fails at ``fail_on``
    (inside apply's transaction, before the commit: nothing is committed). Only the
    findings named in the message are located."""
    check_ignores(project.config)
    worst = LEVELS[:LEVELS.index(fail_on) + 1]

    def check(conn: psycopg.Connection[Any]) -> LintResult:
        started = time.monotonic()
        facts = read_facts(conn, schema, schemas)
        findings = check_catalog(facts, project, locate=False)
        failing = [f for f in findings
                   if f.suppressed is None and f.accepted is None and f.level in worst]
        if failing:
            raise LintFailed(refusal(failing, fail_on, project, facts))
        return LintResult(schema, "planned", tuple(findings), RULES,
                          seconds=time.monotonic() - started,
                          schemas=_every_schema(schema, schemas))
    return check


def refusal(failing: Sequence[Finding], fail_on: str, project: Project,
            facts: Facts | None = None) -> str:
    """Why apply refused, on one line: the first failing findings, located."""
    shown = "; ".join(f"{f.rule} on {f.object} ({f.path}:{f.line})"
                      for f in locate_all(failing[:3], project, facts))
    more = f"; and {len(failing) - 3} more" if len(failing) > 3 else ""
    return (f"lint found {len(failing)} {fail_on}-level finding(s) in the state apply would "
            f"leave, so nothing was applied: {shown}{more}. Run `supabase-init lint` for the "
            "details and fixes, or apply --skip-lint")


def static_result(project: Project, sql: str, schema: str) -> LintResult:
    """Lint without a database: the static forms only."""
    started = time.monotonic()
    check_ignores(project.config)
    findings = check_static(project, sql, schema)
    return LintResult(schema, "static", tuple(findings), static_rules(),
                      seconds=time.monotonic() - started)


__all__ = ["ERROR", "INFO", "LEVELS", "RULES", "RULES_BY_ID", "WARN", "Facts", "Finding",
           "LintFailed", "LintResult", "Rule", "advisor_initplan_calls", "always_true",
           "check_catalog", "check_ignores", "check_static", "gate", "inspector", "locate_all",
           "per_row_calls", "read_facts", "refusal", "stale_accepts", "static_result",
           "suppress", "unused_ignores"]

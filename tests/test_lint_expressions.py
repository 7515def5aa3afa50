"""The lint's reading of policy expressions: per-row identity calls, always-true."""

from __future__ import annotations

import pytest

from supabase_init.lint import SENSITIVE_COLUMNS, always_true, column_matches, per_row_calls

# The CRM's level check, as PostgreSQL prints it.
LEVEL_CHECK = ("( SELECT (((NULLIF(current_setting('request.jwt.claims'::text, true), "
               "''::text))::jsonb #>> '{app_metadata,crm_role}'::text[]) = ANY "
               "(ARRAY['viewer'::text, 'operator'::text, 'admin'::text])))")


@pytest.mark.parametrize(("expression", "calls"), [
    ("(owner = auth.uid())", ["auth.uid()"]),
    ("(owner = ( SELECT auth.uid() AS uid))", []),
    (LEVEL_CHECK, []),
    (f"({LEVEL_CHECK} AND (team = current_setting('app.team'::text)))",
     ["current_setting()"]),
    ("(body = pg_catalog.current_setting('x', true))", ["current_setting()"]),
    ("((auth.jwt() ->> 'role'::text) = 'admin'::text)", ["auth.jwt()"]),
    ("(note = 'auth.uid()'::text)", []),
    ('("auth.uid()" = body)', []),
    ("(myauth.uid() = owner)", []),
    ("(id IN ( SELECT m.id FROM members m WHERE (m.user_id = auth.uid())))", []),
    ("(AUTH.UID() = owner)", ["auth.uid()"]),
    (None, []),
])
def test_per_row_calls(expression: str | None, calls: list[str]) -> None:
    assert per_row_calls(expression) == calls


@pytest.mark.parametrize(("expression", "expected"), [
    ("true", True), ("(true)", True), ("((1 = 1))", True), ("'t'::boolean", True),
    (" TRUE ", True), (None, False), ("(id > 0)", False), ("(true AND (id > 0))", False),
    ("(x) OR (true)", False), ("false", False),
])
def test_always_true(expression: str | None, expected: bool) -> None:
    assert always_true(expression) is expected


@pytest.mark.parametrize("column", ["pwd", "session_id", "2fa_secret", "certificate", "imei",
                                    "Swift-Code", "facial_recognition", "ssh_key"])
def test_names_the_advisor_finds_sensitive_are_sensitive(column: str) -> None:
    assert column_matches(column, SENSITIVE_COLUMNS)

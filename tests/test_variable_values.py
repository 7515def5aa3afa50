"""What a variable's value may be: a pattern anchored as a whole, and each kind's rules.

A value is refused with one short line, whichever channel it comes through
(-var, a variable file, TF_VAR_*); the Terraform module's validations decide
the same (tests/test_terraform_module.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli
from supabase_init.config import anchored_as_a_whole, duration_milliseconds, pattern_matches


@pytest.mark.parametrize(("pattern", "anchored"), [
    ("^[a-z_][a-z0-9_]{0,62}$", True),
    ("^(a|b)$", True),
    ("^(?:a|b)+$", True),
    ("^[|]$", True),
    ("^[]|]$", True),
    (r"^a\|b$", True),
    (r"^a\\$", True),
    ("^$", True),
    ("^[a-z_]+$|.*$", False),
    ("^a$|^b$", False),
    ("^(a)|(b)$", False),
    (r"^a\$", False),
    ("^a$b", False),
    ("[a-z]+", False),
    ("^a)|(b$", False),
])
def test_a_pattern_must_be_anchored_as_a_whole(pattern: str, anchored: bool) -> None:
    assert anchored_as_a_whole(pattern) is anchored


@pytest.mark.parametrize("pattern", ["^[a-z_]+$|.*$", "^(a)|(b)$"])
def test_a_top_level_alternation_escapes_the_anchors(pattern: str) -> None:
    # Why such patterns are refused: anchored at both ends, they still let in SQL.
    assert pattern_matches(pattern, "a; DROP SCHEMA public CASCADE; --b")


def test_an_unanchored_alternation_is_refused_with_file_and_line(project: Path) -> None:
    config = project / "supabase-init.hcl"
    config.write_text(config.read_text().replace(
        '"^[a-z_][a-z0-9_]{0,62}$"', '"^[a-z_]+$|.*$"'))
    result = run_cli("render", "-C", str(project))
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {config}:12: variable 'schema': pattern must be anchored "
                           "with ^ and $ as a whole"), line


DURATIONS = ["0", "0us", "0.0s", "1us", "499us", "500us", "501us", "1499us", "1500us",
             "2500us", "0.5", "0.5004ms", "1.5", "2.5ms", "0.0005s", "1.0000001s", "5s",
             "5min", "1.5h", "2d", "2147483647", "2147483648", "596h", "597h", "24d", "25d"]


def test_durations_round_as_postgresql_rounds_them(database) -> None:
    with database.connect() as conn:  # type: ignore[attr-defined]
        for value in DURATIONS:
            ms = duration_milliseconds(value)
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)",
                                 (value,))
                    setting = conn.execute("SELECT setting::bigint FROM pg_catalog.pg_settings "
                                           "WHERE name = 'lock_timeout'").fetchone()[0]
            except Exception as e:  # out of range: PostgreSQL refuses the value
                assert ms is not None and ms > 2**31 - 1, (value, e)
                continue
            assert ms == setting, value


@pytest.fixture
def clean_project(project: Path) -> Path:
    for path in (project / "terraform").glob("*.tfvars*"):
        path.unlink()
    return project


def render(project: Path, tmp_path: Path, channel: str, name: str,
           value: str) -> subprocess.CompletedProcess[str]:
    if channel == "-var":
        return run_cli("render", "-C", str(project), "-var", f"{name}={value}")
    if channel == "TF_VAR":
        return run_cli("render", "-C", str(project), env={f"TF_VAR_{name}": value})
    path = tmp_path / f"v.{channel}"
    path.write_text(json.dumps({name: value}) if channel.endswith("json")
                    else f"{name} = {json.dumps(value)}\n")
    return run_cli("render", "-C", str(project), "-var-file", str(path))


REFUSED = [
    ("schema", "information_schema", "reserves for itself"),
    ("schema", "pg_temp", "reserves for itself"),
    ("schema", "pg_catalog", "reserves for itself"),
    ("lock_timeout", "1us", "rounds to 0 ms"),
    ("statement_timeout", "500us", "rounds to 0 ms"),
    ("statement_timeout", "597h", "maximum of 2147483647 ms"),
]


@pytest.mark.parametrize("channel", ["-var", "tfvars", "tfvars.json", "TF_VAR"])
@pytest.mark.parametrize(("name", "value", "reason"), REFUSED)
def test_reserved_schemas_and_vanishing_timeouts_are_refused(
        clean_project: Path, tmp_path: Path, channel: str, name: str, value: str,
        reason: str) -> None:
    result = render(clean_project, tmp_path, channel, name, value)
    assert result.returncode == 1 and result.stdout == "", result.stdout[:300]
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: variable '{name}' (from ") and reason in line, line


@pytest.mark.parametrize(("name", "value"), [
    ("schema", "crm"), ("schema", "pg"), ("schema", "_pg_x"), ("statement_timeout", "0"),
    ("lock_timeout", "501us"), ("statement_timeout", "596h"), ("lock_timeout", "0ms"),
])
def test_values_postgresql_takes_as_meant_are_accepted(clean_project: Path, name: str,
                                                      value: str) -> None:
    result = run_cli("render", "-C", str(clean_project), "-var", f"{name}={value}")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["public", "crm_private"])
def test_two_schema_variables_naming_one_schema_are_refused(clean_project: Path,
                                                            value: str) -> None:
    other = "private_schema" if value == "public" else "schema"
    result = run_cli("render", "-C", str(clean_project), "-var", f"{other}={value}")
    assert result.returncode == 1 and result.stdout == "", result.stdout[:300]
    (line,) = result.stderr.splitlines()
    assert line == (f"Error: the variables schema and private_schema both name schema "
                    f"'{value}': the objects of each need a schema of their own"), line

"""Splitting a script into statements the way psql does, with their lines."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from apply_helpers import psql_path
from conftest import REPO, run_cli
from supabase_init.sqlsplit import SplitError, split_statements


def split(script: str) -> list[tuple[int, str]]:
    return [(s.line, s.text) for s in split_statements(script)]


@pytest.mark.parametrize(("script", "expected"), [
    ("SELECT 1; SELECT 2;", [(1, "SELECT 1;"), (1, "SELECT 2;")]),
    ("SELECT 1;\n\n  SELECT 2", [(1, "SELECT 1;"), (3, "SELECT 2")]),
    ("-- leading comment\n/* block */\nSELECT 1;\n-- trailing comment\n",
     [(3, "SELECT 1;")]),
    # A comment inside a statement stays part of it.
    ("SELECT 1 -- one; not two\n, 2;", [(1, "SELECT 1 -- one; not two\n, 2;")]),
    ("SELECT 'a;b', 'it''s; fine';", [(1, "SELECT 'a;b', 'it''s; fine';")]),
    # Standard strings: a backslash is an ordinary character.
    ("SELECT 'C:\\';\nSELECT 2;", [(1, "SELECT 'C:\\';"), (2, "SELECT 2;")]),
    # Escape strings: \' does not end the string.
    ("SELECT E'it\\'s; \\\\';\nSELECT 2;", [(1, "SELECT E'it\\'s; \\\\';"), (2, "SELECT 2;")]),
    ("SELECT e'\\'';", [(1, "SELECT e'\\'';")]),
    ('SELECT 1 AS "a;""b";', [(1, 'SELECT 1 AS "a;""b";')]),
    ("DO $$ BEGIN PERFORM 1; END $$;\nSELECT 2;",
     [(1, "DO $$ BEGIN PERFORM 1; END $$;"), (2, "SELECT 2;")]),
    ("DO $fn$ BEGIN RAISE NOTICE '$$;'; END $fn$;",
     [(1, "DO $fn$ BEGIN RAISE NOTICE '$$;'; END $fn$;")]),
    # $1 is a parameter, a$b$ an identifier: neither opens a dollar quote.
    ("PREPARE p AS SELECT $1; SELECT a$b$ FROM t;",
     [(1, "PREPARE p AS SELECT $1;"), (1, "SELECT a$b$ FROM t;")]),
    ("/* outer /* inner; */ still comment; */ SELECT 1;", [(1, "SELECT 1;")]),
    ("SELECT 1 /* a\nb */;\nSELECT 2;", [(1, "SELECT 1 /* a\nb */;"), (3, "SELECT 2;")]),
    # psql does not end a statement inside parentheses.
    ("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); NOTIFY t);\nSELECT 1;",
     [(1, "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); NOTIFY t);"),
      (2, "SELECT 1;")]),
    # SQL-standard function bodies: BEGIN ATOMIC ... END, CASE ... END inside.
    ("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
     "  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\nSELECT 3;",
     [(1, "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
          "  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;"), (6, "SELECT 3;")]),
    # BEGIN as a transaction command is just a statement.
    ("BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;",
     [(1, "BEGIN;"), (2, "CREATE TABLE t (a int);"), (3, "COMMIT;")]),
    (";;\n;SELECT 1;", [(2, "SELECT 1;")]),
    ("", []),
    ("-- only a comment", []),
    # Lines count inside strings, identifiers and dollar quotes.
    ("SELECT 'a\nb';\nSELECT \"x\ny\";\nDO $$\n\n$$;\nSELECT 4;",
     [(1, "SELECT 'a\nb';"), (3, 'SELECT "x\ny";'), (5, "DO $$\n\n$$;"), (8, "SELECT 4;")]),
    ("SELECT 'ünïcödé; ok', $é$;$é$;", [(1, "SELECT 'ünïcödé; ok', $é$;$é$;")]),
    ("SELECT U&'d\\0061t\\+000061';", [(1, "SELECT U&'d\\0061t\\+000061';")]),
])
def test_split_statements(script: str, expected: list[tuple[int, str]]) -> None:
    assert split(script) == expected


@pytest.mark.parametrize(("script", "line"), [
    ("SELECT 1;\nSELECT 'open", 2),
    ("SELECT E'\\'", 1),
    ('SELECT "open', 1),
    ("\n\nDO $x$ BEGIN", 3),
    ("SELECT 1; /* /* */", 1),
])
def test_unterminated_input_is_an_error_naming_its_line(script: str, line: int) -> None:
    with pytest.raises(SplitError) as caught:
        split_statements(script)
    assert caught.value.line == line
    assert f"line {line}" in str(caught.value)


def test_first_line_is_for_messages() -> None:
    (stmt,) = split_statements("\n\nCREATE TABLE t (\n  a int\n);")
    assert (stmt.line, stmt.first_line) == (3, "CREATE TABLE t (")


def _psql_echo(url: str, path: Path) -> str:
    """The statements psql sends for a script file, as it echoes them (one per line)."""
    out = subprocess.run([psql_path(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                          "--echo-queries", "-o", os.devnull, "-d", url, "-f", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


# psql keeps a block comment that precedes a statement as part of it; the
# splitter starts a statement at its first token (so its line is the line of
# the statement itself). The boundaries are the same; this script has no
# leading block comment so the texts match exactly too.
TRICKY = """-- leading comment; not a statement
SELECT 1;
SELECT ';' AS a, $$;$$ AS b, E'\\';' AS c, 'x'';' AS d, $q$ $$; $q$ AS e;
DO $d$ BEGIN PERFORM 1; END $d$;
SELECT /* ; /* nested ; */ */ 1 -- c; x
, 2;
CREATE FUNCTION f() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT CASE WHEN true THEN 2 END;
END;
SELECT 1 AS ";", (SELECT 2
);
SELECT f()
"""


@pytest.mark.parametrize("case", ["tricky", "rendered CRM SQL"])
def test_split_matches_what_psql_sends(database, tmp_path, case) -> None:
    if case == "tricky":
        script = TRICKY
    else:
        rendered = run_cli("render", cwd=REPO)
        assert rendered.returncode == 0, rendered.stderr
        script = rendered.stdout
    path = tmp_path / "script.sql"
    path.write_text(script, encoding="utf-8")
    statements = split_statements(script)
    assert len(statements) >= 7
    assert _psql_echo(database.url, path) == "".join(s.text + "\n" for s in statements)
    lines = script.split("\n")
    for stmt in statements:
        assert lines[stmt.line - 1].startswith(stmt.first_line)

"""Connection strings: passwords are redacted, the target is described (no database)."""

from __future__ import annotations

import pytest

from supabase_init.dsn import describe_target, redact_dsn, scrub, secrets_in

SECRET = "Zq9x-Leak-Canary-7731"


@pytest.mark.parametrize(("dsn", "expected"), [
    (f"postgresql://postgres:{SECRET}@db.example.com:6543/app",
     "postgresql://postgres:***@db.example.com:6543/app"),
    (f"postgres://u:{SECRET}@h1:5432,h2:5433/app?sslmode=require",
     "postgres://u:***@h1:5432,h2:5433/app?sslmode=require"),
    (f"postgresql://u@h/app?password={SECRET}&sslmode=require",
     "postgresql://u@h/app?password=***&sslmode=require"),
    # A password with URL-escaped characters.
    ("postgresql://u:p%40ss%3Aw0rd@h/db", "postgresql://u:***@h/db"),
    ("postgresql://postgres:@/postgres?host=/tmp/sock",
     "postgresql://postgres@/postgres?host=/tmp/sock"),
    ("postgresql:///app", "postgresql:///app"),
    (f"host=h port=5432 password={SECRET} dbname=app",
     "host=h port=5432 password=*** dbname=app"),
    (f"host=h password = '{SECRET} with spaces' dbname=app",
     "host=h password=*** dbname=app"),
    (f"host=h sslpassword={SECRET}", "host=h sslpassword=***"),
    (r"host=h password='it\'s' user=me", "host=h password=*** user=me"),
])
def test_redact_dsn(dsn: str, expected: str) -> None:
    assert redact_dsn(dsn) == expected


def test_scrub_removes_every_spelling_of_the_password() -> None:
    dsn = "postgresql://u:p%40ss@h/db"
    assert secrets_in(dsn) == ["p%40ss", "p@ss"]
    assert scrub("failed for p@ss and p%40ss", dsn) == "failed for *** and ***"
    assert scrub(f"x {SECRET} y", f"password='{SECRET}'") == "x *** y"


@pytest.mark.parametrize(("dsn", "target"), [
    ("postgresql://postgres:pw@127.0.0.1:54322/postgres",
     "host 127.0.0.1, port 54322, database postgres"),
    ("postgresql://alice@[::1]/crm", "host ::1, port 5432, database crm"),
    ("postgresql://alice@db", "host db, port 5432, database alice"),
    ("postgresql://u@/app?host=/var/run/postgresql&port=6000",
     "host /var/run/postgresql, port 6000, database app"),
    ("host=h port=7 dbname='my db' password=x", "host h, port 7, database my db"),
])
def test_describe_target(dsn: str, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    assert str(describe_target(dsn)) == target

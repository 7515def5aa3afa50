"""`supabase-init apply --embedded`: the README's main-job command, end to end.

Run as on a fresh clone: from the project directory, with no DATABASE_URL and
no PG* variables, so nothing but the throwaway server can be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    # Short: the server's Unix socket lives in its data directory, and socket
    # paths are limited to about 100 bytes.
    path = Path(tempfile.mkdtemp(prefix="si-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_fresh(project: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supabase_init", "apply", *args], cwd=project,
                          env=fresh_env(tmp), capture_output=True, text=True, timeout=180)


def fresh_env(tmp: Path) -> dict[str, str]:
    """No database but the embedded one, and its temporary directories in ``tmp``."""
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("PG")
           and k != "SUPABASE_INIT_TEST_DATABASE_URL"}
    env["TMPDIR"] = str(tmp)
    return env


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                pids.append(int(entry.name))
    return pids


def test_apply_embedded_applies_reports_and_cleans_up(project, short_tmp):
    out = run_fresh(project, short_tmp, "--embedded")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Applied ") and "to a throwaway embedded server" in out.stdout
    assert "3 roles" in out.stdout and "7 tables" in out.stdout and "2 views" in out.stdout
    assert out.stderr == ""
    # Stopped and deleted: no data directory, no server process left.
    assert list(short_tmp.glob("supabase-init-embedded-*")) == []
    assert processes_mentioning(str(short_tmp)) == []


def test_apply_embedded_keep_serves_tcp_and_one_command_stops_and_removes_it(project,
                                                                             short_tmp):
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    out = run_fresh(project, short_tmp, "--embedded", "--keep", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    embedded = result["embedded"]
    assert embedded["kept"] is True and embedded["url"] in out.stderr
    root = Path(embedded["pgdata"]).parent
    stop = embedded["stop_command"]
    assert stop == f"supabase-init embedded stop {root}" and stop in out.stderr
    try:
        # A URL any client can use: TCP on the loopback address, no socket directory.
        params = conninfo_to_dict(embedded["url"])
        assert params["host"] == "127.0.0.1" and int(params["port"]) > 0, params
        assert embedded["url"].startswith("postgresql://postgres@127.0.0.1:")
        assert result["changed"] is True and result["counts"]["create"]["table"] == 7
        with psycopg.connect(embedded["url"]) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables "
                                  "WHERE schemaname IN ('public', 'crm_private')").fetchone()
            assert tables == (7,)
        again = run_fresh(project, short_tmp, "--database-url", embedded["url"])
        assert again.returncode == 0 and again.stdout.startswith("No changes:"), again
    finally:
        stopped = subprocess.run([sys.executable, "-m", "supabase_init",
                                  *stop.split()[1:]], capture_output=True, text=True,
                                 timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert not root.exists()
    assert processes_mentioning(embedded["pgdata"]) == []
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(embedded["url"], connect_timeout=3).close()


def test_embedded_stop_refuses_a_directory_that_is_not_a_kept_server(short_tmp):
    (short_tmp / "precious.txt").write_text("keep me", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "supabase_init", "embedded", "stop",
                             str(short_tmp)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "nothing was stopped or removed" in result.stderr
    assert (short_tmp / "precious.txt").read_text(encoding="utf-8") == "keep me"


def _data_started(root: Path) -> bool:
    return (root / "pgdata").exists()


def _initdb_done(root: Path) -> bool:
    return (root / "pgdata" / "PG_VERSION").exists()


def _server_up(root: Path) -> bool:
    return (root / "pgdata" / "postmaster.pid").exists()


# The moments of start-up a signal is sent at: as soon as the directory exists,
# while initdb writes the data directory, once it has written it (the server
# starting), and once the server runs (the script being applied).
MOMENTS = {"directory": lambda root: True, "initdb": _data_started,
           "server-start": _initdb_done, "server-up": _server_up}


@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_during_start_up_removes_the_server_and_its_directory(
        project: Path, short_tmp: Path, moment: str, signum: int) -> None:
    env = fresh_env(short_tmp)
    with (short_tmp / "out").open("w") as out, (short_tmp / "err").open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "supabase_init", "apply", "--embedded"],
                                cwd=project, env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 120
        reached = MOMENTS[moment]
        while proc.poll() is None and time.monotonic() < deadline:
            roots = list(short_tmp.glob("supabase-init-embedded-*"))
            if roots and reached(roots[0]):
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before the signal"
        proc.send_signal(signum)
        returncode = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = (short_tmp / "err").read_text()
    name = signal.Signals(signum).name
    assert returncode == 128 + signum, stderr
    assert stderr == f"Error: interrupted ({name})\n"
    assert list(short_tmp.glob("supabase-init-embedded-*")) == []
    assert processes_mentioning(str(short_tmp)) == []


def test_embedded_stop_removes_a_directory_a_killed_run_left_behind(project, short_tmp):
    # SIGKILL cannot be caught: the directory stays, with its marker, and
    # whatever server was starting in it.
    env = fresh_env(short_tmp)
    proc = subprocess.Popen([sys.executable, "-m", "supabase_init", "apply", "--embedded"],
                            cwd=project, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        roots = list(short_tmp.glob("supabase-init-embedded-*"))
        if roots and _initdb_done(roots[0]):
            break
        time.sleep(0.01)
    proc.kill()
    proc.wait(timeout=60)
    (root,) = short_tmp.glob("supabase-init-embedded-*")
    stopped = subprocess.run([sys.executable, "-m", "supabase_init", "embedded", "stop",
                              str(root)], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert not root.exists()
    assert processes_mentioning(str(short_tmp)) == []


def test_embedded_stop_removes_an_unmarked_left_over_directory(short_tmp):
    # A run older than the marker file, killed while initdb wrote its data.
    root = short_tmp / "supabase-init-embedded-old123"
    (root / "pgdata" / "base").mkdir(parents=True)
    (root / "pgdata" / "PG_VERSION").write_text("17\n", encoding="utf-8")
    stopped = subprocess.run([sys.executable, "-m", "supabase_init", "embedded", "stop",
                              str(root)], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert not root.exists()

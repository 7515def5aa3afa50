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
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("PG")
           and k != "SUPABASE_INIT_TEST_DATABASE_URL"}
    env["TMPDIR"] = str(tmp)
    return subprocess.run([sys.executable, "-m", "supabase_init", "apply", *args], cwd=project,
                          env=env, capture_output=True, text=True, timeout=180)


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


def test_apply_embedded_keep_leaves_a_usable_server(project, short_tmp):
    import psycopg

    out = run_fresh(project, short_tmp, "--embedded", "--keep", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    embedded = result["embedded"]
    assert embedded["kept"] is True and embedded["url"] in out.stderr
    pid = embedded["pid"]
    try:
        assert result["changed"] is True and result["counts"]["create"]["table"] == 7
        with psycopg.connect(embedded["url"]) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables "
                                  "WHERE schemaname = 'public'").fetchone()
            assert tables == (7,)
        again = run_fresh(project, short_tmp, "--database-url", embedded["url"])
        assert again.returncode == 0 and again.stdout.startswith("No changes:"), again
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and processes_mentioning(embedded["pgdata"]):
            time.sleep(0.1)
    assert processes_mentioning(embedded["pgdata"]) == []

"""The Terraform module's provisioner leaves no copy of the SQL behind, even when killed.

A real `terraform apply` is stopped while psql waits for the advisory lock a
test session holds: on SIGTERM the shell removes its directory; after SIGKILL
(which nothing can catch) the next run removes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FreshDatabase
from test_terraform_module import (  # noqa: F401  (fixtures, used by name)
    Terraform,
    connection_args,
    copy_module,
    db_tf_env,
    tf_env,
)

LOCK = "SELECT pg_catalog.pg_advisory_lock(pg_catalog.hashtext('supabase-init'))"
# psql's session once it waits for that lock: a cancel before then (while psql
# is still connecting or setting up) would be lost, and psql would wait on.
PSQL_BACKENDS = ("SELECT pid FROM pg_catalog.pg_stat_activity "
                 "WHERE application_name = 'supabase-init (terraform)' "
                 "AND datname = pg_catalog.current_database() "
                 "AND wait_event_type = 'Lock' AND wait_event = 'advisory'")
# psql waits until the test cancels its statement: with the module's default (5s)
# the wait could end on its own, and the shell exit unsignalled, if the test
# process were left unscheduled that long on a loaded machine.
LOCK_TIMEOUT = ["-var", "lock_timeout=10min"]


def work_dirs(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("supabase-init-psql.*"))


def shell_pid(work: Path) -> int:
    """The provisioner shell's process id, which its directory's name carries."""
    return int(work.name.split(".")[1])


@pytest.fixture
def lock_holder(database: FreshDatabase) -> Iterator[Any]:
    """A session holding the script's advisory lock, so that psql waits for it."""
    with database.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(LOCK)
        yield conn


class Apply:
    """A terraform apply running in the background, its output going to a file (a pipe
    nobody reads fills up: terraform prints the plan, the whole SQL included, and would
    block before the provisioner starts)."""

    def __init__(self, tf: Terraform, database: FreshDatabase) -> None:
        self.log = tf.workdir / "apply.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [tf.binary, "apply", "-no-color", "-auto-approve", "-input=false",
                 *connection_args(database), *LOCK_TIMEOUT], cwd=tf.workdir, env=tf.env,
                stdout=out, stderr=subprocess.STDOUT)

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill(self) -> None:
        self.proc.kill()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def finish(self) -> str:
        self.proc.wait(timeout=120)
        return self.output()


def start_apply(tf: Terraform, database: FreshDatabase) -> Apply:
    return Apply(tf, database)


def wait_for_psql(lock_holder: Any, tmpdir: Path, proc: Apply) -> Path:
    """The provisioner's directory, once its psql waits on the lock."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.output()[-3000:]
        dirs = work_dirs(tmpdir)
        if dirs and (dirs[0] / "supabase-init.sql").is_file() and \
                lock_holder.execute(PSQL_BACKENDS).fetchall():
            return dirs[0]
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("psql never started")


def stop_psql(lock_holder: Any) -> None:
    """End psql's wait: its statement is cancelled, so it fails and exits."""
    for (pid,) in lock_holder.execute(PSQL_BACKENDS).fetchall():
        lock_holder.execute("SELECT pg_catalog.pg_cancel_backend(%s)", (pid,))


def signalled_apply(terraform_bin: str, env: dict[str, str], tmp_path: Path,
                    database: FreshDatabase, lock_holder: Any,
                    signum: int) -> tuple[Terraform, Path, Path, str]:
    """A `terraform apply` whose provisioner shell gets ``signum`` while psql waits for the
    lock; it has failed (exit 1). Its Terraform, TMPDIR, the provisioner's directory and
    its output."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    tf = Terraform(terraform_bin, copy_module(tmp_path / "terraform"),
                   {**env, "TMPDIR": str(tmpdir)})
    tf.init()
    proc = start_apply(tf, database)
    work = wait_for_psql(lock_holder, tmpdir, proc)
    os.kill(shell_pid(work), signum)
    stop_psql(lock_holder)
    output = proc.finish()
    assert proc.poll() == 1, output
    return tf, tmpdir, work, output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signalled_provisioner_removes_its_directory(
        terraform_bin: str, psql_bin: str, db_tf_env: dict[str, str],  # noqa: F811
        tmp_path: Path, database: FreshDatabase, lock_holder: Any, signum: int) -> None:
    _, tmpdir, _, output = signalled_apply(terraform_bin, db_tf_env, tmp_path, database,
                                           lock_holder, signum)
    assert work_dirs(tmpdir) == [], output


def test_a_killed_provisioners_directory_is_removed_by_the_next_run(
        terraform_bin: str, psql_bin: str, db_tf_env: dict[str, str],  # noqa: F811
        tmp_path: Path, database: FreshDatabase, lock_holder: Any) -> None:
    tf, tmpdir, work, output = signalled_apply(terraform_bin, db_tf_env, tmp_path, database,
                                               lock_holder, signal.SIGKILL)
    assert work_dirs(tmpdir) == [work]  # nothing could remove it

    lock_holder.execute("SELECT pg_catalog.pg_advisory_unlock_all()")
    tf.ok("apply", "-auto-approve", "-input=false", *connection_args(database))
    assert work_dirs(tmpdir) == []
    assert database.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") > 0

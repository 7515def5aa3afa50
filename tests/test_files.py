"""Atomic writes: file modes, and no temporary file left behind by a signal."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, required_binary
from supabase_init.files import describe_os_error, write_atomic

# The writer stops inside write_atomic once its temporary file is written and
# synced (os.fsync is where it stops), says so on stdout, and waits there for the
# test's signal: with a plain large write, a test process the machine left
# unscheduled for a moment could miss the window and signal after the rename.
WRITER = """
import os
import sys
import time
from pathlib import Path
from supabase_init.files import write_atomic

real_fsync = os.fsync


def fsync(fd):
    real_fsync(fd)
    print("written", flush=True)
    time.sleep(600)


os.fsync = fsync
write_atomic(Path(sys.argv[1]), "x" * 1_000_000)
"""


def temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_modes_follow_open_for_new_files_and_are_kept_for_existing_ones(tmp_path: Path,
                                                                        umask: None) -> None:
    os.umask(0o022)
    write_atomic(tmp_path / "a", "1")
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o644
    os.umask(0o077)
    write_atomic(tmp_path / "b", "1")
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o600
    os.chmod(tmp_path / "a", 0o640)
    write_atomic(tmp_path / "a", "2")
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "a").read_text() == "2"
    os.umask(0)
    write_atomic(tmp_path / "c", "secret", mode=0o600)
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o600
    write_atomic(tmp_path / "a", "3", mode=0o600)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o600
    assert temporaries(tmp_path) == []


def start_writer(target: Path) -> subprocess.Popen[str]:
    """A process in the middle of write_atomic(target): its temporary file is written,
    not yet in place."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else ""
    proc.stdout.close()
    if line != "written\n":
        proc.kill()
        proc.wait(60)
        raise AssertionError(f"the writer never got to its temporary file: {line!r}")
    found = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(found) == 1 and found[0].stat().st_size == 1_000_000, found
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_during_the_write_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, signum: int) -> None:
    target = tmp_path / "out.sql"
    target.write_text("old\n")
    proc = start_writer(target)
    proc.send_signal(signum)
    returncode = proc.wait(timeout=60)
    # After the cleanup the process ends as the signal would have ended it
    # (an uncaught KeyboardInterrupt, too, ends Python by SIGINT).
    assert returncode == -signum
    assert temporaries(tmp_path) == []
    assert target.read_text() == "old\n"


def test_a_killed_writers_temporary_is_ignored_by_git_and_removed_by_the_next_write(
        tmp_path: Path) -> None:
    target = tmp_path / "supabase-init.sql.tpl"
    target.write_text("old\n")
    proc = start_writer(target)
    proc.kill()
    proc.wait(timeout=60)
    (left,) = temporaries(tmp_path)

    git = required_binary("git")
    ignored = subprocess.run([git, "check-ignore", "-q", f"terraform/{left}"], cwd=REPO)
    assert ignored.returncode == 0, f"terraform/{left} is not covered by .gitignore"

    # A temporary of a writer that is still running is not touched.
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live = tmp_path / f".{target.name}.{sleeper.pid}.abcdefgh.tmp"
        live.write_text("in progress")
        write_atomic(target, "new\n")
        assert temporaries(tmp_path) == [live.name]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert target.read_text() == "new\n"


def test_describe_os_error_is_one_line_with_the_path() -> None:
    try:
        Path("/nonexistent-dir/x").read_text()
    except OSError as e:
        assert describe_os_error(e) == "/nonexistent-dir/x: No such file or directory"
    assert describe_os_error(OSError(13, "Permission denied")) == "Permission denied"


def test_a_write_into_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "deeper" / "out.sql"
    with pytest.raises(FileNotFoundError) as raised:
        write_atomic(target, "x")
    assert f"the directory {target.parent} does not exist" in str(raised.value)
    assert list(tmp_path.iterdir()) == []

"""docs/tutorial.md, run as written: every ```sh block, in order, in one shell.

The blocks run in a copy of the project whose `.venv` is the virtualenv these
tests run in (the page's install step, a ```shell block, is not run), against
the embedded server the page starts and the real `terraform`. The ```text
block after a command is its expected output: each of its lines must appear
in what the block printed (stdout and stderr together), in that order, with
`...` standing for any text. HOME and the temporary directory are the test's
own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, required_binary

TUTORIAL = REPO / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


@dataclass
class Step:
    number: int
    script: str
    expected: list[str]
    line: int


def steps(text: str) -> list[Step]:
    """The page's ```sh blocks, each with the ```text block that follows it (if any)."""
    found: list[Step] = []
    for match in FENCE.finditer(text):
        kind, body = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if kind == "sh":
            found.append(Step(len(found) + 1, body, [], line))
        elif kind == "text" and found and not found[-1].expected:
            between = text[text.rindex("```\n", 0, match.start()):match.start()]
            if between.count("```") == 1:  # directly after the command's block
                found[-1].expected = [x for x in body.splitlines() if x.strip()]
    return found


def pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")))


def missing_lines(expected: list[str], output: str) -> list[str]:
    """The expected lines not found in order in the output."""
    lines = output.splitlines()
    at, missing = 0, []
    for want in expected:
        rx = pattern(want)
        for i in range(at, len(lines)):
            if rx.fullmatch(lines[i]):
                at = i + 1
                break
        else:
            missing.append(want)
    return missing


def test_the_tutorial_parser_reads_commands_and_expectations() -> None:
    page = ("intro\n```shell\nnot run\n```\n\n```sh\necho a\n```\n\ntext\n\n```text\na\n```\n"
            "```sh\necho b\n```\nprose\n```sh\necho c\n```\n\n```text\nc...\n```\n")
    found = steps(page)
    assert [(s.script, s.expected) for s in found] == [
        ("echo a\n", ["a"]), ("echo b\n", []), ("echo c\n", ["c..."])]
    assert missing_lines(["x ... z", "end"], "x 1 2 z\nmiddle\nend\n") == []
    assert missing_lines(["end", "x ... z"], "x 1 2 z\nend\n") == ["x ... z"]


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: the embedded server's Unix socket lives under TMPDIR, and socket
    # paths are limited to about 100 bytes.
    path = Path(tempfile.mkdtemp(prefix="si-tut-"))
    try:
        yield path
    finally:
        stop_kept_servers(path / "tmp")
        shutil.rmtree(path, ignore_errors=True)


def stop_kept_servers(tmp: Path) -> None:
    """Whatever the outcome, no server the tutorial kept outlives the test."""
    for data in tmp.glob("supabase-init-embedded-*"):
        subprocess.run([sys.executable, "-m", "supabase_init", "embedded", "stop", str(data)],
                       capture_output=True, timeout=60, check=False)


def tutorial_environment(root: Path) -> dict[str, str]:
    home, tmp = root / "home", root / "tmp"
    home.mkdir()
    tmp.mkdir()
    (root / "empty.tfrc").write_text("")
    # Nothing from the caller's shell may reach a database or Terraform: the
    # page's commands must work from a clean login.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "TF_", "XDG_")) and k not in
           ("DATABASE_URL", "SUPABASE_INIT_TEST_DATABASE_URL", "SUPABASE_INIT_CACHE_DIR")}
    env.update(HOME=str(home), TMPDIR=str(tmp), TF_CLI_CONFIG_FILE=str(root / "empty.tfrc"),
               TF_IN_AUTOMATION="1", TF_CLI_ARGS="-no-color", CHECKPOINT_DISABLE="1",
               NO_COLOR="1", TERM="dumb")
    return env


def copy_project(dest: Path) -> None:
    dest.mkdir()
    shutil.copy2(REPO / "supabase-init.hcl", dest / "supabase-init.hcl")
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copytree(REPO / "terraform", dest / "terraform",
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    # The page's `.venv/bin/...` commands run the code under test.
    (dest / ".venv").symlink_to(Path(sys.prefix))


@pytest.mark.terraform
def test_the_tutorial_runs_as_written(workdir: Path) -> None:
    required_binary("terraform")
    required_binary("psql")
    assert (Path(sys.prefix) / "bin" / "supabase-init").exists(), \
        f"run the tests from the project's virtualenv ({sys.prefix} has no supabase-init)"
    project = workdir / "project"
    copy_project(project)
    env = tutorial_environment(workdir)
    page = steps(TUTORIAL.read_text(encoding="utf-8"))
    assert len(page) >= 8 and all(s.expected for s in page), \
        "every command of docs/tutorial.md shows its output"

    # One shell for the whole page, as a reader runs it: each block is sourced
    # (so `export` carries over) with its output in a file of its own, and the
    # first failing command stops the shell.
    out = workdir / "out"
    out.mkdir()
    runner = ["set -eo pipefail"]
    for step in page:
        block = out / f"{step.number}.sh"
        block.write_text(step.script)
        runner.append(f"source {block} > {out}/{step.number}.log 2>&1")
        runner.append(f"touch {out}/{step.number}.done")
    started = time.monotonic()
    shell = subprocess.run(["bash", "--noprofile", "--norc", "-c", "\n".join(runner)],
                           cwd=project, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started

    for step in page:
        log = out / f"{step.number}.log"
        output = log.read_text() if log.exists() else ""
        where = f"docs/tutorial.md line {step.line} (step {step.number}):\n{step.script}"
        assert (out / f"{step.number}.done").exists(), \
            f"{where}failed (shell exit {shell.returncode}):\n{output}{shell.stderr}"
        missing = missing_lines(step.expected, output)
        assert not missing, f"{where}printed:\n{output}\nnot the lines shown:\n" \
                            + "\n".join(missing)
    assert shell.returncode == 0, shell.stderr
    # The page cleaned up after itself: its server is stopped and gone.
    assert not list((workdir / "tmp").glob("supabase-init-embedded-*"))
    print(f"tutorial: {len(page)} steps in {seconds:.1f} s")

"""Every command has help with an example, is in the docs' command tables, and usage
errors exit 1.

The commands are read from the Typer app itself, so a command added later is
covered without touching this file.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import typer.main

from conftest import REPO, run_cli
from supabase_init.cli import app


def subcommands(command: Any) -> dict[str, Any]:
    """A group's commands (Typer's click may be vendored: no isinstance check)."""
    return dict(getattr(command, "commands", None) or {})


def command_paths() -> list[tuple[str, ...]]:
    """Every (sub)command as a tuple of names, e.g. ("build",)."""
    paths: list[tuple[str, ...]] = []

    def walk(group: Any, prefix: tuple[str, ...]) -> None:
        for name, command in sorted(subcommands(group).items()):
            if command.hidden:
                continue
            paths.append((*prefix, name))
            walk(command, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths


COMMANDS = command_paths()


def flat(text: str) -> str:
    return " ".join(text.split())


def single_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_the_build_and_render_commands_are_registered() -> None:
    assert {("build",), ("render",)} <= set(COMMANDS)


def test_top_level_help() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    text = flat(result.stdout)
    assert "provisioning SQL" in text
    assert "Example: supabase-init " in text
    for path in COMMANDS:
        if len(path) == 1:
            assert re.search(rf"^  {re.escape(path[0])}\b", result.stdout, re.MULTILINE), path


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_help_has_a_description_and_an_example(path: tuple[str, ...]) -> None:
    command = typer.main.get_command(app)
    for name in path:
        command = subcommands(command)[name]
    description = (command.help or "").strip()
    assert description, f"{' '.join(path)} has no docstring"

    result = run_cli(*path, "--help")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = flat(result.stdout)
    assert text.startswith(f"Usage: supabase-init {' '.join(path)} ")
    assert flat(description.split("\n\n")[0]) in text
    assert re.search(rf"Example: supabase-init {re.escape(' '.join(path))}\b", text), text


# The hand-written command tables: one line per command in the README, the
# options of each in docs/commands.md (docs/cli.md, generated, is tested in
# test_docs.py).
COMMAND_TABLES = ("README.md", "docs/commands.md")
TABLE_HEADER = "| command | what it does |"


def table_commands(page: str) -> set[str]:
    """Command names in the first column of the page's Commands table."""
    text = (REPO / page).read_text(encoding="utf-8")
    assert text.count(TABLE_HEADER) == 1, f"{page} needs one table starting {TABLE_HEADER!r}"
    section = text.split(TABLE_HEADER, 1)[1].split("\n\n", 1)[0]
    names = set()
    for line in section.splitlines():
        m = re.match(r"\|\s*`supabase-init ((?:[a-z][a-z0-9-]*)(?: [a-z][a-z0-9-]*)*)", line)
        if m:
            names.add(m.group(1))
    return names


@pytest.mark.parametrize("page", COMMAND_TABLES)
@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_in_the_commands_tables(path: tuple[str, ...], page: str) -> None:
    listed = table_commands(page)
    name = " ".join(path)
    # A row may carry the arguments after the name ("build [--check]").
    assert any(entry == name or entry.startswith(name + " ") for entry in listed), \
        f"`supabase-init {name}` is missing from {page}'s Commands table ({sorted(listed)})"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_unknown_option_is_a_usage_error_exit_1(path: tuple[str, ...]) -> None:
    line = single_error_line(run_cli(*path, "--no-such-option"))
    assert "--no-such-option" in line
    assert f"supabase-init {' '.join(path)} --help" in line


@pytest.mark.parametrize("args", [
    ["no-such-command"],
    ["render", "-var"],
    ["render", "unexpected-argument"],
    ["build", "--check=yes"],
])
def test_usage_errors_exit_1_never_2(args: list[str]) -> None:
    single_error_line(run_cli(*args))


URL = re.compile(r"[a-z]+://[^\s)`'\"]+")


def unbreakable_tokens(path: tuple[str, ...]) -> set[str]:
    """Every --option the command declares and every URL its help texts mention."""
    command = typer.main.get_command(app)
    for name in path:
        command = subcommands(command)[name]
    texts = [command.help or ""]
    tokens: set[str] = set()
    for param in command.params:
        texts.append(getattr(param, "help", None) or "")
        tokens.update(opt for opt in param.opts if opt.startswith("-") and len(opt) > 2)
    for text in texts:
        tokens.update(m.group(0).rstrip(".,;") for m in URL.finditer(text))
        tokens.update(re.findall(r"(?<![\w-])--?[a-z][a-z0-9-]*[a-z0-9]", text))
    return tokens


@pytest.mark.parametrize("columns", [40, 64, 100])
@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "top")
def test_help_never_breaks_a_url_or_an_option(path: tuple[str, ...], columns: int) -> None:
    result = run_cli(*path, "--help", env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    joints = [(a.split()[-1], b.split()[0]) for a, b in zip(lines, lines[1:], strict=False)]
    tokens = unbreakable_tokens(path) if path else {"--version", "--help"}
    assert any(URL.match(t) for t in tokens) or path != ("apply",)  # the test sees URLs
    for token in tokens:
        assert token in result.stdout, (token, columns)
        # Broken: one line ends with its start, the next begins with the rest.
        broken = [(end, start) for end, start in joints for k in range(1, len(token))
                  if end.endswith(token[:k]) and start.startswith(token[k:])]
        assert not broken, (token, columns, broken)



@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_a_command_run_alone_reads_as_in_the_whole_app(path: tuple[str, ...], capfd,
                                                       monkeypatch) -> None:
    # main() builds the click command of only the command it runs (Typer
    # builds every one otherwise): its help, usage errors and exit codes are
    # those of the whole app.
    from supabase_init import cli

    def run(args: list[str]) -> tuple[int, str, str]:
        code = cli.main(args)
        out, err = capfd.readouterr()
        return code, out, err

    cases = [[*path, "--help"], [*path, "--no-such-option"]]
    alone = [run(args) for args in cases]
    monkeypatch.setattr(cli, "_app_for", lambda args: cli.app)
    whole = [run(args) for args in cases]
    assert alone == whole
    assert alone[0][0] == 0 and "Usage: supabase-init " + " ".join(path) in alone[0][1]
    assert alone[1][0] == 1 and "No such option" in alone[1][2]

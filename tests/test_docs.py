"""The documentation stays true: a short README that starts with how to run it,
links that lead somewhere, and a CLI reference that is what `--help` prints.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from conftest import REPO
from test_help import COMMANDS

README = REPO / "README.md"
DOCS = REPO / "docs"
CLI_REFERENCE = DOCS / "cli.md"
REGENERATE = ".venv/bin/python docs/gen_cli_reference.py"
QUICK_START = "## Quick start"
README_LIMIT = 10_000
FIRST_SCREEN = 40


def pages() -> list[Path]:
    return [README, REPO / "terraform" / "README.md", *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """The text outside fenced code blocks (whose brackets are code, not links)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (lower case, punctuation dropped)."""
    seen: dict[str, int] = {}
    result = set()
    for line in prose(path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} (.*)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", prose(path.read_text(encoding="utf-8")))
    return [link for link in links if not re.match(r"[a-z]+:", link)]


# ----------------------------------------------------------------- the README


def test_the_readme_is_short_and_starts_with_how_to_run_it() -> None:
    size = README.stat().st_size
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail to docs/"
    first_screen = README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN]
    assert any(line.startswith(QUICK_START) for line in first_screen), \
        f"README.md: no {QUICK_START!r} heading in its first {FIRST_SCREEN} lines"
    screen = "\n".join(first_screen)
    # The two commands: the main job on the embedded default, and the test suite.
    install = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'"
    assert f"{install} && .venv/bin/supabase-init apply --embedded\n" in screen
    assert f"{install} && .venv/bin/python -m pytest\n" in screen


def test_the_readme_links_every_docs_page() -> None:
    linked = {link.split("#")[0] for link in relative_links(README)}
    assert "docs/README.md" in linked
    index = {link.split("#")[0] for link in relative_links(DOCS / "README.md")}
    unlisted = [p.name for p in sorted(DOCS.iterdir())
                if p.suffix in (".md", ".py") and p.name != "README.md" and p.name not in index]
    assert not unlisted, f"docs/README.md does not link {unlisted}"


# ------------------------------------------------------------------ the links


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    broken = []
    for link in relative_links(page):
        target, _, fragment = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link} (no file {path.relative_to(REPO)})")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{link} (no heading #{fragment} in {path.relative_to(REPO)})")
    assert not broken, f"{page.relative_to(REPO)}: broken links: {broken}"


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title), [missing](nowhere.md), [web](https://x.org)\n"
                    "```sh\necho [not](a-link.md)\n```\n")
    assert relative_links(page) == ["#title", "nowhere.md"]
    assert anchors(page) == {"title"}


# -------------------------------------------------------- the CLI reference


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_reference",
                                                  DOCS / "gen_cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_what_help_prints_now() -> None:
    committed = CLI_REFERENCE.read_text(encoding="utf-8")
    current = generator().reference()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), current.splitlines(True),
                                        "docs/cli.md (committed)", "--help now", n=1))
    assert committed == current, f"docs/cli.md is out of date: run {REGENERATE}\n{diff[:3000]}"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_is_in_the_cli_reference(path: tuple[str, ...]) -> None:
    name = " ".join(path)
    text = CLI_REFERENCE.read_text(encoding="utf-8")
    section = text.split(f"\n## `supabase-init {name}`\n", 1)
    assert len(section) == 2, f"docs/cli.md has no section for `supabase-init {name}`: " \
                              f"run {REGENERATE}"
    assert section[1].startswith(f"\n```text\nUsage: supabase-init {name} "), section[1][:200]


def test_the_reference_covers_the_embedded_group() -> None:
    assert ("embedded",) in COMMANDS and ("embedded", "stop") in COMMANDS
    assert set(generator().command_paths()) == set(COMMANDS)

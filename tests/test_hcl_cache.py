"""The HCL parse cache returns exactly what python-hcl2's reading returned."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from supabase_init.hclfile import parse_hcl_file


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("SUPABASE_INIT_CACHE_DIR", str(where))
    return where


def test_a_cached_parse_equals_a_fresh_one(cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    config = tmp_path / "supabase-init.hcl"
    config.write_text((REPO / "supabase-init.hcl").read_text() + 'x = { a = 1.5, b = ["c"] }\n')
    first = parse_hcl_file(config)
    assert len(list(cache_dir.glob("hcl-*.json"))) == 1
    second = parse_hcl_file(config)
    monkeypatch.setenv("SUPABASE_INIT_CACHE_DIR", "off")
    uncached = parse_hcl_file(config)
    assert first == second == uncached
    assert second.blocks[0].line == uncached.blocks[0].line > 1


def test_other_text_misses_and_a_corrupt_entry_is_ignored(cache_dir: Path,
                                                          tmp_path: Path) -> None:
    config = tmp_path / "a.tfvars"
    config.write_text('schema = "crm"\n')
    assert parse_hcl_file(config).attributes["schema"].value == "crm"
    (entry,) = cache_dir.glob("hcl-*.json")
    entry.write_text("{not json")
    assert parse_hcl_file(config).attributes["schema"].value == "crm"
    config.write_text('schema = "other"\n')
    assert parse_hcl_file(config).attributes["schema"].value == "other"


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SUPABASE_INIT_CACHE_DIR", str(blocker / "cache"))
    config = tmp_path / "a.tfvars"
    config.write_text("n = 3\n")
    assert parse_hcl_file(config).attributes["n"].value == 3


def test_the_suite_keeps_out_of_the_users_home(tmp_path: Path) -> None:
    """The cache a command writes during the tests is under the suite's own home."""
    import os

    from conftest import TEST_HOME, USER_HOME, run_cli

    assert Path(os.environ["HOME"]) == TEST_HOME != Path(USER_HOME)
    assert "SUPABASE_INIT_CACHE_DIR" not in os.environ
    config = tmp_path / "project"
    config.mkdir()
    (config / "supabase-init.hcl").write_text('variable "x" { default = "unique-41" }\n')
    result = run_cli("build", "--check", "-C", str(config))
    assert "entry template not found" in result.stderr
    cached = list((TEST_HOME / ".cache" / "supabase-init").glob("hcl-*.json"))
    assert any("unique-41" in p.read_text() for p in cached)

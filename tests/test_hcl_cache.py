"""The HCL parse cache: exactly what python-hcl2's reading returned, for files without secrets only.

A variable file is never cached; entries are private (0600 in a 0700
directory) whatever the umask, and an entry is trusted only when it checks
out against the text it claims to be for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from supabase_init.hclfile import parse_hcl_file, variable_declarations

SECRET = "Zebra-Quokka-3141-secret"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("SUPABASE_INIT_CACHE_DIR", str(where))
    return where


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("hcl-*.json"))


def test_a_cached_parse_equals_a_fresh_one(cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    config = tmp_path / "supabase-init.hcl"
    config.write_text((REPO / "supabase-init.hcl").read_text() + 'x = { a = 1.5, b = ["c"] }\n'
                      'h = <<-EOT\n    heredoc\n  EOT\n')
    first = parse_hcl_file(config, secret=False)
    assert len(entries(cache_dir)) == 1
    second = parse_hcl_file(config, secret=False)
    monkeypatch.setenv("SUPABASE_INIT_CACHE_DIR", "off")
    uncached = parse_hcl_file(config, secret=False)
    assert first == second == uncached
    assert second.blocks[0].line == uncached.blocks[0].line > 1
    assert second.attributes["h"].value == "heredoc\n"


def test_a_variable_file_is_never_cached(cache_dir: Path, tmp_path: Path) -> None:
    tfvars = tmp_path / "secret.tfvars"
    tfvars.write_text(f'password = "{SECRET}"\n')
    assert parse_hcl_file(tfvars).attributes["password"].value == SECRET
    assert parse_hcl_file(tfvars, secret=True).attributes["password"].value == SECRET
    assert not cache_dir.exists() or entries(cache_dir) == []


def test_module_declarations_are_cached_as_names_only(cache_dir: Path, tmp_path: Path) -> None:
    tf = tmp_path / "variables.tf"
    tf.write_text(f'variable "password" {{\n  type = string\n  default = "{SECRET}"\n}}\n'
                  'variable "host" {}\nlocals { x = 1 }\n')
    assert variable_declarations(tf) == ("password", "host")
    (entry,) = entries(cache_dir)
    assert SECRET not in entry.read_text()
    assert variable_declarations(tf) == ("password", "host")
    (tmp_path / "v.tf.json").write_text(json.dumps({"variable": {"a": {}, "b": {}}}))
    assert variable_declarations(tmp_path / "v.tf.json") == ("a", "b")
    (tmp_path / "broken.tf").write_text("variable {")
    assert variable_declarations(tmp_path / "broken.tf") is None


def cli_with_umask(project: Path, umask: int, cache: Path,
                   *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPABASE_INIT_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "supabase_init", *args, "-C", str(project)],
                          env=env, umask=umask, capture_output=True, text=True, timeout=120)


def test_render_with_a_secret_var_file_leaves_no_secret_in_the_cache(project: Path,
                                                                     tmp_path: Path) -> None:
    cache = tmp_path / "home" / ".cache" / "supabase-init"
    secret_file = tmp_path / "secret.tfvars"
    secret_file.write_text(f'schema = "crm"\npassword = "{SECRET}"\n'
                           f'note = <<EOT\n{SECRET}\nEOT\n')
    secret_file.chmod(0o600)
    (project / "terraform" / "terraform.tfvars").write_text(
        f'host = "db.example.com"\npassword = "{SECRET}-2"\n')
    for umask in (0o022, 0o000):
        result = cli_with_umask(project, umask, cache, "render", "-var-file", str(secret_file))
        assert result.returncode == 0, result.stderr
        assert 'CREATE SCHEMA IF NOT EXISTS "crm"' in result.stdout
        assert SECRET not in result.stderr

    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files, "the config was not cached"
    for path in files:
        assert SECRET not in path.read_text(errors="replace"), path
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert cache.stat().st_mode & 0o777 == 0o700


def test_cache_files_are_private_under_a_permissive_umask(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)  # an existing directory of an older version, too open
    result = cli_with_umask(project, 0o022, cache, "build", "--check")
    assert result.returncode == 0, result.stderr
    assert cache.stat().st_mode & 0o777 == 0o700
    assert entries(cache) and all(p.stat().st_mode & 0o777 == 0o600 for p in entries(cache))


@pytest.mark.parametrize("tampering", ["edited value", "entry of other text", "made readable",
                                       "not json", "wrong shape"])
def test_a_tampered_entry_is_ignored(cache_dir: Path, tmp_path: Path, tampering: str) -> None:
    config = tmp_path / "supabase-init.hcl"
    config.write_text('variable "schema" {\n  default = "public"\n}\n')
    expected = parse_hcl_file(config, secret=False)
    (entry,) = entries(cache_dir)
    data = json.loads(entry.read_text())
    if tampering == "edited value":
        data["payload"]["blocks"][0]["attributes"][0][1] = "information_schema"
        entry.write_text(json.dumps(data))
    elif tampering == "entry of other text":
        other = tmp_path / "other.hcl"
        other.write_text('variable "schema" {\n  default = "information_schema"\n}\n')
        parse_hcl_file(other, secret=False)
        (other_entry,) = [p for p in entries(cache_dir) if p != entry]
        entry.write_bytes(other_entry.read_bytes())
    elif tampering == "made readable":
        data["payload"]["blocks"][0]["attributes"][0][1] = "information_schema"
        entry.write_text(json.dumps(data))
        entry.chmod(0o644)
    elif tampering == "not json":
        entry.write_text("{not json")
    else:
        data["payload"]["blocks"] = "not a list"
        entry.write_text(json.dumps(data))
    again = parse_hcl_file(config, secret=False)
    assert again == expected
    assert again.blocks[0].attributes["default"].value == "public"


def test_other_text_misses(cache_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "a.hcl"
    config.write_text('schema = "crm"\n')
    assert parse_hcl_file(config, secret=False).attributes["schema"].value == "crm"
    config.write_text('schema = "other"\n')
    assert parse_hcl_file(config, secret=False).attributes["schema"].value == "other"
    assert len(entries(cache_dir)) == 2


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SUPABASE_INIT_CACHE_DIR", str(blocker / "cache"))
    config = tmp_path / "a.hcl"
    config.write_text("n = 3\n")
    assert parse_hcl_file(config, secret=False).attributes["n"].value == 3


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
    assert "no variable 'schema', 'lock_timeout', 'statement_timeout' is declared" \
        in result.stderr, result.stderr
    cached = list((TEST_HOME / ".cache" / "supabase-init").glob("hcl-*.json"))
    assert any("unique-41" in p.read_text() for p in cached)

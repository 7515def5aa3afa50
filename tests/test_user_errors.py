"""A user's situation (a file they cannot read, a directory they cannot enter) is one
`Error:` line naming the file, never "(this is a bug)".

Permission errors need an unprivileged user (see unprivileged.py).
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO
from unprivileged import python_unprivileged, run_unprivileged


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory another user can enter (pytest's own tmp_path is private to us)."""
    root = Path(tempfile.mkdtemp(prefix="si-user-errors-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in root.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def shared_project(shared: Path) -> Path:
    dest = shared / "project"
    dest.mkdir()
    shutil.copy2(REPO / "supabase-init.hcl", dest / "supabase-init.hcl")
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copytree(REPO / "terraform", dest / "terraform",
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars*"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout[-500:], result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "this is a bug" not in lines[0] and "Traceback" not in result.stderr
    return lines[0]


def test_the_unprivileged_user_can_render(shared_project: Path) -> None:
    """The premise of the tests below: the same command works when the files are readable."""
    result = run_unprivileged("render", "-C", str(shared_project))
    assert result.returncode == 0, result.stderr
    assert "CREATE SCHEMA" in result.stdout


def test_a_var_file_in_a_directory_that_cannot_be_entered(shared_project: Path,
                                                           shared: Path) -> None:
    private = shared / "private"
    private.mkdir()
    for name in ("prod.tfvars", "prod.tfvars.json"):
        (private / name).write_text('{"schema": "crm"}' if name.endswith("json")
                                    else 'schema = "crm"\n')
        (private / name).chmod(0o644)
    private.chmod(0o700)  # ours: the unprivileged user cannot enter it
    for name in ("prod.tfvars", "prod.tfvars.json"):
        line = one_error(run_unprivileged("render", "-C", str(shared_project),
                                          "-var-file", str(private / name)))
        assert f"{private / name}: cannot read file: Permission denied" in line


@pytest.mark.parametrize("name", ["terraform/terraform.tfvars", "terraform/a.auto.tfvars.json",
                                  "supabase-init.hcl"])
def test_an_unreadable_project_file(shared_project: Path, name: str) -> None:
    path = shared_project / name
    if not path.exists():
        path.write_text('{"schema": "crm"}' if name.endswith("json") else 'schema = "crm"\n')
    path.chmod(0)
    line = one_error(run_unprivileged("render", "-C", str(shared_project)))
    assert f"{path}: cannot read file: Permission denied" in line


def test_a_terraform_directory_that_cannot_be_listed(shared_project: Path) -> None:
    terraform = shared_project / "terraform"
    terraform.chmod(stat.S_IWUSR | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)  # 0311
    line = one_error(run_unprivileged("render", "-C", str(shared_project)))
    assert f"{terraform}: cannot list the directory for tfvars files: Permission denied" in line


def test_the_library_reports_unreadable_variable_sources(shared_project: Path,
                                                         shared: Path) -> None:
    """Below the CLI: variable resolution on a directory the user cannot enter."""
    locked = shared / "locked"
    locked.mkdir()
    locked.chmod(0o700)
    code = (
        "import json\n"
        "from pathlib import Path\n"
        "from supabase_init.config import load_config\n"
        "from supabase_init.errors import SupabaseInitError\n"
        "from supabase_init.variables import VariableSources, resolve_variables\n"
        f"config = load_config(Path({str(shared_project / 'supabase-init.hcl')!r}))\n"
        "out = []\n"
        f"for sources in (VariableSources(tfvars_dir=Path({str(locked)!r}), environ={{}}),\n"
        f"                VariableSources(var_files=(Path({str(locked / 'x.tfvars')!r}),),"
        " environ={}),\n"
        f"                VariableSources(var_files=(Path({str(locked / 'x.tfvars.json')!r}),),"
        " environ={})):\n"
        "    try:\n"
        "        resolve_variables(config, sources)\n"
        "        out.append(None)\n"
        "    except SupabaseInitError as e:\n"
        "        out.append(e.message)\n"
        "print(json.dumps(out))\n")
    result = python_unprivileged(code)
    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)
    assert messages == [
        f"{locked}: cannot list the directory for tfvars files: Permission denied",
        f"{locked / 'x.tfvars'}: cannot read file: Permission denied",
        f"{locked / 'x.tfvars.json'}: cannot read file: Permission denied",
    ]

"""Golden test: every malformed config under fixtures/bad_configs/ fails `build` cleanly.

Each case is a directory holding a `supabase-init.hcl` and an `expected.txt`
with the fragment the error must contain (file, line and offending value).
The case's config replaces the project's in a private copy; `build` must exit
1 with one `Error:` line, no traceback, and leave every file as it was.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_cli

CASES_DIR = Path(__file__).parent / "fixtures" / "bad_configs"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under root: relative path → (mtime in ns, content hash)."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_there_are_enough_distinct_cases() -> None:
    assert len(CASES) >= 14
    for case in CASES:
        assert (CASES_DIR / case / "supabase-init.hcl").is_file(), case
        assert (CASES_DIR / case / "expected.txt").read_text(encoding="utf-8").strip(), case
    configs = {(CASES_DIR / c / "supabase-init.hcl").read_bytes() for c in CASES}
    assert len(configs) == len(CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_config_fails_build_with_one_line(case: str, project: Path, tmp_path: Path) -> None:
    shutil.copyfile(CASES_DIR / case / "supabase-init.hcl", project / "supabase-init.hcl")
    expected = (CASES_DIR / case / "expected.txt").read_text(encoding="utf-8").strip()
    tpl = project / "terraform" / "supabase-init.sql.tpl"
    tpl_before = tpl.read_bytes()
    before = snapshot(project)

    result = run_cli("build", "-C", str(project), cwd=tmp_path)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    assert re.search(r"supabase-init\.hcl:\d+: ", line), line
    assert expected in line, f"{expected!r} not in {line!r}"
    assert snapshot(project) == before
    assert tpl.read_bytes() == tpl_before
    # Nothing appeared next to the project either (no stray temp or output files).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]

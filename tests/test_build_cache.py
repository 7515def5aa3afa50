"""`build` keeps the templates' compiled code in a private cache and gives the same
.tpl with it, without it, and after a template changes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from conftest import run_cli
from supabase_init.api import ENGINE_TEMPLATES_DIR as ENGINE_TEMPLATES


def _build(project: Path, cache: str) -> str:
    built = run_cli("build", "--project", str(project), env={"SUPABASE_INIT_CACHE_DIR": cache})
    assert built.returncode == 0, built.stderr
    return (project / "terraform" / "supabase-init.sql.tpl").read_text()


def test_the_cache_is_private_and_changes_nothing(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    uncached = _build(project, "off")
    assert not cache.exists()
    assert _build(project, str(cache)) == uncached
    jinja = cache / "jinja"
    entries = sorted(jinja.iterdir())
    # One entry per template the build reads: the project's and the engine's.
    assert len(entries) == len(list((project / "templates").rglob("*.sql.j2"))) + len(
        list(ENGINE_TEMPLATES.glob("*.sql.j2")))
    assert stat.S_IMODE(jinja.stat().st_mode) == 0o700
    assert {stat.S_IMODE(e.stat().st_mode) for e in entries} == {0o600}
    assert _build(project, str(cache)) == uncached  # read back from the cache

    template = project / "templates" / "views" / "campaign_metrics.sql.j2"
    template.write_text(template.read_text().replace("Delivery funnel", "The funnel"))
    changed = _build(project, str(cache))
    assert "The funnel" in changed and changed == _build(project, "off")
    assert len(list(jinja.iterdir())) == len(entries)  # its entry was replaced


def test_a_cache_directory_others_can_open_is_not_used(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "jinja").mkdir(parents=True)
    os.chmod(cache / "jinja", 0o777)
    planted = cache / "jinja" / "planted.cache"
    planted.write_bytes(b"not bytecode")
    assert _build(project, str(cache)) == _build(project, "off")
    assert [p.name for p in (cache / "jinja").iterdir()] == ["planted.cache"]

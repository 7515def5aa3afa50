"""What the stale-template check costs, against rebuilding to compare.

render, apply, plan and verify refuse a committed .tpl that the config and
templates no longer build. They compare a digest of the build's inputs,
recorded in the .tpl, with the project's. The obvious alternative is to run
the build and compare its bytes (`build --check`). Times, median of --runs:

* `supabase-init render` of the CRM, whole process, with the check and with
  --allow-stale (the issue's limit: 0.25 s);
* the library's render with and without the check, and a full build, on the
  CRM and on a generated project of --tables tables.

Usage: python bench/stale_check.py [--runs N] [--tables N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from timing import median_time  # noqa: E402

from generated_project import generate_project  # noqa: E402

RENDER_LIMIT_SECONDS = 0.25



def command(*args: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "supabase_init", *args], check=True,
                       stdout=subprocess.DEVNULL)
    return run


def library_row(label: str, project_dir: Path, runs: int) -> None:
    from supabase_init import api

    project = api.Project.load(project_dir)
    checked = median_time(lambda: api.render(project), runs)
    unchecked = median_time(lambda: api.render(project, allow_stale=True), runs)
    check = median_time(lambda: api.require_current(project), runs)
    rebuilt = median_time(lambda: api.stale_diff(project), max(1, min(runs, 3)))
    print(f"| {label} | {checked * 1e3:.1f} ms | {unchecked * 1e3:.1f} ms | "
          f"{check * 1e3:.1f} ms | {rebuilt * 1e3:.0f} ms | "
          f"{rebuilt / check:.0f}× |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tables", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("SUPABASE_INIT_CACHE_DIR", tempfile.mkdtemp(prefix="si-bench-cache-"))

    print(f"{os.cpu_count()} CPUs, median of {args.runs} runs\n")
    # Warm the config parse cache once, as any second run finds it.
    command("render", "-C", str(REPO))()
    with_check = median_time(command("render", "-C", str(REPO)), args.runs)
    without = median_time(command("render", "-C", str(REPO), "--allow-stale"), args.runs)
    print("| `supabase-init render`, CRM, whole process | checked | --allow-stale | ratio |")
    print("|---|---|---|---|")
    print(f"| median | {with_check:.3f} s | {without:.3f} s | {with_check / without:.2f} |")
    verdict = "within" if with_check <= RENDER_LIMIT_SECONDS else "OVER"
    print(f"\nrender with the check: {verdict} the {RENDER_LIMIT_SECONDS} s limit\n")

    print("| project | render, checked | render, unchecked | the check | full build "
          "| build ÷ check |")
    print("|---|---|---|---|---|---|")
    library_row("CRM", REPO, args.runs)
    work = Path(tempfile.mkdtemp(prefix="supabase-init-bench-"))
    try:
        generated = generate_project(work / "project", args.tables)
        library_row(f"{args.tables} tables", generated, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if with_check <= RENDER_LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

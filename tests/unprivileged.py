"""Run the CLI as an unprivileged user, so that file permissions apply.

The tests run as root in CI, and root reads every file whatever its mode. A
permission error can only be seen as another user: `setpriv` switches to
`nobody` (root only); as any other user, permissions already apply and the
command runs as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from functools import cache
from pathlib import Path

from conftest import REPO, unavailable

NOBODY = 65534
_IMPORTS = "import supabase_init, psycopg, hcl2, typer, jinja2"


def _wrapper() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        unavailable("running as root without setpriv: cannot drop privileges to test "
                    "permission errors")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _environment() -> dict[str, str]:
    # Another user may not reach this interpreter's virtualenv through its
    # base interpreter (e.g. one under /root), so name the packages directly.
    paths = [str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
            "HOME": "/nonexistent", "SUPABASE_INIT_CACHE_DIR": "off", "LANG": "C.UTF-8"}


@cache
def _interpreter() -> str:
    """A Python of this version that the unprivileged user can run with our packages."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, getattr(sys, "_base_executable", sys.executable),
                  shutil.which(version) or "", f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run([*_wrapper(), candidate, "-c", _IMPORTS], env=_environment(),
                               capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return candidate
    unavailable(f"no {version} that user {NOBODY} can run with this project's packages")


def run_unprivileged(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``supabase-init ARGS`` as the unprivileged user."""
    return subprocess.run([*_wrapper(), _interpreter(), "-m", "supabase_init", *args],
                          cwd=cwd or "/", env=_environment(), capture_output=True, text=True,
                          timeout=120)


def python_unprivileged(code: str) -> subprocess.CompletedProcess[str]:
    """Python code, as the unprivileged user."""
    return subprocess.run([*_wrapper(), _interpreter(), "-c", code], cwd="/",
                          env=_environment(), capture_output=True, text=True, timeout=120)

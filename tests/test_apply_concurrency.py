"""Concurrent applies queue on the advisory lock instead of colliding."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from apply_helpers import apply_cli
from catalog import catalog_fingerprint
from conftest import REPO, create_database, drop_database

PROCESSES = 8


def test_eight_concurrent_applies_all_succeed_and_leave_the_one_apply_schema(
        database, admin_conn, server_url):
    reference = create_database(admin_conn, server_url)
    try:
        single = apply_cli(reference.url)
        assert single.returncode == 0, single.stderr
        expected = catalog_fingerprint(reference.url)
    finally:
        drop_database(reference)

    # The last in the queue waits for seven applies: on a loaded machine that can take
    # longer than the default lock_timeout (5s), which is not what this test is about.
    args = [sys.executable, "-m", "supabase_init", "apply", "--database-url", database.url,
            "--json", "--lock-timeout", "10min"]
    procs = [subprocess.Popen(args, cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    results = [p.communicate(timeout=180) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * PROCESSES, [err for _, err in results]
    assert catalog_fingerprint(database.url) == expected

    # Each saw the catalog as it was when it got the lock: exactly one created
    # the tables, the others found them there.
    changed = [json.loads(out)["changed"] for out, _ in results]
    assert sorted(changed) == [False] * (PROCESSES - 1) + [True], changed

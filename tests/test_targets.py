"""The multi-target runner on its own: bounded parallelism, order kept, failures apart.

No database: each job is a small function, so what is checked is only how
``run_targets`` schedules jobs and keeps their results and errors.
"""

from __future__ import annotations

import threading
import time

import pytest

from supabase_init.errors import SupabaseInitError
from supabase_init.targets import TargetSpec, run_targets, url_targets


def test_at_most_parallelism_jobs_run_at_once_and_results_keep_target_order():
    specs = [TargetSpec(f"t{i}", f"postgresql://u@h/d{i}") for i in range(7)]
    lock = threading.Lock()
    full = threading.Event()
    active = peak = 0

    def job(spec: TargetSpec) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            if active == 3:
                full.set()
        # The first jobs wait for each other: on a loaded machine one could
        # otherwise end before the pool had started the third.
        assert full.wait(60), "three jobs never ran at once"
        time.sleep(0.05)
        with lock:
            active -= 1
        return spec.name.upper()

    runs = run_targets(specs, job, parallelism=3)
    assert [r.result for r in runs] == [f"T{i}" for i in range(7)]
    assert peak == 3


def test_a_failing_target_carries_its_error_without_its_password_and_the_others_go_on():
    specs = url_targets(["postgresql://u:hunter2@h/a", "postgresql://u:s3cret-pw@h/b"])

    def job(spec: TargetSpec) -> str:
        if spec.dsn.endswith("/b"):
            raise SupabaseInitError(f"cannot reach {spec.dsn}\nat all")
        return "ok"

    first, second = run_targets(specs, job, parallelism=2)
    assert (first.result, first.error, first.failed) == ("ok", None, False)
    assert second.failed and second.result is None
    assert second.error is not None and "s3cret-pw" not in second.error
    assert "\n" not in second.error
    assert second.spec.name == "postgresql://u:***@h/b"


def test_parallelism_below_one_is_refused():
    with pytest.raises(SupabaseInitError, match="at least 1"):
        run_targets([TargetSpec("a", "postgresql://u@h/d")], str, parallelism=0)

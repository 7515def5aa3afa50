"""Safe under live traffic: a no-op takes no lock beyond ACCESS SHARE, every wait is
bounded, plan shows the locks a real change takes, and indexes can be built online."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from apply_helpers import SessionThread, apply_cli, build_project, lock_waits
from catalog import catalog_fingerprint
from conftest import REPO, run_cli
from supabase_init import api

VIEWS = ("active_campaigns", "campaign_metrics")
TABLES = ("public.target_group_mappings", "public.campaigns", "public.campaign_executions",
          "public.campaign_recipients", "crm_private.campaign_recipient_counts",
          "public.customer_360", "public.customer_activities")


@pytest.fixture
def crm(database) -> Iterator[object]:
    """A database with the CRM applied: every later run is a no-op."""
    first = apply_cli(database.url, "--quiet")
    assert first.returncode == 0, first.stderr
    yield database


def test_a_no_op_apply_plan_and_verify_take_no_lock_beyond_access_share(crm) -> None:
    target, script = api.url_target(crm.url), api.render(api.Project.load(REPO))
    before = catalog_fingerprint(crm.url)
    for run in (api.apply, api.plan, api.verify):
        result = run(target, script)
        assert not result.changes, (run.__name__, result.changes)
        modes = {(lock.name, mode) for lock in result.locks
                 if lock.schema in ("public", "crm_private") for mode in lock.modes}
        # The views' twins read the tables the views read; the measurement
        # sees those reads, and nothing stronger.
        assert {name for name, _ in modes} >= {"campaigns", "campaign_recipient_counts"}, modes
        assert {mode for _, mode in modes} == {"AccessShareLock"}, (run.__name__, modes)
        assert result.strong_locks == []
    assert catalog_fingerprint(crm.url) == before


class Traffic(SessionThread):
    """Runs statements in a loop on a connection of its own, as API traffic would,
    recording each one's latency. Its lock_timeout bounds every lock wait: a wait
    longer than that fails a statement, which the test reports (a latency bound
    would also count the time a loaded machine leaves the thread unscheduled)."""

    def __init__(self, url: str, *statements: str, lock_timeout: str) -> None:
        super().__init__(url)
        self.statements = statements
        self.lock_timeout = lock_timeout
        self.latencies: list[float] = []

    def session(self, conn: Any) -> None:
        conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false)",
                     (self.lock_timeout,))
        while not self.stop.is_set():
            for statement in self.statements:
                started = time.perf_counter()
                conn.execute(statement.encode())
                self.latencies.append(time.perf_counter() - started)
            self.ready.set()
            time.sleep(0.002)

    def wait_running(self) -> None:
        """Until a first round of the statements has run."""
        assert self.ready.wait(60) and self.error is None, self.error


def test_a_no_op_neither_waits_for_nor_delays_readers(crm) -> None:
    import psycopg

    with psycopg.connect(crm.url) as holder:
        # An API request with every view and table open in its transaction.
        for relation in (*(f"public.{v}" for v in VIEWS), *TABLES):
            holder.execute(f"SELECT count(*) FROM {relation}").fetchone()
        reader = Traffic(crm.url, *(f"SELECT count(*) FROM public.{v}" for v in VIEWS),
                         lock_timeout="50ms")
        reader.start()
        try:
            reader.wait_running()
            for command in ("apply", "plan", "verify"):
                started = time.monotonic()
                done = run_cli(command, "--database-url", crm.url, "--lock-timeout", "1s")
                assert done.returncode == 0, (command, done.stderr)
                assert time.monotonic() - started < 20
        finally:
            reader.stop.set()
            reader.join(10)
        holder.rollback()
    # No read waited 50 ms for a lock (its lock_timeout), and reads went on meanwhile.
    assert reader.error is None, reader.error
    assert len(reader.latencies) > 20


@pytest.mark.parametrize("command", ["apply", "plan", "verify"])
def test_the_wait_for_the_provisioning_lock_is_bounded_and_names_the_holder(crm, command):
    import psycopg

    with psycopg.connect(crm.url, application_name="supabase-init (other run)") as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtext('supabase-init'))")
        pid = holder.info.backend_pid
        with lock_waits(crm.url) as watched:
            started = time.monotonic()
            done = run_cli(command, "--database-url", crm.url, "--lock-timeout", "1s")
            elapsed = time.monotonic() - started
        holder.rollback()
    assert done.returncode == 1, done.stdout
    # One wait, for the provisioning lock, as long as lock_timeout: timed by the server,
    # as the run's own time adds interpreter start-up, which a loaded machine stretches.
    [wait] = watched.waits("advisory")
    assert wait.mode == "ExclusiveLock", wait
    assert elapsed >= 1.0 and wait.seen_for < 1.0 + 2.0, (elapsed, wait)
    line = done.stderr.strip()
    assert line.startswith("Error: ") and "\n" not in line
    assert "lock_timeout (1s)" in line
    assert f"another supabase-init run, pid {pid}, holds the provisioning lock" in line


# --------------------------------------------------------------------------
# a real change on a large table

ROWS = 200_000


@pytest.fixture
def large_crm(crm, project: Path) -> Iterator[tuple[object, Path]]:
    """The CRM with ROWS recipients, and a project copy whose template adds an index."""
    crm.execute(f"""
        INSERT INTO public.campaigns (id, name) VALUES
            ('00000000-0000-0000-0000-000000000001', 'big');
        INSERT INTO public.campaign_recipients (campaign_id, channel, email)
        SELECT '00000000-0000-0000-0000-000000000001', 'email', 'r' || i || '@example.com'
        FROM generate_series(1, {ROWS}) AS i;
        ANALYZE public.campaign_recipients;""")
    yield crm, project


def add_index(project: Path, line: str) -> None:
    template = project / "templates" / "tables" / "campaign_recipients.sql.j2"
    template.write_text(template.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    build_project(project)


def test_plan_shows_the_measured_lock_of_a_new_index_as_a_hazard(large_crm) -> None:
    crm, project = large_crm
    add_index(project, '{{- m.index("campaign_recipients_sent_at_idx", "campaign_recipients", '
                       '"sent_at") }}')
    text = run_cli("plan", "-C", str(project), "--database-url", crm.url)
    assert text.returncode == 0, text.stderr
    lock_line = next(line for line in text.stdout.splitlines()
                     if "table public.campaign_recipients:" in line)
    assert "ShareLock" in lock_line and "HAZARD" in lock_line, text.stdout
    assert text.stdout.rstrip().endswith("Plan: 1 to add, 0 to change, 0 to revoke.")

    doc = json.loads(run_cli("plan", "-C", str(project), "--database-url", crm.url,
                             "--json").stdout)
    assert doc["format_version"] == 2
    [hazard] = doc["hazards"]
    assert hazard["relation"] == "campaign_recipients" and "ShareLock" in hazard["modes"]
    assert hazard["rows"] >= ROWS * 0.9 and hazard["blocks_writes"] and hazard["hazard"]
    # The table's size as the server reports it (read for relations that existed
    # before the run only).
    with psycopg.connect(crm.url) as conn:
        size = conn.execute("SELECT pg_relation_size('public.campaign_recipients')").fetchone()
    assert size is not None and hazard["bytes"] == size[0] > 0
    assert any(lock["relation"] == "campaign_recipients" for lock in doc["locks"])

    quiet = run_cli("plan", "-C", str(project), "--database-url", crm.url, "--json",
                    "--hazard-rows", str(ROWS * 10))
    assert json.loads(quiet.stdout)["hazards"] == []


def test_concurrent_indexes_build_online_and_verify_is_clean(large_crm) -> None:
    crm, project = large_crm
    add_index(project, '{{- m.index("campaign_recipients_sent_at_idx", "campaign_recipients", '
                       '"sent_at") }}')
    writer = Traffic(crm.url, "INSERT INTO public.campaign_recipients (campaign_id, channel) "
                              "VALUES ('00000000-0000-0000-0000-000000000001', 'sms')",
                     lock_timeout="1s")
    writer.start()
    try:
        writer.wait_running()
        done = apply_cli(crm.url, "--concurrent-indexes", "--json", project=project)
    finally:
        writer.stop.set()
        writer.join(10)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["concurrent_indexes"] == ["campaign_recipients_sent_at_idx"]
    # No insert waited 1 s for a lock (its lock_timeout), and inserts went on meanwhile.
    assert writer.error is None, writer.error
    assert len(writer.latencies) > 10
    assert crm.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                      "'public.campaign_recipients_sent_at_idx'::regclass") is True
    verify = run_cli("verify", "-C", str(project), "--database-url", crm.url)
    assert verify.returncode == 0, verify.stdout


def test_a_failed_concurrent_build_leaves_no_invalid_index_and_a_rerun_finishes(large_crm):
    crm, project = large_crm
    add_index(project, '{{- m.index("campaign_recipients_channel_key", "campaign_recipients", '
                       '"channel", unique=true) }}')
    failed = apply_cli(crm.url, "--concurrent-indexes", project=project)
    assert failed.returncode == 1
    line = failed.stderr.strip()
    assert "\n" not in line and "campaign_recipients_channel_key" in line, line
    assert "invalid index it left was dropped" in line
    assert crm.scalar("SELECT count(*) FROM pg_class "
                      "WHERE relname = 'campaign_recipients_channel_key'") == 0
    # The rest was committed: a re-run after fixing the data finishes the job.
    crm.execute("DELETE FROM public.campaign_recipients WHERE ctid NOT IN ("
                "SELECT min(ctid) FROM public.campaign_recipients GROUP BY channel)")
    again = apply_cli(crm.url, "--concurrent-indexes", project=project)
    assert again.returncode == 0, again.stderr
    assert crm.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                      "'public.campaign_recipients_channel_key'::regclass") is True


def test_an_empty_never_analyzed_table_is_reported_empty_and_no_hazard(crm,
                                                                       project: Path) -> None:
    # The tables apply created hold no rows and were never analyzed: the planner
    # would guess ten pages (some 350 rows) for campaign_recipients.
    add_index(project, '{{- m.index("campaign_recipients_sent_at_idx", "campaign_recipients", '
                       '"sent_at") }}')
    text = run_cli("plan", "-C", str(project), "--database-url", crm.url, "--hazard-rows", "100")
    assert text.returncode == 0, text.stderr
    lock_line = next(line for line in text.stdout.splitlines()
                     if "table public.campaign_recipients:" in line)
    assert "ShareLock (empty, 0 bytes)" in lock_line and "HAZARD" not in lock_line, lock_line
    doc = json.loads(run_cli("plan", "-C", str(project), "--database-url", crm.url,
                             "--hazard-rows", "100", "--json").stdout)
    assert doc["hazards"] == []
    [lock] = [lock for lock in doc["locks"] if lock["relation"] == "campaign_recipients"]
    assert lock["rows"] == 0 and lock["bytes"] == 0 and lock["analyzed"] is None


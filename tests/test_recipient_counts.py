"""The recipient counters behind the dashboard views: exact under concurrent writers,
rebuilt when their triggers are missing, and giving the views exactly the results of
counting campaign_recipients."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from apply_helpers import apply_cli

STATUSES = ("pending", "sent", "delivered", "opened", "clicked", "failed")

# What campaign_counts must equal: campaign_recipients counted.
RECOUNT = """
    SELECT campaign_id, {}
    FROM public.campaign_recipients GROUP BY campaign_id ORDER BY campaign_id
""".format(", ".join(f"count(*) FILTER (WHERE status = '{s}')" for s in STATUSES))
COUNTERS = f"""
    SELECT campaign_id, {", ".join(f"sum({s})::bigint" for s in STATUSES)}
    FROM crm_private.campaign_recipient_counts GROUP BY campaign_id
    HAVING {" OR ".join(f"sum({s}) <> 0" for s in STATUSES)} ORDER BY campaign_id
"""

# The views as they were defined before the counters: counting every recipient.
OLD_VIEWS = {
    "active_campaigns": """
        SELECT c.id, c.name, c.description, c.status, c.created_by, c.scheduled_at,
               c.started_at, c.created_at, c.updated_at,
               count(r.id) AS total_recipients,
               count(r.id) FILTER (WHERE r.status = 'pending') AS pending_recipients,
               count(r.id) FILTER (WHERE r.status IN ('sent', 'delivered', 'opened', 'clicked'))
                   AS sent_recipients,
               count(r.id) FILTER (WHERE r.status = 'failed') AS failed_recipients
        FROM public.campaigns AS c
        LEFT JOIN public.campaign_recipients AS r ON r.campaign_id = c.id
        WHERE c.status = 'active'
        GROUP BY c.id""",
    "campaign_metrics": """
        WITH funnel AS (
            SELECT c.id AS campaign_id, c.name AS campaign_name, c.status AS campaign_status,
                   count(r.id) AS total_recipients,
                   count(r.id) FILTER (WHERE r.status IN ('sent', 'delivered', 'opened',
                                                          'clicked')) AS sent_count,
                   count(r.id) FILTER (WHERE r.status IN ('delivered', 'opened', 'clicked'))
                       AS delivered_count,
                   count(r.id) FILTER (WHERE r.status IN ('opened', 'clicked')) AS opened_count,
                   count(r.id) FILTER (WHERE r.status = 'clicked') AS clicked_count,
                   count(r.id) FILTER (WHERE r.status = 'failed') AS failed_count
            FROM public.campaigns AS c
            LEFT JOIN public.campaign_recipients AS r ON r.campaign_id = c.id
            GROUP BY c.id)
        SELECT funnel.*,
               round(100.0 * opened_count / NULLIF(delivered_count, 0), 2) AS open_rate,
               round(100.0 * clicked_count / NULLIF(delivered_count, 0), 2) AS click_rate
        FROM funnel""",
}

VIEWER = {"role": "authenticated", "sub": str(uuid.uuid4()),
          "app_metadata": {"crm_role": "viewer"}}
OPERATOR = {"role": "authenticated", "sub": str(uuid.uuid4()),
            "app_metadata": {"crm_role": "operator"}}


@pytest.fixture
def crm(database) -> Iterator[object]:
    applied = apply_cli(database.url, "--quiet")
    assert applied.returncode == 0, applied.stderr
    yield database


def seed(conn: psycopg.Connection, campaigns: int, per_campaign: int) -> list[uuid.UUID]:
    statuses = "ARRAY[" + ", ".join(f"'{s}'" for s in STATUSES) + "]"
    conn.execute("INSERT INTO public.campaigns (name, status) SELECT 'c' || g, "
                 "(ARRAY['draft', 'active', 'paused', 'completed'])[1 + g %% 4] "
                 "FROM generate_series(1, %s) AS g", (campaigns,))
    conn.execute(f"""
        INSERT INTO public.campaign_recipients (campaign_id, channel, status, email)
        SELECT c.id, 'email', ({statuses})[1 + (g + c.n) %% 6], 'r' || g || '@example.com'
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM public.campaigns) AS c,
             generate_series(1, %s) AS g
        WHERE g <= %s - c.n %% 3""", (per_campaign, per_campaign))
    return [row[0] for row in conn.execute(
        "SELECT id FROM public.campaigns ORDER BY id").fetchall()]


def counters_match(conn: psycopg.Connection) -> tuple[list[tuple], list[tuple]]:
    recount = [r for r in conn.execute(RECOUNT).fetchall() if any(r[1:])]
    return conn.execute(COUNTERS).fetchall(), recount


def as_caller(conn: psycopg.Connection, jwt: dict, query: str) -> list[tuple]:
    with conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL ROLE {jwt['role']}")
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(jwt),))
        return conn.execute(query).fetchall()


def test_views_give_what_counting_every_recipient_gave(crm) -> None:
    with crm.connect() as conn:
        campaigns = seed(conn, 12, 40)
        # A campaign without recipients, and one whose recipients all moved on.
        conn.execute("INSERT INTO public.campaigns (name, status) VALUES ('empty', 'active')")
        conn.execute("UPDATE public.campaign_recipients SET campaign_id = %s "
                     "WHERE campaign_id = %s", (campaigns[1], campaigns[0]))
        conn.execute("UPDATE public.campaign_recipients SET status = 'opened' "
                     "WHERE status = 'delivered' AND campaign_id = %s", (campaigns[2],))
        conn.execute("DELETE FROM public.campaign_recipients WHERE campaign_id = %s "
                     "AND status = 'failed'", (campaigns[3],))
        conn.execute("DELETE FROM public.campaigns WHERE id = %s", (campaigns[4],))
        for view, old in OLD_VIEWS.items():
            order = " ORDER BY 1"
            new = f"SELECT * FROM public.{view}"
            for jwt in (VIEWER, {"role": "service_role"}):
                got = as_caller(conn, jwt, new + order)
                assert got == as_caller(conn, jwt, old + order), (view, jwt["role"])
                assert len(got) >= (12 if view == "campaign_metrics" else 2), view
            # Without a level nobody sees a campaign, counted or not.
            nobody = {"role": "authenticated", "sub": str(uuid.uuid4()), "app_metadata": {}}
            assert as_caller(conn, nobody, new) == []


def test_an_operators_writes_keep_the_counters_they_may_not_write(crm) -> None:
    with crm.connect() as conn:
        campaigns = seed(conn, 3, 10)
        writes = [
            ("INSERT INTO public.campaign_recipients (campaign_id, channel) "
             "SELECT %s, 'sms' FROM generate_series(1, 5)", (campaigns[0],)),
            ("UPDATE public.campaign_recipients SET status = 'sent' "
             "WHERE status = 'pending' AND campaign_id = %s", (campaigns[1],)),
        ]
        with conn.transaction():
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (json.dumps(OPERATOR),))
            for text, params in writes:
                conn.execute(text, params)
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("UPDATE crm_private.campaign_recipient_counts SET pending = 0")
        counters, recount = counters_match(conn)
        assert counters == recount


def test_counters_stay_exact_under_concurrent_writers(crm) -> None:
    """Eight writers at once, two on each of four campaigns, many statements touching
    several campaigns: bulk inserts, bulk status updates, moves between campaigns,
    deletes. No deadlock, no lost update.

    The workload itself cannot deadlock on recipient rows, so a deadlock here is the
    counters' fault. Each campaign's bulk UPDATEs come from one writer, and rows move
    only into two campaigns nobody updates in bulk. (Two bulk UPDATEs of campaigns
    that rows move between can deadlock in PostgreSQL whatever the counters do. At
    READ COMMITTED each follows a moved row to its newest version and keeps the lock
    on it even when that version is no longer in its campaign.) The movers and
    deleters pick their rows with SKIP LOCKED, so they never wait. The bulk writers
    wait only for them."""
    with crm.connect() as conn:
        campaigns = seed(conn, 6, 50)
    bulk, archives = campaigns[:4], campaigns[4:]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(number: int) -> None:
        rng = random.Random(number)
        mine = bulk[number % 4]
        try:
            with psycopg.connect(crm.url) as conn:
                start.wait(timeout=30)
                for _ in range(25):
                    # Writers 0-3 update their campaign's rows in bulk; 4-7
                    # insert, move (into an archive campaign) and delete rows of
                    # theirs, and insert into others.
                    action = rng.choice((0, 1, 4) if number < 4 else (0, 2, 3))
                    other = rng.choice(campaigns)
                    if action == 0:
                        conn.execute(
                            "INSERT INTO public.campaign_recipients (campaign_id, channel, status) "
                            "SELECT (ARRAY[%s, %s]::uuid[])[1 + g %% 2], 'email', %s "
                            "FROM generate_series(1, %s) AS g",
                            (mine, other, rng.choice(STATUSES), rng.randrange(1, 40)))
                    elif action == 1:
                        current, later = sorted(rng.sample(range(5), 2))
                        conn.execute(
                            "UPDATE public.campaign_recipients SET status = %s "
                            "WHERE campaign_id = %s AND status = %s",
                            (STATUSES[later], mine, STATUSES[current]))
                    elif action == 2:
                        conn.execute(
                            "UPDATE public.campaign_recipients SET campaign_id = %s WHERE id IN "
                            "(SELECT id FROM public.campaign_recipients WHERE campaign_id = %s "
                            "LIMIT 5 FOR UPDATE SKIP LOCKED)", (rng.choice(archives), mine))
                    elif action == 3:
                        conn.execute(
                            "DELETE FROM public.campaign_recipients WHERE id IN "
                            "(SELECT id FROM public.campaign_recipients WHERE campaign_id = %s "
                            "LIMIT 3 FOR UPDATE SKIP LOCKED)", (mine,))
                    else:
                        conn.execute(
                            "UPDATE public.campaign_recipients SET email = 'edited' "
                            "WHERE campaign_id = %s", (mine,))
                    conn.commit()
        except BaseException as e:  # reported below, with the writer's number
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    with crm.connect() as conn:
        counters, recount = counters_match(conn)
        assert counters == recount
        assert sum(sum(row[1:]) for row in counters) > 200


def test_apply_recounts_when_a_counter_trigger_was_missing(crm) -> None:
    with crm.connect() as conn:
        seed(conn, 5, 20)
        conn.execute("DROP TRIGGER count_recipients_insert ON public.campaign_recipients")
        conn.execute("INSERT INTO public.campaign_recipients (campaign_id, channel) "
                     "SELECT id, 'push' FROM public.campaigns")
        conn.execute("ALTER TABLE public.campaign_recipients "
                     "DISABLE TRIGGER count_recipients_update")
        conn.execute("UPDATE public.campaign_recipients SET status = 'clicked' "
                     "WHERE channel = 'push'")
        counters, recount = counters_match(conn)
        assert counters != recount
    drift = apply_cli(crm.url, "--quiet")
    assert drift.returncode == 0, drift.stderr
    with crm.connect() as conn:
        counters, recount = counters_match(conn)
        assert counters == recount
    again = apply_cli(crm.url)
    assert again.returncode == 0 and again.stdout.startswith("No changes:"), again.stdout


def test_service_role_may_recount_and_nobody_else(crm) -> None:
    with crm.connect() as conn:
        seed(conn, 2, 10)
        conn.execute("UPDATE crm_private.campaign_recipient_counts SET pending = pending + 7")
        assert as_caller(conn, {"role": "service_role"},
                         "SELECT public.recount_campaign_recipients()") == [("",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_caller(conn, OPERATOR, "SELECT public.recount_campaign_recipients()")
        conn.execute("SELECT public.recount_campaign_recipients()")
        counters, recount = counters_match(conn)
        assert counters == recount
        privileges = conn.execute("""
            SELECT grantee, privilege_type FROM information_schema.role_table_grants
            WHERE table_name = 'campaign_recipient_counts'
              AND grantee IN ('anon', 'authenticated', 'PUBLIC') ORDER BY 1, 2""").fetchall()
        assert privileges == [("authenticated", "SELECT")]
        assert conn.execute("SELECT relrowsecurity FROM pg_class "
                            "WHERE oid = 'crm_private.campaign_recipient_counts'::regclass"
                            ).fetchone() == (True,)


def test_a_transaction_left_open_blocks_no_other_writer_of_its_campaign(crm) -> None:
    with crm.connect() as conn:
        campaign = seed(conn, 1, 20)[0]
    insert = ("INSERT INTO public.campaign_recipients (campaign_id, channel) "
              "VALUES (%s, 'sms')")
    with psycopg.connect(crm.url) as holder, psycopg.connect(crm.url) as other:
        holder.execute(insert, (campaign,))  # and left open
        other.execute("SET statement_timeout = '3s'")
        other.execute(insert, (campaign,))
        other.execute("UPDATE public.campaign_recipients SET status = 'sent' "
                      "WHERE campaign_id = %s AND status = 'pending' AND channel = 'email'",
                      (campaign,))
        other.commit()
        holder.commit()
    with crm.connect() as conn:
        counters, recount = counters_match(conn)
        assert counters == recount


def test_api_users_reach_the_counters_only_through_the_views(crm) -> None:
    with crm.connect() as conn:
        # Not in the API schema: PostgREST serves only the schemas it is set to expose.
        assert conn.execute("SELECT to_regclass('public.campaign_recipient_counts')"
                            ).fetchone() == (None,)
        assert conn.execute("""
            SELECT r, has_schema_privilege(r, 'crm_private', 'USAGE')
            FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r""").fetchall() == [
            ("anon", False), ("authenticated", True), ("service_role", True)]
        readers = conn.execute("""
            SELECT DISTINCT v.relname FROM pg_depend AS d
            JOIN pg_rewrite AS w ON w.oid = d.objid
            JOIN pg_class AS v ON v.oid = w.ev_class
            WHERE d.classid = 'pg_rewrite'::regclass
              AND d.refobjid = 'crm_private.campaign_recipient_counts'::regclass
              AND v.relnamespace <> 'crm_private'::regnamespace
            ORDER BY 1""").fetchall()
        assert readers == [("active_campaigns",), ("campaign_metrics",)]
        # No function an API user may call through the API reads or writes them.
        callable_ = conn.execute("""
            SELECT p.proname FROM pg_proc AS p
            WHERE p.pronamespace = 'public'::regnamespace
              AND p.prosrc LIKE '%%campaign_recipient_counts%%'
              AND (has_function_privilege('anon', p.oid, 'EXECUTE')
                   OR has_function_privilege('authenticated', p.oid, 'EXECUTE'))""").fetchall()
        assert callable_ == []
        campaigns = seed(conn, 2, 4)
        shown = as_caller(conn, VIEWER, "SELECT campaign_id, total_recipients "
                                        "FROM public.campaign_metrics ORDER BY 1")
        totals = conn.execute("SELECT campaign_id, count(*) FROM public.campaign_recipients "
                              "GROUP BY 1 ORDER BY 1").fetchall()
        assert shown == totals and [c for c, _ in shown] == campaigns


def test_counters_of_the_api_schema_move_out_with_their_rows(crm) -> None:
    with crm.connect() as conn:
        seed(conn, 3, 6)
        # Where the counters were before they moved to the private schema.
        conn.execute("ALTER TABLE crm_private.campaign_recipient_counts SET SCHEMA public")
        conn.execute("UPDATE public.campaign_recipient_counts SET pending = pending + 1000")
        kept = conn.execute("SELECT campaign_id, id, pending FROM "
                            "public.campaign_recipient_counts ORDER BY 1, 2").fetchall()
    moved = apply_cli(crm.url)
    assert moved.returncode == 0, moved.stderr
    with crm.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.campaign_recipient_counts')"
                            ).fetchone() == (None,)
        # Moved, not rebuilt: the rows are those it had (the triggers were
        # there all along, so nothing is recounted).
        assert conn.execute("SELECT campaign_id, id, pending FROM "
                            "crm_private.campaign_recipient_counts ORDER BY 1, 2"
                            ).fetchall() == kept
    again = apply_cli(crm.url)
    assert again.returncode == 0 and again.stdout.startswith("No changes:"), again.stdout

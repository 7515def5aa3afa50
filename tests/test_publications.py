"""Issue acceptance: Realtime publications, on plain PostgreSQL and the Supabase shape.

The CRM publishes `campaigns` and `campaign_executions` in `supabase_realtime`.
Plain PostgreSQL has no such publication: apply creates it. Hosted Supabase
has it already (owned by `postgres`, no tables): apply adds the tables and
leaves its options alone. Membership is declarative for the managed tables
(a managed table added by hand is removed, one removed by hand is added
again) and plan / verify see it; tables the config does not manage are left
alone. Runs on the PostgreSQL 15 test server and on the newest major.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import REPO, run_cli

PUBLISHED = ("campaign_executions", "campaigns")
MEMBERS = """
    SELECT c.relname FROM pg_publication_rel r
    JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid
    WHERE p.pubname = 'supabase_realtime' ORDER BY 1"""


def cli(*args: str, url: str, project=REPO):
    return run_cli(*args, "--project", str(project), "--database-url", url)


def members(db: Any) -> list[str]:
    with db.connect() as conn:
        return [row[0] for row in conn.execute(MEMBERS).fetchall()]


def publication_changes(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["action"], c["kind"], c["name"]) for c in document["changes"]
            if c["kind"] in ("publication", "published table")}


def test_plan_on_a_fresh_database_lists_the_publication_and_its_tables(database):
    result = cli("plan", url=database.url)
    assert result.returncode == 0, result.stderr
    assert ("+ publication supabase_realtime: publish insert, update, delete, truncate\n"
            "    + published table supabase_realtime.campaign_executions\n"
            "    + published table supabase_realtime.campaigns\n") in result.stdout
    document = json.loads(cli("plan", "--json", url=database.url).stdout)
    assert publication_changes(document) == {
        ("create", "publication", "supabase_realtime"),
        ("create", "published table", "supabase_realtime.campaign_executions"),
        ("create", "published table", "supabase_realtime.campaigns")}
    assert database.scalar("SELECT count(*) FROM pg_publication") == 0


def test_membership_changed_by_hand_is_drift_and_apply_heals_it(database):
    assert cli("apply", "--quiet", url=database.url).returncode == 0
    assert members(database) == list(PUBLISHED)
    assert database.scalar("SELECT obj_description(oid, 'pg_publication') FROM pg_publication"
                           " WHERE pubname = 'supabase_realtime'") == "managed by supabase-init"
    # A table the config does not manage stays in the publication, and is no drift.
    database.execute("CREATE TABLE public.notes (id int PRIMARY KEY);"
                     "ALTER PUBLICATION supabase_realtime ADD TABLE public.notes")
    assert cli("verify", url=database.url).returncode == 0

    database.execute("ALTER PUBLICATION supabase_realtime DROP TABLE public.campaigns;"
                     "ALTER PUBLICATION supabase_realtime ADD TABLE public.customer_360")
    drift = cli("verify", url=database.url)
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert ("~ publication supabase_realtime\n"
            "    + published table supabase_realtime.campaigns\n"
            "    - published table supabase_realtime.customer_360\n") in drift.stdout
    document = json.loads(cli("verify", "--json", url=database.url).stdout)
    assert publication_changes(document) == {
        ("create", "published table", "supabase_realtime.campaigns"),
        ("remove", "published table", "supabase_realtime.customer_360")}

    healed = cli("apply", url=database.url)
    assert healed.returncode == 0, healed.stderr
    assert "Created: 1 published table." in healed.stdout
    assert members(database) == [*PUBLISHED, "notes"]
    assert cli("verify", url=database.url).returncode == 0


def test_a_row_filter_or_column_list_on_a_published_table_is_drift(database):
    assert cli("apply", "--quiet", url=database.url).returncode == 0
    database.execute("ALTER PUBLICATION supabase_realtime SET TABLE public.campaigns"
                     " WHERE (status = 'active'), public.campaign_executions (id, status)")
    drift = cli("verify", url=database.url)
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "~ published table supabase_realtime.campaigns" in drift.stdout
    assert "row_filter: (status = 'active'::text) -> (none)" in drift.stdout
    assert "columns: id, status -> (none)" in drift.stdout
    assert cli("apply", "--quiet", url=database.url).returncode == 0
    assert cli("verify", url=database.url).returncode == 0
    assert database.scalar("SELECT count(*) FROM pg_publication_rel"
                           " WHERE prqual IS NOT NULL OR prattrs IS NOT NULL") == 0


def test_options_of_a_publication_supabase_init_created_are_converged(database):
    assert cli("apply", "--quiet", url=database.url).returncode == 0
    database.execute("ALTER PUBLICATION supabase_realtime SET (publish = 'insert')")
    drift = cli("verify", url=database.url)
    assert drift.returncode == 2
    assert "publish: insert -> insert, update, delete, truncate" in drift.stdout
    assert cli("apply", "--quiet", url=database.url).returncode == 0
    assert cli("verify", url=database.url).returncode == 0


def test_a_listed_table_is_published_in_another_schema_too(database):
    result = run_cli("apply", "--quiet", "-var", "schema=crm", "--project", str(REPO),
                     "--database-url", database.url)
    assert result.returncode == 0, result.stderr
    assert members(database) == list(PUBLISHED)
    assert database.scalar("SELECT count(*) FROM pg_publication_tables"
                           " WHERE schemaname = 'crm'") == 2


def test_on_supabase_the_existing_publication_gets_the_tables_and_keeps_its_options(
        supabase_database):
    db = supabase_database
    # Supabase's own publication: not created by supabase-init, options its owner chose.
    with db.server.admin(db.name) as conn:
        conn.execute("ALTER PUBLICATION supabase_realtime SET (publish = 'insert, update')")
    owner = ("SELECT pubowner::regrole::text, pubinsert, pubupdate, pubdelete, pubtruncate,"
             " obj_description(oid, 'pg_publication') FROM pg_publication"
             " WHERE pubname = 'supabase_realtime'")
    assert db.scalar("SELECT count(*) FROM pg_publication_rel") == 0
    plan = cli("plan", "--json", url=db.url)
    assert plan.returncode == 0, plan.stderr
    assert publication_changes(json.loads(plan.stdout)) == {
        ("create", "published table", "supabase_realtime.campaign_executions"),
        ("create", "published table", "supabase_realtime.campaigns")}
    for _ in range(2):
        applied = cli("apply", "--quiet", url=db.url)
        assert applied.returncode == 0, applied.stderr
    assert members(db) == list(PUBLISHED)
    with db.connect() as conn:
        assert conn.execute(owner).fetchone() == ("postgres", True, True, False, False, None)
    verified = cli("verify", url=db.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for role in ("postgres", "supabase_admin"):
        assert db.server.password(role) not in plan.stdout + plan.stderr + verified.stdout

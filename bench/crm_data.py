"""A CRM data set of any size that satisfies every constraint of the schema: the
benchmarks load it into a provisioned database.

Ids are derived from row numbers (``md5(...)::uuid``), so two databases loaded
with the same sizes hold the same rows, and a benchmark can compare two
schemas on identical data. Recipients are stored campaign by campaign, as a
campaign's sends arrive, with statuses in realistic proportions; 15 % of the
campaigns are active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Out of 20 recipients: 2 pending, 4 sent, 6 delivered, 4 opened, 2 clicked, 2 failed.
STATUS_OF_20 = ["pending"] * 2 + ["sent"] * 4 + ["delivered"] * 6 + ["opened"] * 4 + \
    ["clicked"] * 2 + ["failed"] * 2
SEGMENTS = ("retail", "vip", "high_roller", "dormant", "new", "returning", "affiliate", "staff")


@dataclass(frozen=True)
class Sizes:
    campaigns: int = 10_000
    customers: int = 200_000
    recipients: int = 1_000_000
    activities: int = 2_000_000

    @classmethod
    def for_recipients(cls, recipients: int) -> Sizes:
        """The proportions of the 1M-recipient data set, scaled."""
        return cls(campaigns=max(10, recipients // 100), customers=max(10, recipients // 5),
                   recipients=recipients, activities=2 * recipients)


def campaign_id(n: int) -> str:
    """The id of campaign number n (1-based), as the generator makes it."""
    import hashlib

    return str(_uuid(hashlib.md5(f"campaign{n}".encode()).hexdigest()))


def _uuid(hexdigest: str) -> Any:
    import uuid

    return uuid.UUID(hexdigest)


def _array(values: tuple[str, ...] | list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def statements(schema: str, sizes: Sizes) -> list[str]:
    """The INSERTs that load the data set into ``schema``, in order."""
    s = f'"{schema}"'
    c, k, r, a = sizes.campaigns, sizes.customers, sizes.recipients, sizes.activities
    per_campaign = max(1, r // c)
    return [
        f"""INSERT INTO {s}.campaigns (id, name, description, status, workflow_data,
                                       scheduled_at, started_at, completed_at, created_at,
                                       updated_at)
            SELECT md5('campaign' || g)::uuid, 'Campaign ' || g, 'Generated campaign ' || g,
                   CASE WHEN g % 20 < 3 THEN 'active' WHEN g % 20 < 6 THEN 'draft'
                        WHEN g % 20 < 8 THEN 'paused' ELSE 'completed' END,
                   jsonb_build_object('nodes', jsonb_build_array(), 'edges', jsonb_build_array()),
                   timestamptz '2025-01-01' + g * interval '37 minutes',
                   CASE WHEN g % 20 >= 3 AND g % 20 < 6 THEN NULL
                        ELSE timestamptz '2025-01-01' + g * interval '37 minutes' END,
                   CASE WHEN g % 20 >= 8
                        THEN timestamptz '2025-01-02' + g * interval '37 minutes' END,
                   timestamptz '2024-12-01' + g * interval '37 minutes',
                   timestamptz '2024-12-02' + g * interval '37 minutes'
            FROM generate_series(1::bigint, {c}) AS g""",
        f"""INSERT INTO {s}.campaign_executions (id, campaign_id, execution_type, status,
                                                 started_at, created_at, updated_at)
            SELECT md5('execution' || g || '-' || e)::uuid, md5('campaign' || g)::uuid,
                   ({_array(('manual', 'scheduled', 'triggered'))})[1 + (g + e) % 3],
                   CASE WHEN g % 20 < 3 THEN 'running' ELSE 'completed' END,
                   timestamptz '2025-01-01' + g * interval '37 minutes' + e * interval '1 day',
                   timestamptz '2025-01-01' + g * interval '37 minutes',
                   timestamptz '2025-01-01' + g * interval '37 minutes'
            FROM generate_series(1::bigint, {c}) AS g, generate_series(1, 2) AS e""",
        f"""INSERT INTO {s}.customer_360 (id, customer_id, email, name, phone, segment,
                                          churn_risk, ltv, total_deposit, total_withdraw,
                                          last_activity_at, created_at, updated_at)
            SELECT md5('customer' || g)::uuid, 'cust-' || g, 'customer' || g || '@example.com',
                   'Customer ' || g, '+1555' || lpad(g::text, 7, '0'),
                   ({_array(SEGMENTS)})[1 + g % {len(SEGMENTS)}],
                   ({_array(('low', 'low', 'medium', 'high'))})[1 + (g / 7) % 4],
                   (g * 7919 % 1000000) / 100.0, (g * 104729 % 5000000) / 100.0,
                   (g * 1299709 % 2000000) / 100.0,
                   timestamptz '2026-01-01' - (g % 86400) * interval '1 minute',
                   timestamptz '2024-01-01' + g * interval '1 minute',
                   timestamptz '2025-06-01' + g * interval '1 minute'
            FROM generate_series(1::bigint, {k}) AS g""",
        # Campaign by campaign: recipient g belongs to campaign 1 + (g - 1) / per_campaign.
        f"""INSERT INTO {s}.campaign_recipients (id, campaign_id, execution_id, customer_id,
                                                 email, channel, status, sent_at, delivered_at,
                                                 opened_at, clicked_at, created_at, updated_at)
            SELECT md5('recipient' || g)::uuid, md5('campaign' || x.n)::uuid,
                   md5('execution' || x.n || '-' || (1 + g % 2))::uuid, 'cust-' || x.customer,
                   'customer' || x.customer || '@example.com',
                   ({_array(('email', 'email', 'sms', 'push', 'phone'))})[1 + g % 5], x.status,
                   CASE WHEN x.status <> 'pending' THEN x.at END,
                   CASE WHEN x.status IN ('delivered', 'opened', 'clicked')
                        THEN x.at + interval '1 minute' END,
                   CASE WHEN x.status IN ('opened', 'clicked') THEN x.at + interval '1 hour' END,
                   CASE WHEN x.status = 'clicked' THEN x.at + interval '2 hours' END, x.at,
                   x.at + interval '3 hours'
            FROM (SELECT g, least({c}, 1 + (g - 1) / {per_campaign}) AS n,
                         1 + (g * 31) % {k} AS customer,
                         ({_array(STATUS_OF_20)})[1 + (g * 7) % 20] AS status,
                         timestamptz '2025-01-01' + g * interval '3 seconds' AS at
                  FROM generate_series(1::bigint, {r}) AS g) AS x""",
        f"""INSERT INTO {s}.customer_activities (id, customer_id, activity_type,
                                                 activity_description, activity_data, created_at)
            SELECT md5('activity' || g)::uuid, 'cust-' || (1 + g % {k}),
                   ({_array(('login', 'deposit', 'withdraw', 'bet', 'email_open', 'support'))})
                       [1 + (g / 3) % 6],
                   'Generated activity ' || g, jsonb_build_object('n', g),
                   timestamptz '2026-01-01' - g * interval '13 seconds'
            FROM generate_series(1::bigint, {a}) AS g""",
    ]


def load(conn: Any, schema: str, sizes: Sizes) -> None:
    """Load the data set on an autocommit connection, then VACUUM ANALYZE."""
    for text in statements(schema, sizes):
        conn.execute(text)
    conn.execute("VACUUM ANALYZE")

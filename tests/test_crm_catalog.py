"""The CRM's catalog after a first apply is the recorded one: a change to the
engine or the build that alters what a provision leaves shows up here, named
by catalog area and row.

The fixture is the normalised catalog (``catalog.catalog_fingerprint``: names,
types, definitions, options, ACLs; no OIDs) of the API schema and the private
schema after ``apply`` with the default variables, one file per PostgreSQL
major (each deparses view definitions in its own way). On a major with no file
of its own, the newest file is compared with the views' definitions left out.
A deliberate change to the CRM's templates or config rewrites the file of the
server's major with ``SUPABASE_INIT_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from apply_helpers import apply_cli
from catalog import catalog_fingerprint
from conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "crm_catalog"
UPDATE = os.environ.get("SUPABASE_INIT_UPDATE_GOLDEN") == "1"
SCHEMAS = ("public", "crm_private")


def _without_view_definitions(catalog: dict[str, Any]) -> dict[str, Any]:
    return {schema: {area: [row[:1] for row in rows] if area == "views" else rows
                     for area, rows in areas.items()}
            for schema, areas in catalog.items()}


def test_a_first_apply_leaves_the_recorded_catalog(database) -> None:
    applied = apply_cli(database.url, "--quiet")
    assert applied.returncode == 0, applied.stderr
    major = int(database.scalar("SHOW server_version_num")) // 10000
    found = json.loads(json.dumps({schema: catalog_fingerprint(database.url, schema)
                                   for schema in SCHEMAS}))
    path = FIXTURES / f"pg{major}.json"
    if UPDATE:
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = sorted(FIXTURES.glob("pg*.json"), key=lambda p: int(p.stem[2:]))
    assert recorded, f"no fixture in {FIXTURES}"
    if path.is_file():
        expected = json.loads(path.read_text(encoding="utf-8"))
    else:
        expected = _without_view_definitions(
            json.loads(recorded[-1].read_text(encoding="utf-8")))
        found = _without_view_definitions(found)
    for schema in SCHEMAS:
        for area, rows in expected[schema].items():
            got = found[schema][area]
            missing = [r for r in rows if r not in got]
            extra = [r for r in got if r not in rows]
            assert not missing and not extra, (
                f"{schema} {area}: missing {missing[:3]}, unexpected {extra[:3]}")
    assert found == expected

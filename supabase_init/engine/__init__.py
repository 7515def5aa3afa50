"""The convergence engine: the Jinja templates that turn a project's config and
object templates into the script that converges a database.

A project holds only its config and its object templates (``tables/``,
``views/``, ``functions/``, ``sequences/``); the build looks a template up in
the project's ``templates/`` first and then here, so the project's object
templates import ``_macros.sql.j2`` from the engine. The names the engine's SQL
shares with the package's Python live in ``contract``. Never prints, never
touches a database.
"""

from __future__ import annotations

from pathlib import Path

# The engine's templates: the entry, its macros and the parts it includes.
TEMPLATES_DIR = Path(__file__).parent / "templates"
ENTRY_TEMPLATE = "supabase-init.sql.j2"

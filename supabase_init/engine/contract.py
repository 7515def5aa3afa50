"""What the engine's SQL and the package's Python agree on, in one place.

The SQL side reads these as the ``contract`` global of the build; the Python
side (``transaction``) imports them. Both change together, with the package.
"""

from __future__ import annotations

# The variables the engine's entry template reads from a project's config:
# the API schema and the run's two timeouts.
REQUIRED_VARIABLES = ("schema", "lock_timeout", "statement_timeout")

# The call that serializes concurrent runs (first statement after the settings);
# a statement holding it is part of the preamble.
ADVISORY_LOCK_CALL = "pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('supabase-init'))"

# The session setting that makes a script queue, rather than build, an index
# missing on a table that holds rows, and the temporary table (in pg_temp) that
# holds the queue: (ord, step, index_name, statement, cleanup), run after COMMIT.
DEFER_INDEX_BUILDS = "supabase_init.defer_index_builds"
DEFERRED_INDEXES = "supabase_init_deferred_indexes"

# The procedures (in pg_temp) the script creates first and drops last, which
# compare a view or a function with its definition and replace it if needed.
VIEW_HELPER = "supabase_init_view"
FUNCTION_HELPER = "supabase_init_function"

# Temporary objects (in pg_temp) built from a definition's text so that the
# server prints it as it would print the real one; dropped in the same block.
VIEW_PROBE = "supabase_init_view_probe"
FUNCTION_PROBE = "supabase_init_function_probe"


def as_template_global() -> dict[str, str | tuple[str, ...]]:
    """The contract as the build's ``contract`` global (lower-case names)."""
    return {name.lower(): value for name, value in globals().items()
            if name.isupper() and isinstance(value, str | tuple)}

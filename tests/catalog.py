"""An independent catalog fingerprint for tests: "same catalog" means same rows here.

Deliberately separate from supabase_init.introspect (the code under test): it
reads the catalog with plain queries and compares text. OIDs never appear;
`ALL` privileges are spelled out, minus MAINTAIN, so PostgreSQL 15 and 17+
compare equal.
"""

from __future__ import annotations

from typing import Any

QUERIES = {
    "roles": """
        SELECT rolname, rolcanlogin, rolinherit, rolbypassrls
        FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role')""",
    "relations": """
        SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
               array_to_string(c.reloptions, ',')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s""",
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = %(schema)s AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s
          AND k.contype <> 'n'  -- NOT NULL (PostgreSQL 18+): "columns" has it""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s""",
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = %(schema)s""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prosrc,
               array_to_string(p.proconfig, ','), p.prosecdef
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %(schema)s""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s AND NOT t.tgisinternal""",
    "policies": """
        SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
        FROM pg_policies WHERE schemaname = %(schema)s""",
    "table_grants": """
        SELECT c.relname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = %(schema)s AND a.privilege_type <> 'MAINTAIN'
          AND a.grantee <> c.relowner""",
    "function_grants": """
        SELECT p.proname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
             aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = %(schema)s AND a.grantee <> p.proowner""",
    "schema_grants": """
        SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type
        FROM pg_namespace n, aclexplode(n.nspacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = %(schema)s AND a.grantee <> n.nspowner""",
}


def catalog_fingerprint(url: str, schema: str = "public") -> dict[str, list[tuple[Any, ...]]]:
    """Sorted rows per catalog area, for equality checks between databases."""
    import psycopg

    result: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, query in QUERIES.items():
            rows = conn.execute(query, {"schema": schema}).fetchall()
            result[name] = sorted(tuple("" if v is None else str(v) for v in row) for row in rows)
    return result


def user_schema_is_empty(url: str, schema: str = "public") -> bool:
    fp = catalog_fingerprint(url, schema)
    return not any(fp[k] for k in ("relations", "functions", "policies"))

-- User triggers (not the internal ones behind foreign keys) with their
-- enabled state: ALTER TABLE ... DISABLE TRIGGER is drift too.
SELECT 'trigger' AS kind,
       CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname || '.' || t.tgname AS name,
       CASE WHEN c.relkind = 'v' THEN 'view ' ELSE 'table ' END || CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END
           || c.relname AS parent,
       jsonb_build_object(
           'definition', pg_catalog.pg_get_triggerdef(t.oid, true),
           'enabled', CASE t.tgenabled WHEN 'O' THEN 'origin' WHEN 'D' THEN 'disabled'
                                       WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END) AS attrs
FROM pg_catalog.pg_trigger AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND NOT t.tgisinternal

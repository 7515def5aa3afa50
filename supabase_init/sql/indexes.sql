-- Indexes that do not back a constraint (those are compared as constraints).
SELECT 'index' AS kind,
       CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || i.relname AS name,
       'table ' || CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname AS parent,
       jsonb_build_object('definition', pg_catalog.pg_get_indexdef(x.indexrelid),
                          'valid', x.indisvalid) AS attrs
FROM pg_catalog.pg_index AS x
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_class AS c ON c.oid = x.indrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND c.relkind IN ('r', 'p', 'm')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS k
                  WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid
                    AND k.contype IN ('p', 'u', 'x'))

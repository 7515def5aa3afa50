-- Table constraints by name and definition. PostgreSQL 18 records NOT NULL
-- as constraints with generated names; nullability is compared on the column
-- instead, so servers before and after 18 read the same.
SELECT 'constraint' AS kind,
       CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname || '.' || k.conname AS name,
       'table ' || CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname AS parent,
       jsonb_build_object('definition', pg_catalog.pg_get_constraintdef(k.oid, true)) AS attrs
FROM pg_catalog.pg_constraint AS k
JOIN pg_catalog.pg_class AS c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND k.contype <> 'n'
  AND c.relkind IN ('r', 'p', 'f')

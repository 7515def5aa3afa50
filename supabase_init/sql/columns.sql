-- Columns of the schema's tables: type, nullability, default, identity,
-- generation. Their order (attnum) is not compared: ADD COLUMN can only append.
-- A default cannot refer to a column, so it is deparsed without its table
-- (relation 0): naming the table would open it, and wait for its lock, once
-- per table.
WITH rel AS (
    SELECT c.oid, CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname AS relname
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY (%(schemas)s::text[])
      AND c.relkind IN ('r', 'p', 'f')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS e
                      WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND e.objid = c.oid AND e.deptype = 'e')
)
SELECT 'column' AS kind,
       rel.relname || '.' || a.attname AS name,
       'table ' || rel.relname AS parent,
       -- The attributes as JSON text, built directly: jsonb_build_object and
       -- jsonb_strip_nulls cost more than the rest of the query for a schema
       -- of thousands of columns. Absent values are left out.
       '{"type": ' || pg_catalog.to_json(pg_catalog.format_type(a.atttypid, a.atttypmod))::text
       || ', "not_null": ' || CASE WHEN a.attnotnull THEN 'true' ELSE 'false' END
       || CASE WHEN a.attgenerated = '' AND d.adbin IS NOT NULL
               THEN ', "default": ' || pg_catalog.to_json(pg_catalog.pg_get_expr(d.adbin, 0))::text
               ELSE '' END
       || CASE WHEN a.attgenerated <> '' AND d.adbin IS NOT NULL
               THEN ', "generated": '
                    || pg_catalog.to_json(pg_catalog.pg_get_expr(d.adbin, d.adrelid))::text
               ELSE '' END
       || CASE a.attidentity WHEN 'a' THEN ', "identity": "ALWAYS"'
                             WHEN 'd' THEN ', "identity": "BY DEFAULT"' ELSE '' END
       || CASE WHEN a.attcollation <> t.typcollation AND co.collname IS NOT NULL
               THEN ', "collation": ' || pg_catalog.to_json(co.collname::text)::text
               ELSE '' END
       || '}' AS attrs
FROM rel
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = rel.oid
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation AS co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped

-- Columns of the schema's tables: type, nullability, default, identity,
-- generation. Their order (attnum) is not compared: ADD COLUMN can only append.
WITH rel AS (
    SELECT c.oid, c.relname
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s
      AND c.relkind IN ('r', 'p', 'f')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS e
                      WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND e.objid = c.oid AND e.deptype = 'e')
)
SELECT 'column' AS kind,
       rel.relname || '.' || a.attname AS name,
       'table ' || rel.relname AS parent,
       jsonb_strip_nulls(jsonb_build_object(
           'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
           'not_null', a.attnotnull,
           'default', CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
           'generated', CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
           'identity', CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END,
           'collation', CASE WHEN a.attcollation <> t.typcollation THEN co.collname END)) AS attrs
FROM rel
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = rel.oid
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation AS co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped

-- Tables, views, materialized views and sequences of the schemas (objects that
-- belong to an extension are the extension's business). A name outside the
-- first schema, the API schema, is qualified ("private.counts"): every query
-- names objects so.
SELECT CASE c.relkind
           WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
           ELSE 'foreign table' END AS kind,
       CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname AS name,
       NULL::text AS parent,
       jsonb_strip_nulls(jsonb_build_object(
           'partitioned', CASE WHEN c.relkind = 'p' THEN true END,
           'row_security', CASE WHEN c.relkind IN ('r', 'p') THEN c.relrowsecurity END,
           'force_row_security', CASE WHEN c.relkind IN ('r', 'p') THEN c.relforcerowsecurity END,
           'options', (SELECT pg_catalog.array_agg(o ORDER BY o) FROM pg_catalog.unnest(c.reloptions) AS o),
           'definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END,
           'sequence', CASE WHEN c.relkind = 'S' THEN (
               SELECT jsonb_build_object('type', pg_catalog.format_type(s.seqtypid, NULL),
                                         'start', s.seqstart, 'increment', s.seqincrement,
                                         'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache,
                                         'cycle', s.seqcycle)
               FROM pg_catalog.pg_sequence AS s WHERE s.seqrelid = c.oid) END)) AS attrs
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND d.objid = c.oid AND d.deptype = 'e')

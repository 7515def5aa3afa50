-- The config's publications (what they publish) and their explicit members
-- among the schema's tables, with a member's column list and row filter (a
-- table published with either is not published as the config lists it).
-- A row filter is deparsed only where there is one: deparsing against the
-- table opens it.
SELECT 'publication' AS kind,
       p.pubname AS name,
       NULL::text AS parent,
       jsonb_build_object(
           'publish', (SELECT pg_catalog.array_agg(a.action ORDER BY a.ord)
                       FROM (VALUES (1, 'insert', p.pubinsert), (2, 'update', p.pubupdate),
                                    (3, 'delete', p.pubdelete), (4, 'truncate', p.pubtruncate))
                            AS a (ord, action, enabled)
                       WHERE a.enabled),
           'all_tables', p.puballtables,
           'via_partition_root', p.pubviaroot) AS attrs
FROM pg_catalog.pg_publication AS p
WHERE p.pubname = ANY (%(publications)s::text[])
UNION ALL
SELECT 'published table',
       p.pubname || '.' || CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname,
       'publication ' || p.pubname,
       jsonb_strip_nulls(jsonb_build_object(
           'columns', (SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum)
                       FROM pg_catalog.pg_attribute AS a
                       WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs::int2[])),
           'row_filter', CASE WHEN r.prqual IS NOT NULL
                              THEN pg_catalog.pg_get_expr(r.prqual, r.prrelid) END))
FROM pg_catalog.pg_publication_rel AS r
JOIN pg_catalog.pg_publication AS p ON p.oid = r.prpubid
JOIN pg_catalog.pg_class AS c ON c.oid = r.prrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE p.pubname = ANY (%(publications)s::text[])
  AND n.nspname = ANY (%(schemas)s::text[])

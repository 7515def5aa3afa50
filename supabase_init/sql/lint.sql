-- What the lint rules judge, in the managed schemas, as (schema, kind, name,
-- attrs) rows:
-- tables, views, functions, foreign keys and indexes, with what the API roles
-- (anon, authenticated) can do with each (the policies are the snapshot's,
-- policies.sql). Run inside the
-- transaction, after the script, so it reads the catalog as apply would
-- leave it. Privileges are the effective ones (through PUBLIC and role
-- membership, column grants included), as PostgREST would meet them.
-- Objects that belong to an extension are the extension's business.
WITH api AS (
    SELECT r.oid, r.rolname::text AS rolname
    FROM pg_catalog.pg_roles AS r
    WHERE r.rolname IN ('anon', 'authenticated')
),
rel AS (
    SELECT c.oid, n.nspname::text AS schema, c.relname, c.relkind, c.relrowsecurity,
           c.reloptions
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY (%(schemas)s)
      AND c.relkind IN ('r', 'p', 'v')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.objid = c.oid AND d.deptype = 'e')
)
-- What the server says about the API as a whole: whether pg_graphql serves
-- the relations too, and which schemas PostgREST's settings expose (the
-- advisor reads the same setting).
SELECT NULL::text AS schema, 'server' AS kind, '' AS name,
       jsonb_build_object(
           'pg_graphql', EXISTS (SELECT FROM pg_catalog.pg_extension
                                 WHERE extname = 'pg_graphql'),
           'exposed_schemas', ARRAY(
               SELECT pg_catalog.btrim(s)
               FROM pg_catalog.unnest(pg_catalog.string_to_array(
                   pg_catalog.current_setting('pgrst.db_schemas', true), ',')) AS s)) AS attrs
UNION ALL
SELECT rel.schema,
       CASE WHEN rel.relkind = 'v' THEN 'view' ELSE 'table' END,
       rel.relname AS name,
       jsonb_build_object(
           'partitioned', rel.relkind = 'p',
           'row_security', rel.relrowsecurity,
           'options', coalesce((SELECT pg_catalog.array_agg(o ORDER BY o)
                                FROM pg_catalog.unnest(rel.reloptions) AS o), '{}'),
           'primary_key', EXISTS (SELECT FROM pg_catalog.pg_index AS i
                                  WHERE i.indrelid = rel.oid AND i.indisprimary),
           'columns', coalesce((SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum)
                                FROM pg_catalog.pg_attribute AS a
                                WHERE a.attrelid = rel.oid AND a.attnum > 0
                                  AND NOT a.attisdropped), '{}'),
           'privileges', coalesce((
               SELECT jsonb_object_agg(api.rolname, ARRAY(
                   SELECT p FROM pg_catalog.unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) AS p
                   WHERE pg_catalog.has_any_column_privilege(api.oid, rel.oid, p)
                   UNION ALL
                   SELECT 'DELETE' WHERE pg_catalog.has_table_privilege(api.oid, rel.oid, 'DELETE')))
               FROM api), '{}'))
FROM rel
UNION ALL
SELECT n.nspname::text, 'function',
       p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
       jsonb_build_object(
           'security_definer', p.prosecdef,
           'returns_trigger', p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype,
           'search_path_set', EXISTS (SELECT FROM pg_catalog.unnest(p.proconfig) AS o
                                      WHERE o LIKE 'search\_path=%%'),
           'executable_by', coalesce((SELECT pg_catalog.array_agg(api.rolname ORDER BY api.rolname)
                                      FROM api
                                      WHERE pg_catalog.has_function_privilege(api.oid, p.oid,
                                                                              'EXECUTE')), '{}'))
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = ANY (%(schemas)s)
  AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
-- A foreign key is covered when a valid index leads with its columns (in any
-- order): a delete or update of the referenced row then finds the
-- referencing rows without scanning the table. Supabase's advisor wants them
-- in the key's order, hence in_order.
SELECT c.schema, 'foreign_key',
       c.relname || '.' || k.conname,
       jsonb_build_object(
           'table', c.relname,
           'constraint', k.conname,
           'columns', (SELECT pg_catalog.array_agg(a.attname::text ORDER BY u.ord)
                       FROM pg_catalog.unnest(k.conkey) WITH ORDINALITY AS u (attnum, ord)
                       JOIN pg_catalog.pg_attribute AS a
                         ON a.attrelid = k.conrelid AND a.attnum = u.attnum),
           'covered', EXISTS (
               SELECT FROM pg_catalog.pg_index AS i
               WHERE i.indrelid = k.conrelid AND i.indisvalid
                 AND (pg_catalog.string_to_array(i.indkey::text, ' ')::int2[])
                         [1:pg_catalog.cardinality(k.conkey)] @> k.conkey
                 AND k.conkey @> (pg_catalog.string_to_array(i.indkey::text, ' ')::int2[])
                         [1:pg_catalog.cardinality(k.conkey)]),
           'in_order', EXISTS (
               SELECT FROM pg_catalog.pg_index AS i
               WHERE i.indrelid = k.conrelid AND i.indisvalid
                 AND (pg_catalog.string_to_array(i.indkey::text, ' ')::int2[])
                         [1:pg_catalog.cardinality(k.conkey)] = k.conkey))
FROM pg_catalog.pg_constraint AS k
JOIN rel AS c ON c.oid = k.conrelid
WHERE k.contype = 'f'
UNION ALL
-- Two indexes are the same when they are built alike: access method,
-- columns, operator classes, collations, options, expressions and predicate
-- (the expressions deparsed only where there are some).
SELECT c.schema, 'index',
       i.relname,
       jsonb_build_object(
           'table', c.relname,
           'constraint', (SELECT k.conname FROM pg_catalog.pg_constraint AS k
                          WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid
                          LIMIT 1),
           'shape', pg_catalog.concat_ws(' ', i.relam, x.indisunique, x.indnullsnotdistinct,
                                         x.indkey, x.indclass, x.indcollation, x.indoption,
                                         CASE WHEN x.indexprs IS NOT NULL THEN
                                             pg_catalog.pg_get_expr(x.indexprs, x.indrelid) END,
                                         CASE WHEN x.indpred IS NOT NULL THEN
                                             pg_catalog.pg_get_expr(x.indpred, x.indrelid) END))
FROM pg_catalog.pg_index AS x
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN rel AS c ON c.oid = x.indrelid
WHERE x.indisvalid

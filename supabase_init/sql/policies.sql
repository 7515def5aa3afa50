-- Row level security policies; roles sorted, 0 is PUBLIC.
SELECT 'policy' AS kind,
       CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname || '.' || p.polname AS name,
       'table ' || CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname AS parent,
       jsonb_strip_nulls(jsonb_build_object(
           'permissive', p.polpermissive,
           'command', CASE p.polcmd WHEN '*' THEN 'ALL' WHEN 'r' THEN 'SELECT'
                                    WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                    WHEN 'd' THEN 'DELETE' END,
           'roles', (SELECT pg_catalog.array_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                                                      ELSE pg_catalog.pg_get_userbyid(r)::text END
                                                 ORDER BY 1)
                     FROM pg_catalog.unnest(p.polroles) AS r),
           'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
           'with_check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))) AS attrs
FROM pg_catalog.pg_policy AS p
JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])

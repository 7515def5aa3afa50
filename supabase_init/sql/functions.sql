-- Functions and procedures by name and identity arguments. The full
-- definition covers body, language, volatility, SECURITY DEFINER and SET
-- options; the last two are also kept apart so a change reads clearly.
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
       CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
       NULL::text AS parent,
       jsonb_build_object(
           'security_definer', p.prosecdef,
           'config', (SELECT pg_catalog.array_agg(o ORDER BY o) FROM pg_catalog.unnest(p.proconfig) AS o),
           'definition', pg_catalog.pg_get_functiondef(p.oid)) AS attrs
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                    AND d.objid = p.oid AND d.deptype = 'e')

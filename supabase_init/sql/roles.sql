-- The managed roles' attributes, and the schemas themselves.
-- Every snapshot query returns (kind, name, parent, attrs): parent is the
-- object a row belongs to ("table campaigns"), attrs a jsonb of what is
-- compared. OIDs never appear; arrays are sorted.
SELECT 'role' AS kind, r.rolname AS name, NULL::text AS parent,
       jsonb_build_object(
           'login', r.rolcanlogin,
           'inherit', r.rolinherit,
           'bypass_rls', r.rolbypassrls,
           'superuser', r.rolsuper,
           'create_db', r.rolcreatedb,
           'create_role', r.rolcreaterole,
           'replication', r.rolreplication,
           'connection_limit', r.rolconnlimit) AS attrs
FROM pg_catalog.pg_roles AS r
WHERE r.rolname = ANY (%(roles)s::text[])
UNION ALL
SELECT 'schema', n.nspname, NULL, jsonb_build_object('owner', pg_catalog.pg_get_userbyid(n.nspowner))
FROM pg_catalog.pg_namespace AS n
WHERE n.nspname = ANY (%(schemas)s::text[])

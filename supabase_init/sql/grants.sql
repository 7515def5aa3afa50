-- Privileges of the managed roles and PUBLIC on the schemas, their relations,
-- their columns and their functions: one row per (object, grantee). A NULL ACL
-- means the built-in default (acldefault), e.g. EXECUTE for PUBLIC on a new
-- function. The MAINTAIN that comes with ALL on PostgreSQL 17+ is left out, so
-- that servers before and after 17 read the same: it is the one a grantee
-- holds together with every other relation privilege, with the same grant
-- option. Any other MAINTAIN was granted on purpose and shows.
WITH managed AS (
    SELECT r.oid, r.rolname::text AS rolname
    FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY (%(roles)s::text[])
    UNION ALL
    SELECT 0, 'PUBLIC'
),
target AS (
    SELECT n.oid AS nspoid,
           CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END AS prefix
    FROM pg_catalog.pg_namespace AS n WHERE n.nspname = ANY (%(schemas)s::text[])
),
acl AS (
    SELECT 'schema ' || n.nspname AS object, 'schema ' || n.nspname AS parent,
           coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner)) AS acl
    FROM pg_catalog.pg_namespace AS n JOIN target ON target.nspoid = n.oid
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view '
                          WHEN 'm' THEN 'materialized view ' WHEN 'f' THEN 'foreign table '
                          ELSE 'table ' END || target.prefix || c.relname AS object,
           NULL,
           coalesce(c.relacl, pg_catalog.acldefault(
               CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))
    FROM pg_catalog.pg_class AS c JOIN target ON target.nspoid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    UNION ALL
    SELECT 'column ' || target.prefix || c.relname || '.' || att.attname,
           CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                          WHEN 'f' THEN 'foreign table ' ELSE 'table ' END
               || target.prefix || c.relname,
           att.attacl
    FROM pg_catalog.pg_attribute AS att
    JOIN pg_catalog.pg_class AS c ON c.oid = att.attrelid
    JOIN target ON target.nspoid = c.relnamespace
    WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' ELSE 'function ' END
               || target.prefix || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
           NULL,
           coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
    FROM pg_catalog.pg_proc AS p JOIN target ON target.nspoid = p.pronamespace
    WHERE p.prokind IN ('f', 'p')
)
-- Each object's ACL is exploded and grouped on its own (a few entries), not
-- all of them together in one sort.
SELECT 'grant' AS kind,
       acl.object || ' to ' || g.rolname AS name,
       coalesce(acl.parent, acl.object) AS parent,
       jsonb_build_object('privileges', g.privileges) AS attrs
FROM acl
CROSS JOIN LATERAL (
    SELECT m.rolname,
           pg_catalog.array_agg(x.privilege_type || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION'
                                                         ELSE '' END
                                ORDER BY x.privilege_type) AS privileges
    FROM pg_catalog.aclexplode(acl.acl) AS x
    JOIN managed AS m ON m.oid = x.grantee
    WHERE x.privilege_type <> 'MAINTAIN'
       OR (SELECT count(DISTINCT y.privilege_type)
           FROM pg_catalog.aclexplode(acl.acl) AS y
           WHERE y.grantee = x.grantee AND y.is_grantable = x.is_grantable
             AND y.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                      'REFERENCES', 'TRIGGER')) < 7
    GROUP BY m.rolname
) AS g

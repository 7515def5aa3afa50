-- The relation locks this backend holds (run inside the transaction, after
-- the script): what the script's statements took, as PostgreSQL granted
-- them. Relations dropped again in the transaction (a temporary twin) are
-- gone from pg_class and so left out. With schemas given, so are their
-- relations whose names (as a snapshot names them) are not in the list of
-- existing ones: the transaction created them, and no other session can see
-- them yet. A locked relation's size is read without waiting: this backend
-- already holds a lock on it. The size is the relation's as the transaction
-- sees it (a rewritten table's new file).
SELECT n.nspname AS schema,
       c.relname AS name,
       CASE c.relkind
           WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index'
           WHEN 'I' THEN 'index' WHEN 'f' THEN 'foreign table' ELSE 'relation' END AS kind,
       l.mode,
       CASE WHEN c.relkind IN ('r', 'p', 'm', 'i', 'S') THEN pg_catalog.pg_relation_size(c.oid) END
           AS bytes,
       -- A plain table of no pages holds no rows (a partitioned one has no
       -- pages of its own); reltuples is -1 until the first ANALYZE or VACUUM
       -- (PostgreSQL 14 and later).
       c.relkind = 'r' AND pg_catalog.pg_relation_size(c.oid) = 0 AS empty,
       c.reltuples >= 0 AS analyzed
FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE l.locktype = 'relation'
  AND l.pid = pg_catalog.pg_backend_pid()
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d
                    WHERE d.datname = pg_catalog.current_database())
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
  AND (n.nspname <> ALL (%(schemas)s::text[])
       OR CASE WHEN n.nspname = %(schema)s THEN '' ELSE n.nspname || '.' END || c.relname
          = ANY (%(existing)s::text[]))
ORDER BY 1, 2, 4

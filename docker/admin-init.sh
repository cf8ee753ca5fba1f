#!/bin/sh
# Mathesar's own database (MATHESAR_DB, default mathesar_django) on the Podium PostgreSQL server, owned by
# the role Mathesar logs in with (MATHESAR_DB_USER, default mathesar_django; password MATHESAR_DB_PASSWORD):
# a plain login role, never the cluster's superuser, so the admin UI's own login reaches nothing but its
# database. Run by the compose "admin" profile before Mathesar starts, on every start. Idempotent: the role
# and the database are created once; the password is set anew, and tables an earlier version left to the
# superuser (Mathesar logged in as it) are handed to the role.
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) of a superuser.
set -eu
: "${MATHESAR_DB_PASSWORD:?set MATHESAR_DB_PASSWORD (the password of Mathesar's own database role) in .env}"
db="${MATHESAR_DB:-mathesar_django}"
role="${MATHESAR_DB_USER:-mathesar_django}"
# The password is read from the environment (\getenv), never put on a command line.
psql --no-psqlrc -q -v ON_ERROR_STOP=1 -v db="$db" -v role="$role" -d "${PGDATABASE:-postgres}" <<'SQL'
\getenv password MATHESAR_DB_PASSWORD
SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
\connect :"db"
SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, :'role')
FROM pg_namespace n
WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'public')
  AND n.nspowner <> (SELECT oid FROM pg_roles WHERE rolname = :'role') \gexec
-- Tables, views and free-standing sequences (a column's own sequence follows its table).
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             ELSE 'TABLE' END,
              n.nspname, c.relname, :'role')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'role')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) \gexec
SQL
echo "Mathesar's database $db is ready, owned by $role."

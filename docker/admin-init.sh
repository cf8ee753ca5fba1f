#!/bin/sh
# Creates Mathesar's own database (MATHESAR_DB, default mathesar_django) on the Podium PostgreSQL
# server unless it exists; run by the compose "admin" profile before Mathesar starts. Idempotent.
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
set -eu
db="${MATHESAR_DB:-mathesar_django}"
psql --no-psqlrc -v ON_ERROR_STOP=1 -v db="$db" -d "${PGDATABASE:-postgres}" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
echo "Mathesar's database $db is ready."

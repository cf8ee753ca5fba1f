#!/bin/bash
# Runs once, when the primary's data volume is created (docker-entrypoint-initdb.d): lets the replica
# stream WAL as the podium user with its password.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "${PGDATA}/pg_hba.conf"

#!/bin/bash
# A hot-standby replica of the "postgres" service: on first start, copy the primary with
# pg_basebackup -R (which writes standby.signal and primary_conninfo), then replay its WAL for ever.
set -euo pipefail
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  until pg_basebackup -h postgres -U podium -D "${PGDATA}" -R -X stream -c fast; do
    echo "replica: primary not ready for a base backup yet; retrying" >&2
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 0700 "${PGDATA}"
fi
exec postgres -c hot_standby=on -c max_connections=200

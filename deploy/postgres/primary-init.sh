#!/bin/sh
# Runs once, when the primary's data folder is created (/docker-entrypoint-initdb.d): a role the
# streaming replica connects as, and the pg_hba.conf line that lets it (replication connections
# match only a "replication" entry, never "all").
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"

#!/bin/sh
# The streaming replica: on first start, copy the primary with pg_basebackup (-R writes
# standby.signal and primary_conninfo; -C -S creates a replication slot, so the primary keeps
# the WAL the replica has not replayed yet); then run as a hot standby (read-only queries).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -U "$POSTGRES_USER" -d "$POSTGRES_DB"; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h "$PRIMARY_HOST" -U replicator \
    -D "$PGDATA" -R -X stream -C -S replica1 --checkpoint=fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on

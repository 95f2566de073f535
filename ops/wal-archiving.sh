#!/usr/bin/env bash
# Turn on WAL archiving for a Debian PostgreSQL cluster (the operator's side):
#   ops/wal-archiving.sh VERSION CLUSTER ARCHIVE_DIR [ARCHIVE_TIMEOUT_SECONDS]
# Every finished WAL segment is copied to ARCHIVE_DIR (in production: a mount of the
# second data center), and a segment is finished at least every ARCHIVE_TIMEOUT seconds,
# which bounds what a restore from the archive can lose (the RPO).
set -euo pipefail
version=$1 cluster=$2 archive=$3 timeout=${4:-60}
mkdir -p "$archive"
chown postgres:postgres "$archive"
port=$(pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $3}')
psql() { runuser -u postgres -- /usr/bin/psql -X -q -p "$port" -d postgres "$@"; }
psql -c "ALTER SYSTEM SET wal_level = 'replica'"
psql -c "ALTER SYSTEM SET archive_mode = 'on'"
psql -c "ALTER SYSTEM SET archive_command = 'test ! -f $archive/%f && cp %p $archive/%f'"
psql -c "ALTER SYSTEM SET archive_timeout = '$timeout'"
pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" restart

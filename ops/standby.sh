#!/usr/bin/env bash
# A streaming standby of the whole cluster at the second site (the operator's side):
#   ops/standby.sh VERSION NEW_CLUSTER PORT PRIMARY_HOST PRIMARY_PORT ARCHIVE_DIR
# The standby is a base backup that replays the primary's WAL as it streams, and falls
# back to the archive; promote it with `pg_ctlcluster VERSION NEW_CLUSTER promote`.
set -euo pipefail
version=$1 cluster=$2 port=$3 host=$4 primary_port=$5 archive=$6
pg_createcluster "$version" "$cluster" -p "$port" -- --auth=trust >/dev/null
data=/var/lib/postgresql/$version/$cluster
rm -rf "$data"
runuser -u postgres -- pg_basebackup -h "$host" -p "$primary_port" -U postgres -D "$data" \
  -X stream -R -c fast
echo "restore_command = 'cp $archive/%f %p'" >> "$data/postgresql.auto.conf"
pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start

#!/usr/bin/env bash
# Restore a Debian PostgreSQL cluster from a base backup and the WAL archive (after the
# loss of its data), replaying every archived segment, or up to TARGET_TIME:
#   ops/pitr-restore.sh VERSION CLUSTER BASE_BACKUP_DIR ARCHIVE_DIR [TARGET_TIME]
# Then `kumomura backup restore` (or an export) takes one municipality out of it.
set -euo pipefail
version=$1 cluster=$2 base=$3 archive=$4 target=${5:-}
data=/var/lib/postgresql/$version/$cluster
pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop -m immediate 2>/dev/null || true
rm -rf "$data"
cp -a "$base" "$data"
chown -R postgres:postgres "$data"
chmod 700 "$data"
{
  echo "restore_command = 'cp $archive/%f %p'"
  [ -n "$target" ] && echo "recovery_target_time = '$target'"
  echo "recovery_target_action = 'promote'"
} >> "$data/postgresql.auto.conf"
touch "$data/recovery.signal"
chown postgres:postgres "$data/recovery.signal"
pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start

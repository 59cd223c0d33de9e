#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 + PostGIS cluster for the qzgeo tests, or stop it.
#
#   eval "$(.ci/start_postgis.sh [DIR] [PORT])"   # prints: export QZGEO_TEST_PG_URI=...
#   .ci/start_postgis.sh --stop [DIR]
#
# DIR defaults to $TMPDIR/qzgeo-pg (or /tmp/qzgeo-pg), PORT to 55432. The server listens on
# 127.0.0.1 only with trust authentication: never point this at a directory you care about,
# a stale DIR is stopped and removed first. initdb refuses to run as root, so as root the
# cluster runs as the Debian `postgres` user.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
stop_only=0
if [[ ${1:-} == --stop ]]; then
    stop_only=1
    shift
fi
DIR=${1:-${TMPDIR:-/tmp}/qzgeo-pg}
PORT=${2:-55432}
DATA=$DIR/data
SOCK=$DIR/sock
LOG=$DIR/server.log

as_owner=()
if [[ $(id -u) == 0 ]]; then
    as_owner=(runuser -u postgres --)
fi

stop_cluster() {
    if [[ -f $DATA/postmaster.pid ]]; then
        "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
    fi
}

stop_cluster
if [[ $stop_only == 1 ]]; then
    rm -rf "$DIR"
    exit 0
fi

if [[ ! -x $PGBIN/initdb ]]; then
    echo "start_postgis.sh: $PGBIN/initdb not found; apt-get install postgresql-15-postgis-3" >&2
    exit 1
fi

rm -rf "$DIR"
mkdir -p "$DATA" "$SOCK"
if [[ ${#as_owner[@]} -gt 0 ]]; then
    chown -R postgres: "$DIR"
    if ! "${as_owner[@]}" test -w "$DATA"; then
        echo "start_postgis.sh: user postgres cannot reach $DIR; use a DIR under /tmp" >&2
        exit 1
    fi
fi

"${as_owner[@]}" "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    exit 1
}
# fsync off: the cluster is thrown away, durability only costs test time.
"${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c fsync=off" start >&2 || {
    cat "$LOG" >&2
    exit 1
}

psql=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE qzgeo_test" >&2
"${psql[@]}" -d qzgeo_test -c "CREATE EXTENSION postgis" >&2

echo "export QZGEO_TEST_PG_URI=postgresql://postgres@127.0.0.1:$PORT/qzgeo_test"

#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster (Debian's postgresql) for tests
# and development: trust auth on 127.0.0.1 only, data in STATE_DIR.
#
#   postgres.sh start PORT STATE_DIR    # prints the SQLAlchemy URL
#   postgres.sh stop STATE_DIR
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  port=${2:?PORT}; state=${3:?STATE_DIR}
  mkdir -p "$state"
  [ "$(id -u)" = 0 ] && chown postgres: "$state"
  if [ ! -f "$state/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$state/data" --auth=trust -U postgres -E UTF8 > "$state/initdb.log" 2>&1 \
      || { cat "$state/initdb.log" >&2; exit 1; }
  fi
  as_pg "$bin/pg_ctl" -D "$state/data" -l "$state/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$state -c fsync=off" start > /dev/null \
    || { tail -n 20 "$state/postgres.log" >&2; exit 1; }
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  state=${2:?STATE_DIR}
  [ -f "$state/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$state/data" -m fast -w stop > /dev/null || true
  ;;
*) echo "usage: postgres.sh start PORT STATE_DIR | stop STATE_DIR" >&2; exit 2 ;;
esac

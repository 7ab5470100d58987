#!/usr/bin/env bash
# Start or stop the hub (JupyterHub + proxy + the model service) of this checkout.
#
#   scripts/hub.sh start    # background; logs in $MLK_DATA_DIR/hub/hub.log
#   scripts/hub.sh stop     # stops the hub; it stops the proxy, the service and users' containers
#   scripts/hub.sh status
#
# Builds nothing: build the single-user image first (python scripts/build-singleuser.py)
# and start a registry (scripts/registry.sh). Options are jupyterhub_config.py's MLK_* variables;
# MLK_AUTHENTICATOR picks how people log in (docs/authentication.md). `start` ends by printing
# who logs in with what (the accounts and their kept passwords), unless MLK_HUB_LOGINS=0
# (`make up` prints them once, in its closing status).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MLK_DATA_DIR:-$root/data}
case "$data" in /*) ;; *) data="$root/$data" ;; esac
export MLK_DATA_DIR="$data"
hubdir="$data/hub"
pidfile="$hubdir/hub.pid"
log="$hubdir/hub.log"
public=${MLK_HUB_BIND_URL:-http://127.0.0.1:8000}
public=${public%/}
jupyterhub="$root/.venv/bin/jupyterhub"
[ -x "$jupyterhub" ] || jupyterhub=$(command -v jupyterhub || true)

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
  mkdir -p "$hubdir"
  if running; then
    echo "hub: already running (pid $(cat "$pidfile")) at $public/"
    exit 0
  fi
  [ -n "$jupyterhub" ] || { echo "hub: jupyterhub not found (run scripts/setup.sh)" >&2; exit 1; }
  image=${MLK_SINGLEUSER_IMAGE:-mlrun-kernel/singleuser:latest}
  docker image inspect "$image" >/dev/null 2>&1 \
    || echo "hub: warning: image $image is missing; build it with python scripts/build-singleuser.py" >&2
  cd "$root"
  # setsid: the hub gets its own process group, so `stop` never signals this shell.
  setsid "$jupyterhub" -f "$root/jupyterhub_config.py" >> "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  started=$(date +%s)
  echo "hub: starting JupyterHub, its proxy and the model service (log $log)"
  said=$started
  until curl -fsS -o /dev/null --max-time 2 "$public/hub/health" 2>/dev/null; do
    if ! running; then
      echo "hub: exited during start; last log lines ($log):" >&2
      tail -n 30 "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if [ $(( $(date +%s) - started )) -gt 90 ]; then
      echo "hub: no answer on $public/hub/health after 90s; see $log" >&2
      exit 1
    fi
    if [ $(( $(date +%s) - said )) -ge 10 ]; then
      said=$(date +%s)
      echo "hub: still starting ($(( said - started ))s): $(tail -n 1 "$log" | cut -c1-120)"
    fi
    sleep 0.5
  done
  echo "hub: running at $public/ (pid $(cat "$pidfile"), up in $(( $(date +%s) - started ))s, log $log)"
  # Who logs in with what: jupyterhub_config.py wrote it to $hubdir/logins.json.
  [ "${MLK_HUB_LOGINS:-1}" = 0 ] && exit 0
  python="$(dirname "$jupyterhub")/python"
  [ -x "$python" ] || python=python3
  "$python" -m mlrun_kernel.hub "$hubdir" 2>&1 | sed 's/^/hub: /' \
    || echo "hub: how to log in: see $hubdir/logins.json and docs/authentication.md"
  ;;
stop)
  if ! running; then
    echo "hub: not running"
    rm -f "$pidfile"
    exit 0
  fi
  pid=$(cat "$pidfile")
  # SIGTERM: JupyterHub stops users' servers (their containers are removed),
  # the managed model service and the proxy before it exits.
  kill -TERM "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "hub: stopped"; exit 0; }
    sleep 0.5
  done
  echo "hub: still running after 60s; sending SIGKILL to $pid" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "hub: running (pid $(cat "$pidfile")) at $public/"; else echo "hub: not running"; exit 1; fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac

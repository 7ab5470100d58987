#!/usr/bin/env bash
# Start or stop a Docker registry (Debian's docker-registry) with the project's
# own config. Used by `make up` (the platform's registry) and by the test suite
# (a throwaway registry per session).
#
#   registry.sh start ADDR STATE_DIR [NOTIFY_URL]   # ADDR like 127.0.0.1:5000
#   registry.sh stop STATE_DIR
#
# STATE_DIR holds config.yml, registry.pid, registry.log and storage/.
# NOTIFY_URL, when given, receives the registry's push/delete events, with
# "Authorization: Bearer <secret>": the secret is MLK_REGISTRY_EVENTS_SECRET, else
# the one jupyterhub_config.py keeps in $MLK_DATA_DIR/registry-events-secret.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
template="$here/../hub/registry/config.yml.in"

cmd=${1:?usage: registry.sh start ADDR STATE_DIR [NOTIFY_URL] | stop STATE_DIR}
case "$cmd" in
start)
  addr=${2:?ADDR}; state=${3:?STATE_DIR}; notify=${4:-}
  mkdir -p "$state/storage"
  if curl -fsS -o /dev/null --max-time 2 "http://$addr/v2/" 2>/dev/null; then
    echo "registry: already answering on $addr"
    exit 0
  fi
  command -v docker-registry >/dev/null || { echo "docker-registry is not installed (apt-get install docker-registry)" >&2; exit 1; }
  notifications=""
  if [ -n "$notify" ]; then
    secret=${MLK_REGISTRY_EVENTS_SECRET:-}
    secret_file="${MLK_DATA_DIR:-$here/../data}/registry-events-secret"
    if [ -z "$secret" ] && [ -f "$secret_file" ]; then secret=$(cat "$secret_file"); fi
    headers=""
    if [ -n "$secret" ]; then
      headers="
      headers:
        Authorization: [\"Bearer $secret\"]"
    fi
    notifications="notifications:
  endpoints:
    - name: mlrun-kernel
      url: $notify$headers
      timeout: 2s
      threshold: 5
      backoff: 1s
      ignoredmediatypes: [application/octet-stream]
      ignore:
        mediatypes: [application/octet-stream]
        actions: [pull]"
  fi
  storage=$(cd "$state/storage" && pwd)
  awk -v addr="$addr" -v storage="$storage" -v notif="$notifications" '
    { gsub("@ADDR@", addr); gsub("@STORAGE@", storage); if ($0 == "@NOTIFICATIONS@") $0 = notif; print }
  ' "$template" > "$state/config.yml"
  chmod 600 "$state/config.yml"
  # Go's default GOGC=100 makes the registry collect garbage after every few
  # small requests: half its CPU per request went to the collector and to
  # returning memory to the OS. 400 halves its CPU per request for a few tens of
  # MiB more memory (measured in bench/bench_catalog_sync.py, docs/registry.md).
  GOGC=${MLK_REGISTRY_GOGC:-400} nohup docker-registry serve "$state/config.yml" >> "$state/registry.log" 2>&1 &
  echo $! > "$state/registry.pid"
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null --max-time 1 "http://$addr/v2/" 2>/dev/null; then
      echo "registry: started on $addr (storage $storage)"
      exit 0
    fi
    kill -0 "$(cat "$state/registry.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "registry: did not answer on $addr; last log lines:" >&2
  tail -n 20 "$state/registry.log" >&2
  exit 1
  ;;
stop)
  state=${2:?STATE_DIR}
  if [ -f "$state/registry.pid" ]; then
    kill "$(cat "$state/registry.pid")" 2>/dev/null || true
    rm -f "$state/registry.pid"
  fi
  ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac

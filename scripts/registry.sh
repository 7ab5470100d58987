#!/usr/bin/env bash
# Start or stop the project's Docker registry (Debian's docker-registry) with the
# project's own config. Used by `make up` (the platform's registry) and by the
# test suite (a throwaway registry per session).
#
#   registry.sh start ADDR STATE_DIR [NOTIFY_URL]   # ADDR like 127.0.0.1:5000
#   registry.sh stop STATE_DIR
#
# Two processes share STATE_DIR/storage (docs/registry.md):
#   ADDR       the pull side: read-only, anonymous (the engine pulls, the catalog reads);
#   PUSH_ADDR  the push side: htpasswd auth; takes pushes and deletes, sends the
#              notifications. MLK_REGISTRY_PUSH_ADDR, default ADDR's port + 1.
# The push user is MLK_REGISTRY_USERNAME (default mlk); its password is
# MLK_REGISTRY_PASSWORD, else the file MLK_REGISTRY_PASSWORD_FILE, else
# $MLK_DATA_DIR/registry-password, made once (0600 from its first byte) if missing.
#
# STATE_DIR holds config.yml (pull side), config-push.yml, htpasswd, the pid and
# log files, and storage/.
# NOTIFY_URL, when given, receives the registry's push/delete events, with
# "Authorization: Bearer <secret>": the secret is MLK_REGISTRY_EVENTS_SECRET, else
# the one jupyterhub_config.py keeps in $MLK_DATA_DIR/registry-events-secret.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
template="$root/hub/registry/config.yml.in"
export MLK_DATA_DIR=${MLK_DATA_DIR:-$root/data}

answers() { # ADDR WANT: the v2 endpoint answers with HTTP status WANT
  [ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 1 "http://$1/v2/" 2>/dev/null)" = "$2" ]
}

# CONFIG ADDR READONLY AUTH NOTIFICATIONS: write one process's config from the template.
write_config() {
  local purge=true
  [ "$3" = true ] && purge=false # only the push side purges stale uploads
  awk -v addr="$2" -v storage="$storage" -v ro="$3" -v purge="$purge" -v auth="$4" -v notif="$5" '
    { gsub("@ADDR@", addr); gsub("@STORAGE@", storage); gsub("@READONLY@", ro); gsub("@PURGE@", purge)
      if ($0 == "@AUTH@") $0 = auth
      if ($0 == "@NOTIFICATIONS@") $0 = notif
      print }
  ' "$template" > "$1.tmp"
  chmod 600 "$1.tmp"
  mv "$1.tmp" "$1"
}

# NAME CONFIG ADDR WANT: start one process and wait until ADDR answers WANT.
serve() {
  # Go's default GOGC=100 makes the registry collect garbage after every few
  # small requests: half its CPU per request went to the collector and to
  # returning memory to the OS. 400 halves its CPU per request for a few tens of
  # MiB more memory (measured in bench/bench_catalog_sync.py, docs/registry.md).
  GOGC=${MLK_REGISTRY_GOGC:-400} nohup docker-registry serve "$2" >> "$state/$1.log" 2>&1 &
  echo $! > "$state/$1.pid"
  for _ in $(seq 1 100); do
    answers "$3" "$4" && return 0
    kill -0 "$(cat "$state/$1.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "registry: $1 did not answer on $3; last log lines:" >&2
  tail -n 20 "$state/$1.log" >&2
  exit 1
}

cmd=${1:?usage: registry.sh start ADDR STATE_DIR [NOTIFY_URL] | stop STATE_DIR}
case "$cmd" in
start)
  addr=${2:?ADDR}; state=${3:?STATE_DIR}; notify=${4:-}
  push_addr=${MLK_REGISTRY_PUSH_ADDR:-${addr%:*}:$(( ${addr##*:} + 1 ))}
  mkdir -p "$state/storage"
  # A pull side that takes writes is an older, open registry: restart it read-only
  # (the probe deletes a manifest that cannot exist: 405 read-only, 404 open).
  probe="http://$addr/v2/mlk-probe/manifests/sha256:$(printf '0%.0s' $(seq 64))"
  if answers "$addr" 200 && [ "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE --max-time 2 "$probe")" != 405 ]; then
    if [ -f "$state/registry.pid" ] && kill "$(cat "$state/registry.pid")" 2>/dev/null; then
      echo "registry: $addr took anonymous writes (an older configuration): restarting it read-only"
      for _ in $(seq 1 50); do answers "$addr" 200 || break; sleep 0.1; done
    else
      echo "registry: something else answers on $addr and takes anonymous writes; stop it first" >&2
      exit 1
    fi
  fi
  if answers "$addr" 200 && answers "$push_addr" 401; then
    echo "registry: already answering on $addr (pulls) and $push_addr (pushes)"
    exit 0
  fi
  command -v docker-registry >/dev/null || { echo "docker-registry is not installed (apt-get install docker-registry)" >&2; exit 1; }
  storage=$(cd "$state/storage" && pwd)
  python="$root/.venv/bin/python"
  [ -x "$python" ] || python=python3
  # The password (made once if missing) and the htpasswd file with its bcrypt hash.
  PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python" -m mlrun_kernel.registry htpasswd "$state/htpasswd"

  notifications=""
  if [ -n "$notify" ]; then
    secret=${MLK_REGISTRY_EVENTS_SECRET:-}
    secret_file="$MLK_DATA_DIR/registry-events-secret"
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
  auth="auth:
  htpasswd:
    realm: mlrun-kernel registry (pushes)
    path: $(cd "$state" && pwd)/htpasswd"

  if ! answers "$addr" 200; then
    write_config "$state/config.yml" "$addr" true "" ""
    serve registry "$state/config.yml" "$addr" 200
  fi
  if ! answers "$push_addr" 401; then
    write_config "$state/config-push.yml" "$push_addr" false "$auth" "$notifications"
    serve registry-push "$state/config-push.yml" "$push_addr" 401
  fi
  echo "registry: started on $addr (anonymous pulls) and $push_addr (authenticated pushes; storage $storage)"
  ;;
stop)
  state=${2:?STATE_DIR}
  for name in registry registry-push; do
    if [ -f "$state/$name.pid" ]; then
      pid=$(cat "$state/$name.pid")
      kill "$pid" 2>/dev/null || true
      # Wait until it has let go of its port, so a `start` right after finds it free.
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$state/$name.pid"
    fi
  done
  echo "registry: stopped (images stay in $state/storage)"
  ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac

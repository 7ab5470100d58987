#!/usr/bin/env bash
# Environment set-up shared by `make up` and `make test`.
#
# On a fresh Debian machine as root it installs and starts what is missing; on a
# developer laptop it uses what is already there. It is idempotent: a second run
# finds everything up, changes nothing, and prints one line per component.
#
# Components: Debian packages, the project venv, configurable-http-proxy, the
# Docker engine, and the base image the Dockerfiles name (pulled, or built as an
# offline stand-in when it cannot be pulled).
#
# Environment:
#   MLK_BASE_IMAGE      base image the Dockerfiles name (python:3.11-slim-bookworm)
#   MLK_DATA_DIR        where logs and state go (./data)
#   MLK_SKIP_APT=1      never call apt-get (report what is missing instead)
#
# `scripts/setup.sh --packages` prints the Debian packages it would want here
# (nodejs and npm only when no npm is on PATH) and changes nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${MLK_DATA_DIR:-$root/data}
base_image=${MLK_BASE_IMAGE:-python:3.11-slim-bookworm}
python=${PYTHON:-python3}
mkdir -p "$data"

say() { printf '%-22s %s\n' "$1:" "$2"; }

# LABEL LOG COMMAND...: run COMMAND with its output in LOG, saying every 10 s that it is
# still at it and what it is doing (LOG's last line), and how long it took; on failure,
# LOG's last lines.
with_progress() {
  local label=$1 log=$2 started pid said now
  shift 2
  started=$(date +%s); said=$started
  "$@" > "$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    now=$(date +%s)
    if [ $(( now - said )) -ge 10 ]; then
      said=$now
      say "$label" "still at it ($(( now - started ))s): $(tail -n 1 "$log" | tr -d '\r' | cut -c1-100)"
    fi
  done
  if ! wait "$pid"; then
    say "$label" "failed after $(( $(date +%s) - started ))s; the last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  say "$label" "done in $(( $(date +%s) - started ))s (log: $log)"
}

# --- Debian packages -------------------------------------------------------
packages=(docker.io docker-registry debootstrap postgresql chromium curl git iproute2 openssl)
# Node.js runs configurable-http-proxy: Debian's, unless an npm is already on PATH.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# `scripts/setup.sh --packages`: print the Debian packages this machine needs, change nothing.
if [ "${1:-}" = --packages ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say packages present
elif [ "$(id -u)" = 0 ] && [ "${MLK_SKIP_APT:-0}" != 1 ]; then
  say packages "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  with_progress packages "$data/apt.log" \
    sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends "$@"' apt "${missing[@]}" || exit 1
else
  say packages "missing ${missing[*]} (install them, or run as root)"
fi

# --- Python venv -----------------------------------------------------------
stamp=.venv/.mlk-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say venv "present (.venv)"
else
  say venv "installing the package and its dependencies into .venv"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  with_progress venv "$data/pip.log" .venv/bin/pip install --progress-bar off -e '.[all,singleuser,dev]' || exit 1
  echo "$want" > "$stamp"
fi

# --- configurable-http-proxy (npm, project-local) ----------------------------
chp=.tools/node_modules/.bin/configurable-http-proxy
if [ -x "$chp" ]; then
  say proxy "present ($chp)"
elif command -v npm >/dev/null; then
  say proxy "installing configurable-http-proxy into .tools"
  with_progress proxy "$data/npm.log" \
    npm install --no-audit --no-fund --prefix .tools configurable-http-proxy@5 || exit 1
else
  say proxy "npm is missing: install Debian's nodejs and npm (run this as root), or Node.js 20"
fi

# --- Docker engine -----------------------------------------------------------
if docker info >/dev/null 2>&1; then
  say docker "answering"
else
  command -v dockerd >/dev/null || { echo "dockerd is not installed" >&2; exit 1; }
  say docker "starting dockerd (log: $data/dockerd.log)"
  nohup dockerd > "$data/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -n 30 "$data/dockerd.log" >&2; exit 1; }
  say docker "answering"
fi

# --- base image ----------------------------------------------------------------
if docker image inspect "$base_image" >/dev/null 2>&1; then
  say "base image" "present ($base_image)"
elif say "base image" "pulling $base_image (up to 2 min)" \
  && with_progress "base image" "$data/pull.log" timeout 120 docker pull "$base_image" 2>/dev/null; then
  say "base image" "pulled ($base_image)"
else
  hub/images/offline-base/build-standin.sh "$base_image"
fi

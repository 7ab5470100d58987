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
  apt-get update -qq > "$data/apt.log" 2>&1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >> "$data/apt.log" 2>&1 \
    || { tail -n 30 "$data/apt.log" >&2; exit 1; }
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
  .venv/bin/pip install -q -e '.[all,singleuser,dev]' > "$data/pip.log" 2>&1 \
    || { tail -n 30 "$data/pip.log" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# --- configurable-http-proxy (npm, project-local) ----------------------------
chp=.tools/node_modules/.bin/configurable-http-proxy
if [ -x "$chp" ]; then
  say proxy "present ($chp)"
elif command -v npm >/dev/null; then
  say proxy "installing configurable-http-proxy into .tools"
  npm install --silent --no-audit --no-fund --prefix .tools configurable-http-proxy@5 > "$data/npm.log" 2>&1 \
    || { tail -n 30 "$data/npm.log" >&2; exit 1; }
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
elif timeout 120 docker pull -q "$base_image" >/dev/null 2>&1; then
  say "base image" "pulled ($base_image)"
else
  hub/images/offline-base/build-standin.sh "$base_image"
fi

#!/usr/bin/env bash
# Build a stand-in for a Debian-based Python base image when it cannot be pulled
# (air-gapped or registry-less sites). Usage: build-standin.sh IMAGE_TAG
#
# The stand-in is a debootstrapped Debian bookworm with its Python 3.11, shaped
# like the official python:*-slim images: `python`, `python3` and `pip` on PATH,
# pip installing system-wide as root (no PEP 668 marker), UTF-8 locale env.
# It is imported once per machine; later calls see the tag and return at once.
set -euo pipefail

tag=${1:?usage: build-standin.sh IMAGE_TAG}
suite=${MLK_STANDIN_SUITE:-bookworm}
mirror=${MLK_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # Use the mirror this machine's apt already trusts (deb822 or classic format).
  mirror=$(grep -hoE '^URIs: *http[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}' || true)
  [ -n "$mirror" ] || mirror=$(grep -hoE '^deb +http[^ ]+/debian/? ' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}' || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mlk-standin.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "base image $tag: cannot be pulled; building a stand-in from $suite ($mirror)"
start=$(date +%s)
debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,ca-certificates,tzdata \
  "$suite" "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# Shape it like python:*-slim.
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
# Slim it: package caches, docs and manuals are not needed in a base image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/var/log/* "$rootfs"/tmp/*
# The image must name the suite's own mirror, not the host's caches.
printf 'deb %s %s main\n' "$mirror" "$suite" > "$rootfs/etc/apt/sources.list"

tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
  --change 'CMD ["python3"]' \
  --message "mlrun-kernel offline stand-in for $tag ($suite)" \
  - "$tag" > /dev/null
echo "base image $tag: stand-in built in $(( $(date +%s) - start ))s"

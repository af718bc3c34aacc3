#!/usr/bin/env bash
# Makes a minimal Debian 12 (bookworm) root with debootstrap: the base of the
# package's install test and of the container image.
#
#   deploy/debian/debian_root.sh ROOT [MIRROR]   (default deb.debian.org)
#
# The host's package cache serves what it already holds; the rest comes from
# the mirror. On failure, prints the end of debootstrap's log and exits 1.
set -euo pipefail
root=$1
mirror=${2:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || {
  echo "debian_root: debootstrap is missing (deploy/install-deps.sh)" >&2
  exit 1
}
log=$(mktemp "${TMPDIR:-/tmp}/ferry-debootstrap.XXXXXX")
trap 'rm -f "$log"' EXIT
debootstrap --variant=minbase --cache-dir=/var/cache/apt/archives bookworm \
  "$root" "$mirror" >"$log" 2>&1 || {
  tail -20 "$log" >&2
  exit 1
}

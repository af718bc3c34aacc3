#!/usr/bin/env bash
# Makes a minimal Debian 12 (bookworm) root with debootstrap: the base of the
# package's install test and of the container image.
#
#   deploy/debian/debian_root.sh ROOT [MIRROR]   (default deb.debian.org)
#
# The host's package cache serves what it already holds; the rest comes from
# the mirror. On failure, prints the end of debootstrap's log and exits 1.
# A root made within the last day from the same mirror is unpacked from
# /var/cache/ferry instead ($FERRY_DEBIAN_ROOT_CACHE=off makes a new one
# every time): debootstrap takes about a minute, and the package's install
# test and the container test each want a fresh root.
set -euo pipefail
root=$1
mirror=${2:-http://deb.debian.org/debian}
cache_dir=/var/cache/ferry
cache=$cache_dir/bookworm-minbase-$(echo "$mirror" | md5sum | cut -c1-12).tar
use_cache=${FERRY_DEBIAN_ROOT_CACHE:-on}
if [[ $use_cache != off && -f $cache &&
  -n $(find "$cache" -mmin -1440) ]]; then
  mkdir -p "$root"
  tar --numeric-owner --xattrs -xpf "$cache" -C "$root"
  exit 0
fi
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
if [[ $use_cache != off ]]; then
  # Written aside and renamed: a test unpacking it meanwhile sees the old
  # one or the new one, never half of one.
  mkdir -p "$cache_dir"
  tar --numeric-owner --xattrs -cpf "$cache.$$" -C "$root" . &&
    mv "$cache.$$" "$cache" || rm -f "$cache.$$"
fi

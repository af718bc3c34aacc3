#!/usr/bin/env bash
# Builds the ferryd container image without any registry: a Debian 12 root
# from debootstrap (Debian's mirror) imported as the base image, then
# deploy/container/Containerfile installs the Ferry package into it.
#
#   deploy/container/build.sh [FERRY_DEB]
#
# FERRY_DEB: a package from deploy/debian/build.sh (built if not given).
# Tags localhost/ferry:VERSION and localhost/ferry:latest ($FERRY_IMAGE
# instead of localhost/ferry). The base image ($FERRY_BASE_IMAGE, default
# localhost/ferry-debian-base:bookworm) is made once and reused.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=$(tr -d '[:space:]' <"$repo/deploy/debian/VERSION")
deb=${1:-}
if [[ -z $deb ]]; then
  deb=$("$repo/deploy/debian/build.sh" "$(mktemp -d)" | tail -1)
fi
deb=$(realpath "$deb")
base=${FERRY_BASE_IMAGE:-localhost/ferry-debian-base:bookworm}
image=${FERRY_IMAGE:-localhost/ferry}
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/ferry-image.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
if ! podman image exists "$base"; then
  echo "container: debootstrap bookworm for $base"
  "$repo/deploy/debian/debian_root.sh" "$work/root" "$mirror"
  rm -rf "$work/root/var/cache/apt/archives/"*.deb
  tar -C "$work/root" -c . | podman import --quiet - "$base" >/dev/null
fi
mkdir -p "$work/context"
cp "$here/Containerfile" "$deb" "$work/context/"
# --isolation=chroot: RUN steps need no OCI runtime or cgroups (this also
# builds on hosts where the runtime cannot start containers).
# Docker's image format keeps the Containerfile's HEALTHCHECK (OCI's drops it).
podman build --quiet --isolation=chroot --format=docker --build-arg "BASE=$base" \
  --build-arg "DEB=$(basename "$deb")" -t "$image:$version" \
  -t "$image:latest" -f "$work/context/Containerfile" "$work/context" \
  >/dev/null
echo "$image:$version"

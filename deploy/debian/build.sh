#!/usr/bin/env bash
# Builds the Debian package (optimized) and copies it out:
#
#   deploy/debian/build.sh [OUT_DIR]      (default: the current directory)
#
# Leaves OUT_DIR/ferry_VERSION_amd64.deb (VERSION: deploy/debian/VERSION);
# install it with `apt-get install ./ferry_VERSION_amd64.deb`.
set -euo pipefail
out=$(realpath "${1:-.}")
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bazel build -c opt //deploy/debian:ferry_deb
version=$(tr -d '[:space:]' <deploy/debian/VERSION)
deb=$out/ferry_${version}_amd64.deb
install -m 0644 bazel-bin/deploy/debian/ferry_amd64.deb "$deb"
echo "$deb"

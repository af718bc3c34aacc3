#!/usr/bin/env bash
# Installs what applications build against outside Bazel: the C headers
# (client/ferry.h, machnet.h), libferryclient.so and libmachnet_shim.so,
# and their pkg-config files (ferry, machnet_shim), under a prefix.
#
#   sudo deploy/install-client.sh [PREFIX]     (default /usr/local)
#
# Then a Machnet application builds with Machnet's own compile line:
#   cc -I/usr/local/include app.c -lmachnet_shim
# and a native one with pkg-config:
#   cc app.c $(pkg-config --cflags --libs ferry)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
prefix=${1:-/usr/local}
bazel build -c opt //client:sdk
mkdir -p "$prefix"
tar -C "$prefix" --no-same-owner -xf bazel-bin/client/ferry-client-sdk.tar
# The pkg-config files find the tree relative to themselves; the loader
# finds the libraries once the cache knows the directory.
if [[ $prefix == /usr/local || $prefix == /usr ]]; then
  ldconfig
else
  echo "install-client: libraries in $prefix/lib (not on the loader's path:" \
    "use LD_LIBRARY_PATH, or -Wl,-rpath,$prefix/lib)"
fi
echo "install-client: headers in $prefix/include, libraries and pkg-config files in $prefix/lib"

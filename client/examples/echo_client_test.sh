#!/usr/bin/env bash
# Runs the C example against the engine-side echo server.
set -euo pipefail
EXAMPLE=$(realpath "$1")
BIN=$(dirname "$(realpath "$2")")
source dataplane/channel/testing/channel_test_lib.sh
trap cleanup EXIT
# The client library must not pull DPDK into applications.
! ldd "$EXAMPLE" | grep -q librte || fail "the example links DPDK"
start_server "@ferry-example-$UNIQUE"
out=$("$EXAMPLE" "@ferry-example-$UNIQUE" 3)
echo "$out"
[[ $out == *"flow 1: hello 0"* && $out == *"flow 1: hello 2"* ]] ||
  fail "unexpected output"
stop_server
echo "PASS: the C example attaches, sends and receives"

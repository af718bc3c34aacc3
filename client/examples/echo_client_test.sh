#!/usr/bin/env bash
# The C examples through two ferryd joined by memif: echo_server listens on
# host B, echo_client connects from host A, and three messages come back.
set -euo pipefail
FERRYD=$(realpath "$1")
CLIENT=$(realpath "$2")
SERVER=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
# The client library must not pull DPDK into applications.
libs=$(ldd "$CLIENT")
! grep -q librte <<<"$libs" || fail "the example links DPDK: $libs"

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair ex 10.94.0 --memory_mb=256 --metrics_address=
start_bg "$dir/echo_server.log" "$SERVER" "$PAIR_GRPC_B" 7000 3
wait_for_line "$dir/echo_server.log" "listening on port 7000" 30
out=$(timeout 30 "$CLIENT" "$PAIR_GRPC_A" 10.94.0.2 7000 3) ||
  { echo "$out"; cat "$dir/echo_server.log" "$PAIR_LOG_A" "$PAIR_LOG_B";
    fail "the client failed"; }
echo "$out"
[[ $out == *"reply: hello 0"* && $out == *"reply: hello 2"* ]] ||
  fail "unexpected output"
wait_for_line "$dir/echo_server.log" "echoed 3 messages" 10
echo "PASS: the C examples connect, echo and close through two ferryd"

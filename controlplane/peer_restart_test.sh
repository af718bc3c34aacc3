#!/usr/bin/env bash
# A peer ferryd that vanishes during traffic, then comes back: killed with
# SIGKILL and started again (memif gives it a new MAC), then stopped with
# SIGSTOP for longer than --peer_timeout_ms and continued. Each time the
# client's flow must end with "peer stopped answering" within the bound,
# and a new connect (one-second timeout) must carry verified traffic.
# Driven by peer_restart_test.py through the Python binding.
set -euo pipefail
FERRYD=$(realpath "$1")
export FERRY_LIBRARY=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
preload_sanitizer_runtime "$FERRY_LIBRARY"
trap testbed_cleanup EXIT
dir=${TEST_TMPDIR:-/tmp}/peer_restart
rm -rf "$dir"
mkdir -p "$dir"
export PYTHONPATH=$PWD/client/python
script=controlplane/peer_restart_test.py
bound_ms=1000
flags=(--peer_timeout_ms=$bound_ms --memory_mb=256 --metrics_address=
  --stats_interval_s=1)

ferryd_pair restart 10.96.0 "${flags[@]}"
start_server() {
  FERRY_SOCKET=$PAIR_GRPC_B start_bg "$dir/server-$1.log" \
    /usr/bin/python3 "$script" server 7300
  wait_for_line "$dir/server-$1.log" "echo server on" 30
}
start_server 1
FERRY_SOCKET=$PAIR_GRPC_A start_bg "$dir/client.log" \
  /usr/bin/python3 "$script" client 10.96.0.2 7300 $bound_ms "$dir"
client=$LAST_PID

# Round 1: SIGKILL during traffic, then the same ferryd started again.
wait_for_line "$dir/client.log" "TRAFFIC 1" 60
kill -KILL "$PAIR_PID_B"
wait_for_line "$dir/client.log" "ENDED 1" 30
mac_before=$(grep -Eo '([0-9a-f]{2}:){5}[0-9a-f]{2}' "$PAIR_LOG_B" | head -1)
mv "$PAIR_LOG_B" "$dir/ferryd_b_first.log"
start_bg "$PAIR_LOG_B" "${PAIR_ARGS_B[@]}"
PAIR_PID_B=$LAST_PID
wait_for_line "$PAIR_LOG_B" "ferryd ready" 60
start_server 2
echo "B is back: MAC ${mac_before:-?} before," \
  "$(grep -Eo '([0-9a-f]{2}:){5}[0-9a-f]{2}' "$PAIR_LOG_B" | head -1) now"
touch "$dir/back-1"

# Round 2: SIGSTOP during traffic, for longer than the bound; SIGCONT.
wait_for_line "$dir/client.log" "TRAFFIC 2" 60
kill -STOP "$PAIR_PID_B"
wait_for_line "$dir/client.log" "ENDED 2" 30
kill -CONT "$PAIR_PID_B"
touch "$dir/back-2"

wait_for_line "$dir/client.log" "^PASS" 60
wait "$client" || fail "the client failed"
cat "$dir/client.log"
echo "PASS: flows to a vanished peer end within ${bound_ms} ms; connects" \
  "to it after its return succeed"

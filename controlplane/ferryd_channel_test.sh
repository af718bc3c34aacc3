#!/usr/bin/env bash
# Applications attach channels to a running ferryd: a good one pings the
# engine through the control ring and has messages on unknown flows refused
# with that reason; hostile ones scribble, send bad descriptors and die
# mid-send; attaches without a session's ticket are refused. ferryd
# survives, counts, and reclaims every channel.
set -euo pipefail
FERRYD=$(realpath "$1")
TESTING=$(dirname "$(realpath "$2")")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

socket=@ferry-channel-test-$$
log=${TEST_TMPDIR:-/tmp}/ferryd_channel.log
start_bg "$log" "$FERRYD" --device=net_ring0 --ip=10.0.0.1/24 \
  --channel_socket=$socket --grpc_socket=$socket-grpc --memory_mb=256 --stats_interval_s=1 \
  --metrics_address=127.0.0.1:0
ferryd=$LAST_PID
wait_for_line "$log" "ferryd ready" 60

"$TESTING/channel_test_client" --ferryd_socket=$socket-grpc --mode=probe ||
  fail "probe client failed"
"$TESTING/channel_hostile_client" --ferryd_socket=$socket-grpc --mode=scribble \
  --duration_ms=1000
"$TESTING/channel_hostile_client" --ferryd_socket=$socket-grpc --mode=bad_descriptors \
  --duration_ms=1000
"$TESTING/channel_hostile_client" --ferryd_socket=$socket-grpc --mode=die_mid_send || true
# Without a session's ticket (none, or a forged one) nothing attaches.
"$TESTING/channel_hostile_client" --socket=$socket --mode=no_ticket ||
  fail "a channel attached without a valid ticket"
# ferryd is still here and serves a new channel.
"$TESTING/channel_test_client" --ferryd_socket=$socket-grpc --mode=probe ||
  fail "probe after the hostile clients failed"

wait_for_line "$log" "stats channels attached=5 refused=2 reclaimed=5 live=0 " 30
stop_and_wait "$ferryd" 20
line=$(grep "stats channels" "$log" | tail -n 1)
echo "$line"
bad=$(echo "$line" | tr ' ' '\n' | sed -n 's/^bad_descriptors=//p')
((bad > 0)) || fail "no bad descriptor counted"
echo "PASS: ferryd serves channels, refuses unknown flows, survives hostile apps"

#!/usr/bin/env bash
# Two ferryd with two engines each, joined by a two-queue net_memif: 100
# flows in each direction at once, every message verified. memif has no
# RSS (a frame arrives on the queue its sender used), so flows whose
# segments land on the other engine are handed over in software; the test
# checks that this happened and that every flow connected and carried
# traffic.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair 2e 10.90.0 --engines=2 --stats_interval_s=1 --memory_mb=512 \
  --metrics_address=
pid_a=$PAIR_PID_A
pid_b=$PAIR_PID_B

# Channels go to engines in turn: each server on engine 0, each client on
# engine 1 of its ferryd.
start_bg "$dir/server_b.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B \
  --port=7001 --size=512 --verify
wait_for_line "$dir/server_b.log" "listening" 30
start_bg "$dir/server_a.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_A \
  --port=7002 --size=512 --verify
wait_for_line "$dir/server_a.log" "listening" 30

client=(--role=client --verify --warmup_s=0 --quiet --size=512 --flows=100
        --window=2 --messages=20000)
timeout 240 "$MSG_GEN" "${client[@]}" --socket=$PAIR_GRPC_A \
  --remote=10.90.0.2:7001 --json_out="$dir/a_to_b.json" >"$dir/client_a.log" 2>&1 &
client_a=$!
timeout 240 "$MSG_GEN" "${client[@]}" --socket=$PAIR_GRPC_B \
  --remote=10.90.0.1:7002 --json_out="$dir/b_to_a.json" >"$dir/client_b.log" 2>&1 &
client_b=$!
wait $client_a || { cat "$dir/client_a.log"; fail "client A -> B failed"; }
wait $client_b || { cat "$dir/client_b.log"; fail "client B -> A failed"; }
cat "$dir/client_a.log" "$dir/client_b.log"

sleep 1.5
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
for log in "$dir/ferryd_a.log" "$dir/ferryd_b.log"; do
  echo "== $log"
  # Expect: 200 flows opened on each host (100 it connected, 100 it
  # accepted), split over its two engines, none reset.
  opened=$(($(stat "$log" 0 transport_flows_opened) + $(stat "$log" 1 transport_flows_opened)))
  ((opened == 200)) || fail "$log: $opened flows opened, expected 200"
  echo "ok: 200 flows opened"
  for e in 0 1; do
    expect_stat_eq "$log" $e transport_flows_reset 0
    expect_stat_ge "$log" $e transport_segments_rx 1000
    expect_stat_ge "$log" $e transport_steered_in 1
  done
done
echo "PASS: two engines per ferryd, 100 flows each way, all verified"

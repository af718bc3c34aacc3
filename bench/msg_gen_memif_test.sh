#!/usr/bin/env bash
# msg_gen between two ferryd joined by net_memif: 10,000 verified 1 KiB
# round trips, asymmetric 1 B -> 64 KiB ones, and 8 MiB messages both ways
# (also on eight flows at once), each checked byte for byte on both sides;
# then the ferryd counters must show the messages and no reset flows.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
# Metrics on port 0: each ferryd picks a free port.
ferryd_pair mg 10.88.0 --stats_interval_s=1 --memory_mb=512 \
  --metrics_address=127.0.0.1:0
pid_a=$PAIR_PID_A
pid_b=$PAIR_PID_B
wait_for_line "$PAIR_LOG_A" "metrics at" 30
url=$(grep -m 1 -o "http://127.0.0.1:[0-9]*/metrics" "$PAIR_LOG_A")
scrape() {
  python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode(), end="")' "$url"
}
value() {  # value NAME FILE: the first sample of NAME
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 { print $2; exit }' "$2"
}
scrape >"$dir/before.txt"

# Three servers on B, one per response size.
start_bg "$dir/server_1k.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B \
  --port=7001 --size=1024 --verify
start_bg "$dir/server_64k.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B \
  --port=7002 --response_size=65536 --verify
start_bg "$dir/server_8m.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B \
  --port=7003 --size=8388608 --verify
for s in 1k 64k 8m; do wait_for_line "$dir/server_$s.log" "listening" 30; done

run() {
  echo "== msg_gen $*"
  timeout 120 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --verify \
    --warmup_s=0 --quiet "$@" || fail "msg_gen $* failed"
}
run --remote=10.88.0.2:7001 --size=1024 --window=1 --messages=10000
run --remote=10.88.0.2:7001 --size=1024 --window=32 --messages=10000
run --remote=10.88.0.2:7002 --request_size=1 --response_size=65536 --window=8 \
  --messages=2000
run --remote=10.88.0.2:7003 --size=8388608 --window=2 --messages=10 \
  --json_out="$dir/8m.json"
grep -q '"verify_failures": 0' "$dir/8m.json" || fail "8 MiB run: no clean JSON"
# Eight flows of 8 MiB at once: more than a default channel keeps for
# receiving (16 MiB a side). Messages half received must still finish:
# before 752f8ac their flows advertised no room and not one round trip
# completed.
run --remote=10.88.0.2:7003 --size=8388608 --window=1 --flows=8 --messages=24

# The transport's metrics moved with the traffic, and the page is valid.
scrape >"$dir/after.txt"
promtool check metrics <"$dir/after.txt" || fail "promtool rejected the page"
for name in ferry_engine_transport_messages_tx_total ferry_transport_rtt_seconds_count \
  ferry_engine_transport_segments_rx_total; do
  before=$(value $name "$dir/before.txt")
  after=$(value $name "$dir/after.txt")
  echo "$name: $before -> $after"
  (($(printf '%.0f' "$after") > $(printf '%.0f' "${before:-0}"))) ||
    fail "$name did not advance"
done
grep -q '^ferry_transport_rtt_seconds_bucket{.*le="0.0001"}' "$dir/after.txt" ||
  fail "no microsecond RTT buckets"
grep -q '^ferry_transport_retransmits_total{.*reason="timeout"}' "$dir/after.txt" ||
  fail "no retransmissions by reason"

sleep 1.5  # one more stats line
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
expect_stat_ge "$dir/ferryd_b.log" 0 transport_messages_rx 22010
expect_stat_ge "$dir/ferryd_a.log" 0 transport_messages_rx 22010
expect_stat_eq "$dir/ferryd_a.log" 0 transport_flows_reset 0
expect_stat_eq "$dir/ferryd_b.log" 0 transport_flows_reset 0
expect_stat_ge "$dir/ferryd_a.log" 0 transport_flows_closed 4
echo "PASS: msg_gen over two ferryd (memif): every message verified"

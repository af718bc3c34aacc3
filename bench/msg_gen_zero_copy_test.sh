#!/usr/bin/env bash
# Zero-copy transmit between two ferryd joined by net_memif: with
# --tx_zero_copy_min_bytes=1024, segments of 1 KiB and more go out from the
# application's buffers without a copy.
#  1. 64 KiB and 1 MiB messages at window 8, and 1 KiB ones, verified byte
#     for byte: the counters show attached (not copied) payload, and per
#     64 KiB message only the short last segment is copied.
#  2. The same with every fault ferryd injects (drop, duplicate, delay,
#     reorder, corrupt): held-back and corrupted frames are made private
#     first (a flipped bit must never reach the application's buffer, which
#     a retransmission sends again), and every message still arrives exact.
#  3. Short-lived clients: msg_gen processes that exit right after their
#     last message, so channels go while their segments are in flight.
#  4. The default, --tx_zero_copy_min_bytes=0, copies everything.
# In clear (--encryption=off): an encrypted segment is sealed into its
# frame, never sent from the application's buffer.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
dir=${TEST_TMPDIR:-/tmp}

serve() {  # serve LOG PORT ARGS...: a verifying msg_gen server on B
  local log=$1 port=$2
  shift 2
  start_bg "$log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B \
    --port=$port --verify "$@"
  wait_for_line "$log" "listening" 30
}
run() {
  echo "== msg_gen $*"
  timeout 180 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --verify \
    --warmup_s=0 --quiet "$@" || fail "msg_gen $* failed"
}
sum_stat() {  # sum_stat NAME: over both hosts' last stats lines
  echo $(($(stat "$PAIR_LOG_A" 0 "$1") + $(stat "$PAIR_LOG_B" 0 "$1")))
}
stop_pair() {
  sleep 1.5  # one more stats line
  stop_and_wait "$PAIR_PID_A" 20
  stop_and_wait "$PAIR_PID_B" 20
}

echo "### 1. zero-copy on, from 1024 bytes"
zc=--tx_zero_copy_min_bytes=1024
ferryd_pair zc 10.89.0 --stats_interval_s=1 --memory_mb=512 --encryption=off --metrics_address= $zc
grep -q "net_memif.*tx-external 1" "$PAIR_LOG_A" ||
  fail "memif port did not allow external payloads"
serve "$dir/s64k.log" 7001 --size=65536
serve "$dir/s1m.log" 7002 --size=1048576
serve "$dir/s1k.log" 7003 --size=1024
run --remote=10.89.0.2:7001 --size=65536 --window=8 --messages=2000
run --remote=10.89.0.2:7002 --size=1048576 --window=8 --messages=100
run --remote=10.89.0.2:7003 --size=1024 --window=32 --messages=5000
stop_pair
zero_copy=$(sum_stat tx_payload_zero_copy)
zero_copy_bytes=$(sum_stat tx_payload_zero_copy_bytes)
copied_bytes=$(sum_stat tx_payload_copied_bytes)
messages=$(sum_stat transport_messages_tx)
echo "segments attached: $zero_copy ($zero_copy_bytes bytes); copied bytes:" \
  "$copied_bytes; messages: $messages"
# 2000 x 64 KiB + 100 x 1 MiB each way, at least.
((zero_copy_bytes >= 2 * (2000 * 65536 + 100 * 1048576) * 99 / 100)) ||
  fail "only $zero_copy_bytes payload bytes went out without a copy"
# What is copied: the last segment of each 64 KiB message (32 bytes past
# 46 full ones of 1424), and the short tails of 1 MiB ones; no 1 KiB
# message payload is below the threshold.
((copied_bytes <= messages * 1024)) ||
  fail "$copied_bytes bytes copied for $messages messages"
expect_stat_eq "$PAIR_LOG_A" 0 transport_flows_reset 0
expect_stat_eq "$PAIR_LOG_B" 0 transport_flows_reset 0

echo "### 2. with every fault injected"
faults=(--fault_drop=0.02 --fault_duplicate=0.02 --fault_delay=0.02
        --fault_reorder=0.02 --fault_corrupt=0.02 --fault_delay_us=200)
ferryd_pair zcf 10.89.1 --stats_interval_s=1 --memory_mb=512 --encryption=off \
  --metrics_address= $zc "${faults[@]}"
serve "$dir/f64k.log" 7001 --size=65536
serve "$dir/f1k.log" 7003 --size=1024
run --remote=10.89.1.2:7001 --size=65536 --window=8 --messages=500
run --remote=10.89.1.2:7003 --size=1024 --window=32 --messages=5000
stop_pair
for name in fault_corrupted fault_delayed fault_reordered tx_privatized \
  tx_payload_zero_copy; do
  v=$(sum_stat $name)
  echo "$name=$v"
  ((v > 0)) || fail "$name stayed 0"
done

echo "### 3. clients that exit right after their last message"
ferryd_pair zcx 10.89.2 --stats_interval_s=1 --memory_mb=512 --encryption=off --metrics_address= $zc
serve "$dir/x64k.log" 7001 --size=65536
for i in $(seq 1 20); do
  timeout 60 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --verify \
    --warmup_s=0 --quiet --remote=10.89.2.2:7001 --size=65536 --window=8 \
    --messages=$((8 + i)) >/dev/null || fail "short client $i failed"
done
kill -0 "$PAIR_PID_A" 2>/dev/null || fail "ferryd A died"
kill -0 "$PAIR_PID_B" 2>/dev/null || fail "ferryd B died"
stop_pair
grep -q "still point into channel buffers" "$PAIR_LOG_A" "$PAIR_LOG_B" &&
  fail "frames outlived their channel"

echo "### 4. the default (--tx_zero_copy_min_bytes=0): everything copied"
ferryd_pair zc0 10.89.3 --stats_interval_s=1 --memory_mb=512 --encryption=off \
  --metrics_address=
grep -q "net_memif.*tx-external 0" "$PAIR_LOG_A" ||
  fail "the port allowed external payloads with zero-copy off"
serve "$dir/c64k.log" 7001 --size=65536
run --remote=10.89.3.2:7001 --size=65536 --window=8 --messages=500
stop_pair
expect_stat_eq "$PAIR_LOG_A" 0 tx_payload_zero_copy 0
expect_stat_ge "$PAIR_LOG_A" 0 tx_payload_copied_bytes $((500 * 65536))
echo "PASS: zero-copy transmit carries verified messages, faults and all"

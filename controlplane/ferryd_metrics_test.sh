#!/usr/bin/env bash
# Scrapes ferryd's Prometheus endpoint: the page passes `promtool check
# metrics`, carries Ferry's families, and its counters advance while an
# application uses a channel.
set -euo pipefail
FERRYD=$(realpath "$1")
TESTING=$(dirname "$(realpath "$2")")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
command -v promtool >/dev/null || fail "promtool missing (deploy/install-deps.sh)"

socket=@ferry-metrics-test-$$-$RANDOM
log=${TEST_TMPDIR:-/tmp}/ferryd_metrics.log
mutual_trust a
key_args a
start_bg "$log" "$FERRYD" --device=net_ring0 --ip=10.0.0.1/24 \
  --channel_socket=$socket --grpc_socket=$socket-grpc --metrics_address=127.0.0.1:0 --memory_mb=256 \
  "${KEY_ARGS[@]}"
ferryd=$LAST_PID
wait_for_line "$log" "metrics at http://127.0.0.1:[0-9]+/metrics" 60
url=$(grep -m 1 -o "http://127.0.0.1:[0-9]*/metrics" "$log")

scrape() {
  python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode(), end="")' "$url"
}
value() {  # value NAME FILE: the first sample of NAME
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 { print $2; exit }' "$2"
}

dir=${TEST_TMPDIR:-/tmp}
scrape >"$dir/before.txt"
promtool check metrics <"$dir/before.txt" || fail "promtool rejected the page"
for family in ferry_build_info ferry_port_link_up ferry_port_rx_packets_total \
  ferry_engine_rx_packets_total ferry_engine_sleep_seconds_total \
  ferry_engine_rx_malformed_drops_total ferry_channels_attached_total \
  ferry_channel_tx_errors_total ferry_port_mbufs ferry_port_mbufs_in_use \
  process_resident_memory_bytes process_open_fds ferry_port_encryption_info; do
  grep -q "^# TYPE $family " "$dir/before.txt" || fail "no $family family"
done
# The process and pool levels are real readings: a resident set, open fds
# (the sockets', the eventfds), pools with mbufs (net_ring keeps none on
# its RX rings, so none is in use yet).
(($(value process_resident_memory_bytes "$dir/before.txt" | cut -d. -f1) > 1000000)) ||
  fail "no resident memory reported"
(($(value process_open_fds "$dir/before.txt") >= 5)) || fail "too few open fds"
(($(value ferry_port_mbufs "$dir/before.txt") > 0)) || fail "no mbufs"
(($(value ferry_port_mbufs_in_use "$dir/before.txt") <= \
  $(value ferry_port_mbufs "$dir/before.txt"))) || fail "more mbufs in use than exist"
grep -q '^ferry_engine_info{port="net_ring0",engine="0",core="-1",polling="adaptive"} 1' \
  "$dir/before.txt" || fail "no engine info (core, polling)"
grep -q '^ferry_port_encryption_info{port="net_ring0",mode="required",cipher="aes-128-gcm"} 1' \
  "$dir/before.txt" || fail "encryption info: not ferryd's default (required, AES-128-GCM)"

# A channel held open shows up with its own series.
"$TESTING/channel_test_client" --ferryd_socket=$socket-grpc --mode=hold --hold_ms=60000 \
  >"$dir/hold.txt" &
holder=$!
for _ in $(seq 100); do
  scrape >"$dir/held.txt"
  grep -q '^ferry_channel_tx_queued{channel="1"' "$dir/held.txt" && break
  sleep 0.1
done
grep -q '^ferry_channel_tx_queued{channel="1",port="net_ring0",engine="0"} 0' \
  "$dir/held.txt" || fail "no per-channel series for a live channel"
grep -q '^ferry_channel_engine_buffers{channel="1",port="net_ring0",engine="0"} 0' \
  "$dir/held.txt" || fail "no engine buffers series for a live channel"
grep -q '^ferry_channel_drops_total{channel="1",.*reason="bad_descriptor"} 0' \
  "$dir/held.txt" || fail "no per-channel drop series"
promtool check metrics <"$dir/held.txt" || fail "promtool rejected the page"
kill "$holder"
wait "$holder" 2>/dev/null || true
"$TESTING/channel_test_client" --ferryd_socket=$socket-grpc --mode=probe >/dev/null ||
  fail "probe client failed"
# The main loop publishes channel totals within 100 ms; poll a few times.
for _ in $(seq 50); do
  scrape >"$dir/after.txt"
  (($(value ferry_channels_reclaimed_total "$dir/after.txt") >= 1)) && break
  sleep 0.1
done
promtool check metrics <"$dir/after.txt" || fail "promtool rejected the page"
for counter in ferry_channels_attached_total ferry_channel_tx_errors_total \
  ferry_channel_ctrl_requests_total ferry_engine_commands_total; do
  before=$(value "$counter" "$dir/before.txt")
  after=$(value "$counter" "$dir/after.txt")
  echo "$counter: $before -> $after"
done
awk -v b="$(value ferry_channel_tx_errors_total "$dir/before.txt")" \
  -v a="$(value ferry_channel_tx_errors_total "$dir/after.txt")" \
  'BEGIN { exit !(a > b) }' || fail "channel counters did not advance"
awk -v a="$(value ferry_channels_attached_total "$dir/after.txt")" \
  'BEGIN { exit !(a >= 1) }' || fail "attached channels not counted"
# The engine thread's context switches come from the kernel: an adaptive
# engine idle for more than its 500 us sleeps, and every sleep is one.
switches() {  # switches KIND FILE
  value "ferry_engine_context_switches_total{port=\"net_ring0\",engine=\"0\",kind=\"$1\"}" "$2"
}
[[ -n $(switches involuntary "$dir/after.txt") ]] ||
  fail "no involuntary context switches series"
awk -v b="$(switches voluntary "$dir/before.txt")" \
  -v a="$(switches voluntary "$dir/after.txt")" \
  'BEGIN { exit !(b != "" && a > b) }' ||
  fail "the idle engine's voluntary context switches did not advance"
stop_and_wait "$ferryd" 20
echo "PASS: /metrics passes promtool and its counters advance"

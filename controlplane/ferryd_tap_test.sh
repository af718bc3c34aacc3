#!/usr/bin/env bash
# ferryd on a DPDK net_tap port, the kernel on the tap interface it creates,
# all inside a namespace of the test's own. TAP offers IPv4 checksum offload
# and RX interrupts, so this exercises the offloaded-checksum TX path (the
# kernel drops an echo request with a bad header checksum) and the adaptive
# engine's sleep on the RX interrupt.
set -euo pipefail
FERRYD=$(realpath "$1")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
ns=ft$id
tap=ftap$id
testbed_netns "$ns"
log=${TEST_TMPDIR:-/tmp}/ferryd_tap.log
start_bg "$log" ip netns exec "$ns" "$FERRYD" \
  --device=net_tap0,iface=$tap --ip=10.55.0.2/24 --channel_socket=@ferry-tap-test-$id --grpc_socket=@ferry-tap-grpc-$id --stats_interval_s=1 \
  --memory_mb=256
ferryd=$LAST_PID
wait_for_line "$log" "ferryd ready" 60
grep -q "rx-intr 1 tx-csum ipv4 1" "$log" ||
  fail "expected TAP to offer RX interrupts and IPv4 TX checksum offload"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"
ip -n "$ns" addr add 10.55.0.1/24 dev "$tap"
ip -n "$ns" link set "$tap" up

# Expect: the kernel's ping is answered (woken by RX interrupts).
ip netns exec "$ns" ping -c 5 -i 0.2 -W 5 10.55.0.2 ||
  fail "kernel ping to ferryd over tap failed"
wait_for_line "$log" "stats engine=0 .*icmp_echo_replies_tx=5 " 30
expect_stat_ge "$log" 0 wakeups_rx_interrupt 1

# ferryd's own pings carry offloaded IPv4 checksums; the kernel only answers
# them if TAP filled the checksum in.
stop_and_wait "$ferryd" 20
# The kernel removes the tap device after its last fd closes; a ferryd
# started before that would find the old one (and then lose it).
wait_tap_gone() {
  for _ in $(seq 100); do
    ip -n "$ns" link show "$tap" >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  fail "$tap outlived the ferryd that made it"
}
wait_tap_gone
start_bg "$log" ip netns exec "$ns" "$FERRYD" \
  --device=net_tap0,iface=$tap --ip=10.55.0.2/24 --channel_socket=@ferry-tap-test-$id --grpc_socket=@ferry-tap-grpc-$id --stats_interval_s=1 \
  --memory_mb=256 --ping=10.55.0.1 --ping_count=3 --ping_interval_ms=100
ferryd=$LAST_PID
wait_for_line "$log" "ferryd ready" 60
ip -n "$ns" addr add 10.55.0.1/24 dev "$tap" 2>/dev/null || true
ip -n "$ns" link set "$tap" up
wait_for_line "$log" "stats engine=0 .*icmp_echo_replies_rx=3 " 60
stop_and_wait "$ferryd" 20
expect_stat_eq "$log" 0 icmp_echo_replies_rx 3
expect_stat_ge "$log" 0 arp_resolved 1
wait_tap_gone

# Two engines on a port with RSS: two queues, each engine pinned to its CPU.
start_bg "$log" ip netns exec "$ns" "$FERRYD" \
  --device=net_tap0,iface=$tap --ip=10.55.0.2/24 --channel_socket=@ferry-tap-test-$id --grpc_socket=@ferry-tap-grpc-$id --memory_mb=256 \
  --engines=2 --cores=0-1
ferryd=$LAST_PID
wait_for_line "$log" "ferryd ready: .* 2 engine" 60
wait_for_line "$log" "engine 0 running on CPU 0" 30
wait_for_line "$log" "engine 1 running on CPU 1" 30
grep -q "queues 2 rss 1" "$log" || fail "expected 2 queues with RSS on TAP"
stop_and_wait "$ferryd" 20
echo "PASS: ferryd over net_tap with checksum offload, RX interrupts and RSS"

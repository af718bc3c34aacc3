#!/usr/bin/env bash
# ferryd on one end of a veth pair through net_af_packet; the kernel on the
# other end. Checks: the kernel's ping gets echo replies from ferryd, the
# kernel's neighbour table holds ferryd's MAC, and ferryd resolves the
# kernel's MAC by ARP and gets replies to its own pings.
set -euo pipefail
FERRYD=$(realpath "$1")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
ns_kernel=fk$id
ns_ferry=ff$id
testbed_netns "$ns_kernel"
testbed_netns "$ns_ferry"
testbed_veth "$ns_ferry" fvf$id "$ns_kernel" fvk$id
ip -n "$ns_kernel" addr add 10.77.0.1/24 dev fvk$id

log=${TEST_TMPDIR:-/tmp}/ferryd_af_packet.log
start_bg "$log" ip netns exec "$ns_ferry" "$FERRYD" \
  --device=net_af_packet0,iface=fvf$id --ip=10.77.0.2/24 \
  --channel_socket=@ferry-af-packet-test-$id --grpc_socket=@ferry-af-packet-grpc-$id \
  --ping=10.77.0.1 --ping_count=3 --ping_interval_ms=100 --stats_interval_s=1
ferryd=$LAST_PID
wait_for_line "$log" "ferryd ready" 60
# Expect: ferryd asks the kernel for its MAC before the kernel says anything.
wait_for_line "$log" "resolved 10.77.0.1 is at" 30
mac=$(sed -n 's/.*ferryd ready: .* (\(..:..:..:..:..:..\)).*/\1/p' "$log")

ip netns exec "$ns_kernel" ping -c 5 -i 0.2 -W 5 10.77.0.2 ||
  fail "kernel ping to ferryd failed"
neigh=$(ip -n "$ns_kernel" neigh show 10.77.0.2)
echo "kernel neighbour entry: $neigh"
[[ $neigh == *"lladdr $mac"* ]] || fail "kernel has no neighbour entry with $mac"

wait_for_line "$log" "stats engine=0 .*icmp_echo_replies_rx=3 " 30
stop_and_wait "$ferryd" 20
expect_stat_ge "$log" 0 arp_requests_tx 1
expect_stat_ge "$log" 0 arp_replies_rx 1
expect_stat_ge "$log" 0 arp_resolved 1
expect_stat_eq "$log" 0 icmp_echo_replies_rx 3
expect_stat_ge "$log" 0 icmp_echo_requests_rx 5
expect_stat_ge "$log" 0 icmp_echo_replies_tx 5
grep -q "ferryd: stopped" "$log" || fail "no clean shutdown line"
echo "PASS: ferryd over net_af_packet answers ping and ARP, resolves by ARP"

#!/usr/bin/env bash
# Peers on two subnets with a Linux router between them: ferryd A
# (10.97.1.2/24, gateway 10.97.1.1) and ferryd B (10.97.2.2/24, gateway
# 10.97.2.1), each on a veth through net_af_packet, in namespaces of their
# own; the router namespace forwards between 10.97.1.0/24 and 10.97.2.0/24.
# Both ferryd must resolve their gateway (never the peer itself) and
# exchange 10,000 verified round trips through the router.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
ns_a=rpa$id ns_r=rpr$id ns_b=rpb$id
testbed_netns "$ns_a"
testbed_netns "$ns_r"
testbed_netns "$ns_b"
testbed_veth "$ns_a" rva$id "$ns_r" rra$id
testbed_veth "$ns_r" rrb$id "$ns_b" rvb$id
ip -n "$ns_r" addr add 10.97.1.1/24 dev rra$id
ip -n "$ns_r" addr add 10.97.2.1/24 dev rrb$id
ip netns exec "$ns_r" sysctl -qw net.ipv4.ip_forward=1

dir=${TEST_TMPDIR:-/tmp}/routed_peers
rm -rf "$dir"
mkdir -p "$dir"
mutual_trust a b
start_ferryd() {  # start_ferryd HOST NAMESPACE IFACE IP/LEN GATEWAY
  key_args "$1"
  start_bg "$dir/ferryd_$1.log" ip netns exec "$2" "$FERRYD" \
    --device=net_af_packet0,iface=$3 --ip=$4 --gateway=$5 \
    --channel_socket=@ferry-routed-$1-$id --grpc_socket=@ferry-routed-grpc-$1-$id \
    --memory_mb=256 --metrics_address= --stats_interval_s=1 "${KEY_ARGS[@]}"
  wait_for_line "$dir/ferryd_$1.log" "ferryd ready" 60
}
start_ferryd a "$ns_a" rva$id 10.97.1.2/24 10.97.1.1
pid_a=$LAST_PID
start_ferryd b "$ns_b" rvb$id 10.97.2.2/24 10.97.2.1
pid_b=$LAST_PID

# Abstract sockets belong to their network namespace: each msg_gen runs in
# its ferryd's.
start_bg "$dir/server.log" ip netns exec "$ns_b" "$MSG_GEN" --role=server \
  --socket=@ferry-routed-grpc-b-$id --port=7400 --size=1024 --verify
wait_for_line "$dir/server.log" "listening" 30
for window in 1 16; do
  echo "== 10000 verified round trips, window $window, through the router"
  timeout 120 ip netns exec "$ns_a" "$MSG_GEN" --role=client \
    --socket=@ferry-routed-grpc-a-$id --remote=10.97.2.2:7400 --size=1024 \
    --window=$window --messages=10000 --warmup_s=0 --quiet --verify \
    --json_out="$dir/w$window.json" || fail "msg_gen (window $window) failed"
  grep -q '"verify_failures": 0' "$dir/w$window.json" ||
    fail "window $window: verification failures"
done

# Expect: A resolved its gateway by ARP; B knows its own (the router asked
# B for its address first); neither ever had the peer on another subnet in
# its neighbour table.
grep -q "resolved 10.97.1.1 is at" "$dir/ferryd_a.log" ||
  fail "ferryd A did not resolve its gateway"
grep -Eq "(resolved|learned) 10.97.2.1 is at" "$dir/ferryd_b.log" ||
  fail "ferryd B does not know its gateway"
if grep -Eq "(resolved|learned) 10.97.(2.2|1.2) is at" \
  "$dir/ferryd_a.log" "$dir/ferryd_b.log"; then
  fail "a ferryd has its peer on another subnet as a neighbour"
fi
# Expect: the router forwarded the traffic (40,000 requests and answers at
# least, in each direction of each link).
forwarded=$(ip -n "$ns_r" -s -j link show rrb$id |
  /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])')
echo "router: $forwarded packets forwarded towards B"
((forwarded >= 20000)) || fail "the router forwarded only $forwarded packets"
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
expect_stat_eq "$dir/ferryd_a.log" 0 transport_flows_reset 0
expect_stat_eq "$dir/ferryd_b.log" 0 transport_flows_reset 0
expect_stat_ge "$dir/ferryd_b.log" 0 transport_messages_rx 20000
echo "PASS: two ferryd on two subnets through a Linux router: gateways" \
  "resolved, 20,000 verified round trips"

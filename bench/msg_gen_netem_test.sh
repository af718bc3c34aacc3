#!/usr/bin/env bash
# Two ferryd in two network namespaces, joined by a veth pair that each
# drives through net_af_packet, with tc netem on both ends: 5% loss, delay
# with jitter and reordering (or ferryd's own fault injection where the
# kernel has no netem). msg_gen carries 10,000 verified 1 KiB round
# trips across it; then a slow reader (the server pauses 5 ms before each
# answer to 1 MiB requests, 32 in flight: more than its buffers hold) must
# throttle its sender without losing or corrupting anything.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
ns_a=fna$id
ns_b=fnb$id
testbed_netns "$ns_a"
testbed_netns "$ns_b"
testbed_veth "$ns_a" fxa$id "$ns_b" fxb$id
dir=${TEST_TMPDIR:-/tmp}
common=(--stats_interval_s=1 --memory_mb=512 --metrics_address=)
# The impairment: tc netem where the kernel has it; otherwise (a kernel
# built without sch_netem, as on some CI hosts) the same through ferryd's
# own transmit-path fault injection.
impair="loss 5% delay 100us 20us reorder 25% 50%"
if ip netns exec "$ns_a" tc qdisc add dev fxa$id root netem $impair 2>/dev/null; then
  ip netns exec "$ns_b" tc qdisc add dev fxb$id root netem $impair
  echo "impairment: tc netem $impair"
else
  # The same loss, delay and reordering (netem reorders a quarter of the
  # frames by sending them at once, ahead of the delayed ones).
  echo "impairment: this kernel has no netem (CONFIG_NET_SCH_NETEM);" \
    "ferryd's own fault injection instead: 5% loss, 10% delayed 100 us," \
    "25% reordered, 1% duplicated"
  common+=(--fault_drop=0.05 --fault_delay=0.1 --fault_delay_us=100
           --fault_reorder=0.25 --fault_duplicate=0.01)
fi
# qdisc_bypass=0: frames go through the qdisc, so netem sees them.
mutual_trust a b
key_args a
start_bg "$dir/ferryd_a.log" ip netns exec "$ns_a" "$FERRYD" \
  --device=net_af_packet0,iface=fxa$id,qdisc_bypass=0 --ip=10.89.0.1/24 \
  --channel_socket=@ferry-netem-a-$id --grpc_socket=@ferry-netem-grpc-a-$id \
  "${common[@]}" "${KEY_ARGS[@]}"
pid_a=$LAST_PID
key_args b
start_bg "$dir/ferryd_b.log" ip netns exec "$ns_b" "$FERRYD" \
  --device=net_af_packet0,iface=fxb$id,qdisc_bypass=0 --ip=10.89.0.2/24 \
  --channel_socket=@ferry-netem-b-$id --grpc_socket=@ferry-netem-grpc-b-$id \
  "${common[@]}" "${KEY_ARGS[@]}"
pid_b=$LAST_PID
wait_for_line "$dir/ferryd_a.log" "ferryd ready" 60
wait_for_line "$dir/ferryd_b.log" "ferryd ready" 60

# Abstract sockets live in a network namespace: each msg_gen runs in its
# ferryd's.
start_bg "$dir/server.log" ip netns exec "$ns_b" "$MSG_GEN" --role=server \
  --socket=@ferry-netem-grpc-b-$id --port=7001 --size=1024 --verify
start_bg "$dir/slow.log" ip netns exec "$ns_b" "$MSG_GEN" --role=server \
  --socket=@ferry-netem-grpc-b-$id --port=7002 --response_size=64 --verify \
  --think_us=5000
wait_for_line "$dir/server.log" "listening" 30
wait_for_line "$dir/slow.log" "listening" 30

run() {
  echo "== msg_gen $*"
  timeout 240 ip netns exec "$ns_a" "$MSG_GEN" --role=client \
    --socket=@ferry-netem-grpc-a-$id --verify --warmup_s=0 --quiet "$@" ||
    fail "msg_gen $* failed"
}
run --remote=10.89.0.2:7001 --size=1024 --window=8 --messages=10000
run --remote=10.89.0.2:7002 --request_size=1048576 --response_size=64 \
  --window=32 --messages=48

sleep 1.5
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
# Expect: the wire lost frames and the transport resent them; every
# message arrived (10,000 + 48 at B), no flow was reset.
expect_stat_ge "$dir/ferryd_a.log" 0 transport_retransmits_fast 1
expect_stat_ge "$dir/ferryd_b.log" 0 transport_messages_rx 10048
expect_stat_eq "$dir/ferryd_a.log" 0 transport_flows_reset 0
expect_stat_eq "$dir/ferryd_b.log" 0 transport_flows_reset 0
timeouts=$(stat "$dir/ferryd_a.log" 0 transport_retransmits_timeout)
fast=$(stat "$dir/ferryd_a.log" 0 transport_retransmits_fast)
echo "retransmissions at A: $fast fast, $timeouts after a timeout"
echo "PASS: 5% loss with reordering and a slow reader: every message verified"

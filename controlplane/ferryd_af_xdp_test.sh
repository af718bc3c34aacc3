#!/usr/bin/env bash
# ferryd on a veth that the kernel keeps using (net_af_xdp with Ferry's XDP
# program), between two namespaces. Checks:
#   - 10,000 verified round trips between the two ferryd, while over the
#     same veth the kernel answers ping and carries a verified TCP transfer;
#   - the program diverted Ferry's frames and passed the kernel's (metrics,
#     and `ferryctl nic get`, which names the program and its mode);
#   - ferryd refuses an address the kernel holds;
#   - a ferryd killed with SIGKILL leaves the program; the next one takes
#     it off and works; after a clean exit `ip link` shows no program.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
dir=${TEST_TMPDIR:-/tmp}
ns_a=xa$id ns_b=xb$id if_a=xva$id if_b=xvb$id
testbed_netns "$ns_a"
testbed_netns "$ns_b"
testbed_veth "$ns_a" "$if_a" "$ns_b" "$if_b"
ip -n "$ns_a" addr add 10.78.1.1/24 dev "$if_a"
ip -n "$ns_b" addr add 10.78.1.2/24 dev "$if_b"

# start_ferryd HOST NS IFACE IP: LAST_PID, the log at $dir/ferryd_HOST.log;
# host a2 is host a again (its key).
mutual_trust a b
start_ferryd() {
  key_args "${1:0:1}"
  start_bg "$dir/ferryd_$1.log" ip netns exec "$2" "$FERRYD" \
    --device=net_af_xdp0,iface=$3 --ip=$4/24 --metrics_address=127.0.0.1:0 \
    --channel_socket=@ferry-xdp-$1-$id --grpc_socket=@ferry-xdp-grpc-$1-$id \
    --stats_interval_s=1 "${KEY_ARGS[@]}"
}
xdp_prog() { ip -n "$1" link show dev "$2" | grep -o "prog/xdp id [0-9]* name [a-z_]*" || true; }

# The kernel's own address is refused, with the reason.
ip netns exec "$ns_a" "$FERRYD" --device=net_af_xdp0,iface=$if_a \
  --ip=10.78.1.1/24 --channel_socket=@ferry-xdp-refused-$id \
  --grpc_socket=@ferry-xdp-refused-grpc-$id --metrics_address= \
  >"$dir/refused.log" 2>&1 && fail "ferryd took the kernel's address"
grep -q "is the kernel's own address" "$dir/refused.log" ||
  { cat "$dir/refused.log"; fail "no reason given for refusing 10.78.1.1"; }
[[ -z $(xdp_prog "$ns_a" "$if_a") ]] || fail "a refused start left a program"
echo "ok: the kernel's address is refused"

start_ferryd a "$ns_a" "$if_a" 10.78.0.1
pid_a=$LAST_PID
wait_for_line "$dir/ferryd_a.log" "ferryd ready" 60
start_ferryd b "$ns_b" "$if_b" 10.78.0.2
pid_b=$LAST_PID
wait_for_line "$dir/ferryd_b.log" "ferryd ready" 60
echo "on $if_a: $(xdp_prog "$ns_a" "$if_a")"
[[ $(xdp_prog "$ns_a" "$if_a") == *ferry_xdp* ]] || fail "no program on $if_a"

start_bg "$dir/server.log" ip netns exec "$ns_b" "$MSG_GEN" --role=server \
  --socket=@ferry-xdp-grpc-b-$id --port=7900 --verify
wait_for_line "$dir/server.log" listening 30
start_bg "$dir/tcp_server.log" ip netns exec "$ns_b" "$MSG_GEN" --role=server \
  --transport=tcp --bind=10.78.1.2 --port=7901 --verify --size=65536
wait_for_line "$dir/tcp_server.log" listening 30

# Ferry, kernel TCP and ping over the one veth at the same time: while the
# Ferry client runs, rounds of kernel TCP and ping start one after another,
# and every round must succeed.
ip netns exec "$ns_a" "$MSG_GEN" --role=client --socket=@ferry-xdp-grpc-a-$id \
  --remote=10.78.0.2:7900 --verify --messages=10000 --window=1 --warmup_s=0 \
  --size=1024 --quiet >"$dir/client.log" 2>&1 &
ferry_client=$!
rounds=0
while kill -0 $ferry_client 2>/dev/null; do
  ip netns exec "$ns_a" "$MSG_GEN" --role=client --transport=tcp \
    --bind=10.78.1.1 --remote=10.78.1.2:7901 --verify --messages=50 \
    --warmup_s=0 --size=65536 --quiet >"$dir/tcp_client.log" 2>&1 ||
    { cat "$dir/tcp_client.log"; fail "kernel TCP failed beside Ferry"; }
  ip netns exec "$ns_a" ping -c 3 -i 0.01 -W 5 10.78.1.2 >"$dir/ping.log" 2>&1 ||
    { cat "$dir/ping.log"; fail "the kernel's ping failed beside Ferry"; }
  rounds=$((rounds + 1))
done
wait $ferry_client || { cat "$dir/client.log"; fail "the Ferry client failed"; }
grep summary "$dir/client.log"
grep -q "summary: ferry.* 10000 round trips" "$dir/client.log" ||
  fail "Ferry did not complete 10,000 verified round trips"
echo "ok: $rounds rounds of 50 verified 64 KiB TCP round trips and 3 pings ran beside it"

# The program's view: Ferry's frames went to Ferry, the kernel's stayed.
page=$dir/metrics_b.txt
ip netns exec "$ns_b" bash -c "source deploy/testbed/ferryd_test_lib.sh &&
  metrics_scrape $(metrics_url "$dir/ferryd_b.log")" >"$page"
grep '^ferry_xdp_frames_total' "$page"
diverted=$(metric_sum 'ferry_xdp_frames_total{port="net_af_xdp0",verdict="ferry_ipv4"}' "$page")
passed=$(metric_sum 'ferry_xdp_frames_total{port="net_af_xdp0",verdict="kernel"}' "$page")
[[ $diverted -ge 10000 ]] || fail "the program diverted $diverted frames to Ferry"
[[ $passed -ge 100 ]] || fail "the program passed $passed frames to the kernel"

detail=$(ip netns exec "$ns_b" "$FERRYCTL" --socket=@ferry-xdp-grpc-b-$id \
  nic get net_af_xdp0)
echo "$detail" | grep "^xdp:"
echo "$detail" | grep -Eq "^xdp: +ferry_xdp id [0-9]+ \(native\) on $if_b: [0-9]+ IPv4" ||
  fail "ferryctl nic get does not show the program"

# A ferryd killed outright leaves its program; the next one takes it off.
kill -KILL "$pid_a"
wait "$pid_a" 2>/dev/null || true
[[ $(xdp_prog "$ns_a" "$if_a") == *ferry_xdp* ]] ||
  fail "expected the killed ferryd's program to stay"
start_ferryd a2 "$ns_a" "$if_a" 10.78.0.1
pid_a=$LAST_PID
wait_for_line "$dir/ferryd_a2.log" "ferryd ready" 60
grep -q "took off the XDP program an earlier ferryd left" "$dir/ferryd_a2.log" ||
  fail "the restarted ferryd did not say it replaced the old program"
ip netns exec "$ns_a" "$MSG_GEN" --role=client --socket=@ferry-xdp-grpc-a2-$id \
  --remote=10.78.0.2:7900 --verify --messages=1000 --warmup_s=0 --quiet \
  >"$dir/client2.log" 2>&1 || { cat "$dir/client2.log"; fail "after restart"; }

stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
for end in "$ns_a $if_a" "$ns_b $if_b"; do
  set -- $end
  [[ -z $(xdp_prog "$1" "$2") ]] || fail "$2 still has $(xdp_prog "$1" "$2")"
  ip -n "$1" link show dev "$2"
done
echo "PASS: Ferry over AF_XDP beside the kernel's ping and TCP on one veth"

#!/usr/bin/env bash
# Forged segments from a raw socket in the peer's namespace against ferryd
# on af_packet: 100,000 SYNs at a listener from random addresses, and
# 10,000 RSTs and FINs with random sequence and ack numbers (and 1,000
# RSTs without a UDP checksum) at an established flow (the attacker knows its addresses, ports and both flow
# ids: only the numbers are guessed). Meanwhile msg_gen carries verified
# request/response traffic on that flow, and a legitimate connect to the
# flooded listener must succeed. Afterwards: the flow was never reset,
# every payload verified, and ferryd's counters say what it refused. In
# clear (--encryption=off): these are the transport's own defences, which
# flows in clear rely on; an encrypted flow drops the same forgeries as
# failed authentication (ferryd_secure_attack_test).
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
na=wfa$id nb=wfb$id
testbed_netns "$na"
testbed_netns "$nb"
testbed_veth "$na" wfa$id "$nb" wfb$id
dir=${TEST_TMPDIR:-/tmp}
grpc_a=@ferry-flood-a-$id grpc_b=@ferry-flood-b-$id
common=(--memory_mb=256 --metrics_address= --stats_interval_s=1 --encryption=off)
start_bg "$dir/ferryd_a.log" ip netns exec "$na" "$FERRYD" \
  --device=net_af_packet0,iface=wfa$id,qdisc_bypass=0 --ip=10.88.0.1/24 \
  --grpc_socket=$grpc_a --channel_socket=$grpc_a-ch "${common[@]}"
start_bg "$dir/ferryd_b.log" ip netns exec "$nb" "$FERRYD" \
  --device=net_af_packet0,iface=wfb$id,qdisc_bypass=0 --ip=10.88.0.2/24 \
  --grpc_socket=$grpc_b --channel_socket=$grpc_b-ch "${common[@]}"
wait_for_line "$dir/ferryd_a.log" "ferryd ready" 60
wait_for_line "$dir/ferryd_b.log" "ferryd ready" 60
on_a() { ip netns exec "$na" "$@"; }
on_b() { ip netns exec "$nb" "$@"; }
counter() {  # counter NAME: engine 0's counter on host A
  on_a "$FERRYCTL" --socket=$grpc_a --output=json nic get net_af_packet0 |
    /usr/bin/python3 -c "import json, sys
print(json.load(sys.stdin)['engines'][0]['counters'].get('$1', 0))"
}

start_bg "$dir/server.log" on_b "$MSG_GEN" --role=server --socket=$grpc_b \
  --port=7000 --verify --size=512
wait_for_line "$dir/server.log" "listening" 30
start_bg "$dir/client.log" on_a "$MSG_GEN" --role=client --socket=$grpc_a \
  --remote=10.88.0.2:7000 --verify --duration_s=30 --warmup_s=0 \
  --window=4 --size=512
client=$LAST_PID
start_bg "$dir/listen.log" on_a "$FERRYCTL" --socket=$grpc_a listen 7100 \
  --duration_ms=120000
wait_for_line "$dir/listen.log" "listening on port 7100" 30

# The target flow, as seen from both sides.
flows() {
  "$@" --output=json flow list | /usr/bin/python3 -c "import json, sys
f = [x for x in json.load(sys.stdin).get('flows', []) if x['state'] == 'established']
print(f[0]['id'], f[0]['local_port'], f[0]['remote_port']) if len(f) == 1 else None"
}
for _ in $(seq 100); do
  read -r flow_a port_a _ <<<"$(flows on_a "$FERRYCTL" --socket=$grpc_a)" || true
  [[ -n ${flow_a:-} ]] && break
  sleep 0.1
done
[[ -n ${flow_a:-} ]] || fail "no established flow on host A"
read -r flow_b port_b _ <<<"$(flows on_b "$FERRYCTL" --socket=$grpc_b)"
mac_a=$(on_a cat /sys/class/net/wfa$id/address)
mac_b=$(on_b cat /sys/class/net/wfb$id/address)
echo "target: A flow $flow_a (port $port_a) <-> B flow $flow_b (port $port_b)"

start_bg "$dir/flood.log" on_b /usr/bin/python3 controlplane/wire_flood.py \
  wfb$id "$mac_b" "$mac_a" 10.88.0.1 10.88.0 7100 10.88.0.2 "$port_b" \
  "$port_a" "$flow_a" "$flow_b" 100000 10000 10
flood=$LAST_PID
sleep 1
# A legitimate connect while the flood goes on.
out=$(on_b "$FERRYCTL" --socket=$grpc_b --timeout_ms=10000 connect \
  10.88.0.1:7100 --message=legit --count=3 2>&1) ||
  fail "a legitimate connect during the flood failed: $out"
echo "$out" | tail -2
kill -0 "$flood" 2>/dev/null || fail "the flood ended before the connect"
echo "ok: a legitimate connect to the flooded listener succeeded"
wait "$flood" || fail "the flood script failed: $(cat "$dir/flood.log")"
cat "$dir/flood.log"
wait "$client" || fail "msg_gen failed: $(tail -5 "$dir/client.log")"
tail -3 "$dir/client.log"
grep -q "VERIFY FAILURES" "$dir/client.log" && fail "payloads failed verification"
echo "ok: the attacked flow carried verified traffic for 30 s and was never reset"
for name in transport_rst_dropped transport_rst_challenged transport_rx_bad_ack \
  transport_syn_listener_full transport_rx_no_checksum transport_flows_reset; do
  eval "$name=$(counter $name)"
  echo "A: $name=${!name}"
done
((transport_rst_dropped + transport_rst_challenged >= 1)) ||
  fail "no forged RST was counted"
((transport_rx_bad_ack >= 1)) || fail "no forged FIN was counted"
((transport_syn_listener_full >= 1)) || fail "the half-open bound never acted"
# af_packet verifies no checksum: all 1,000 unchecksummed RSTs are refused
# (a few frames of the flood may be lost on the veth, not more).
((transport_rx_no_checksum >= 900)) ||
  fail "unchecksummed segments: $transport_rx_no_checksum refused of 1000"
echo "PASS: forged SYNs, RSTs and FINs were refused and counted"

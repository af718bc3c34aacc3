#!/usr/bin/env bash
# The wire's ceiling beside Ferry's rate on it. For each wire (memif,
# af_packet, af_xdp: the testbed's), dpdk-testpmd sends 1 KiB frames
# (txonly, CPU 0) to a receiver (rxonly, CPU 1) on that wire, and the
# frames per second the receiver counts are the most any DPDK program gets
# through it one way on these two cores. Then Ferry on the same wire
# (deploy/testbed/two_hosts.sh): msg_gen 1 KiB request/response at window
# 32; each RPC carries one 1 KiB message each way, so its RPC/s over the
# ceiling is the share of the wire Ferry uses (both ways at once, sharing
# the two cores with the applications).
#
#   sudo bench/wire_ceiling.sh FERRYD MSG_GEN [SECONDS (5)] [WIRES...]
set -euo pipefail
shopt -s inherit_errexit
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
seconds=${3:-5}
shift $(($# < 3 ? $# : 3))
wires=("${@:-memif af_packet af_xdp}")
read -r -a wires <<<"${wires[*]}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source deploy/testbed/ferryd_test_lib.sh
dir=$(mktemp -d /tmp/ferry-wire-ceiling.XXXXXX)
cleanup() {
  deploy/testbed/two_hosts.sh down >/dev/null 2>&1 || true
  testbed_cleanup
  rm -rf "$dir"
}
trap cleanup EXIT
id=$$
ns_a=wca$id ns_b=wcb$id
testbed_netns "$ns_a"
testbed_netns "$ns_b"
testbed_veth "$ns_a" wca$id "$ns_b" wcb$id
mac_b=$(ip -n "$ns_b" link show wcb$id | awk '/link\/ether/ { print $2 }')

# testpmd WIRE: frames per second the receiver counted (median of its
# per-second lines after the first two).
testpmd() {
  local wire=$1 dev_a dev_b
  case $wire in
    memif)
      dev_b="net_memif0,role=server,socket=$dir/memif.sock,socket-abstract=no"
      dev_a="net_memif0,role=client,socket=$dir/memif.sock,socket-abstract=no" ;;
    af_packet)
      dev_a="net_af_packet0,iface=wca$id,qdisc_bypass=0"
      dev_b="net_af_packet0,iface=wcb$id,qdisc_bypass=0" ;;
    af_xdp)
      dev_a="net_af_xdp0,iface=wca$id"
      dev_b="net_af_xdp0,iface=wcb$id" ;;
    *) fail "unknown wire $wire" ;;
  esac
  ip netns exec "$ns_b" timeout $((seconds + 6)) dpdk-testpmd --in-memory \
    --file-prefix=wcb$id --lcores='0@1,1@1' --no-pci --vdev="$dev_b" -- \
    --forward-mode=rxonly --nb-cores=1 --stats-period=1 \
    >"$dir/rx_$wire.log" 2>&1 &
  local rx=$!
  sleep 2
  ip netns exec "$ns_a" timeout $((seconds + 2)) dpdk-testpmd --in-memory \
    --file-prefix=wca$id --lcores='0@0,1@0' --no-pci --vdev="$dev_a" -- \
    --forward-mode=txonly --txpkts=1114 --eth-peer=0,$mac_b \
    --nb-cores=1 --stats-period=1 >"$dir/tx_$wire.log" 2>&1 || true
  wait $rx || true
  awk '/Rx-pps:/ { print $2 }' "$dir/rx_$wire.log" | sed 1,2d | sort -n |
    awk '$1 > 0 { v[n++] = $1 } END { print n ? v[int(n / 2)] : 0 }'
}

# ferry WIRE: Ferry's RPC/s at window 32 over the testbed on that wire.
ferry() {
  local wire=$1
  FERRYD=$FERRYD MSG_GEN=$MSG_GEN deploy/testbed/two_hosts.sh up \
    --wire="$wire" >/dev/null
  deploy/testbed/two_hosts.sh exec b "$MSG_GEN" --role=server \
    --socket=/run/ferry-testbed/b/ferryd.sock --port=7811 --size=1024 \
    >"$dir/server_$wire.log" 2>&1 &
  wait_for_line "$dir/server_$wire.log" listening 30
  deploy/testbed/two_hosts.sh exec a "$MSG_GEN" --role=client \
    --socket=/run/ferry-testbed/a/ferryd.sock --remote=10.70.0.2:7811 \
    --size=1024 --window=32 --duration_s="$seconds" --warmup_s=1 --quiet \
    --json_out="$dir/ferry_$wire.json" >"$dir/client_$wire.log" 2>&1 ||
    fail "Ferry over $wire: $(tail -1 "$dir/client_$wire.log")"
  deploy/testbed/two_hosts.sh down >/dev/null
  /usr/bin/python3 -c 'import json, sys
print(int(json.load(open(sys.argv[1]))["results"]["rpc_per_s"]))' \
    "$dir/ferry_$wire.json"
}

printf '| wire | wire ceiling, 1 KiB frames/s one way | Ferry RPC/s (w32) | Ferry / ceiling |\n'
printf '|---|---|---|---|\n'
for wire in "${wires[@]}"; do
  ceiling=$(testpmd "$wire")
  [[ $ceiling -gt 0 ]] || fail "testpmd counted no frames over $wire: $(tail -3 "$dir/rx_$wire.log")"
  rpcs=$(ferry "$wire")
  awk -v w="$wire" -v c="$ceiling" -v r="$rpcs" 'BEGIN {
    printf "| %s | %.0fK | %.0fK | %.2f |\n", w, c / 1e3, r / 1e3, r / c }'
done

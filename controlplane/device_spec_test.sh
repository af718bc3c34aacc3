#!/usr/bin/env bash
# Device specs that reach host resources, tried through both API surfaces
# of a running ferryd: net_pcap with file keys (a root-owned canary file),
# net_af_packet, net_pcap and net_tap on interfaces the operator did not
# list, unknown drivers and keys, and an over-long spec. The application
# socket answers PERMISSION_DENIED to all (attach is an admin call); the
# admin socket refuses each with a message naming the key. Afterwards the
# canary's hash is unchanged, no interface was created, and nothing is
# attached but the first NIC; an interface the operator listed in
# --allow_device_interfaces does attach.
set -euo pipefail
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
ns=fdev$id
testbed_netns "$ns"
ip -n "$ns" link add fdo$id type veth peer name fdl$id
ip -n "$ns" link set fdo$id up
ip -n "$ns" link set fdl$id up
canary=$(mktemp /tmp/ferry-canary.XXXXXX)
head -c 4096 /dev/urandom >"$canary"
chmod 600 "$canary"
before=$(sha256sum <"$canary")
run=/run/ferry-devspec-$id
dir=${TEST_TMPDIR:-/tmp}
start_bg "$dir/ferryd.log" ip netns exec "$ns" "$FERRYD" --device=net_null0 \
  --ip=10.95.0.1/24 --grpc_socket=$run/ferryd.sock \
  --channel_socket=$run/channels.sock --memory_mb=256 --metrics_address= \
  --allow_device_interfaces=fdo$id
wait_for_line "$dir/ferryd.log" "ferryd ready" 60
trap 'testbed_cleanup; rm -rf "$run" "$canary"' EXIT

ctl() { ip netns exec "$ns" "$FERRYCTL" --socket=$run/ferryd.sock --timeout_ms=5000 "$@" 2>&1; }
long="net_null7,size=$(printf '1%.0s' $(seq 600))"
n=10
refuse() {  # refuse WANT SPEC: refused on both surfaces
  local want=$1 spec=$2 out
  n=$((n + 1))
  out=$(ctl --as=application nic attach --device="$spec" --ip=10.96.$n.1/24) &&
    fail "application attached $spec"
  [[ $out == *PERMISSION_DENIED* ]] || fail "application, $spec: $out"
  out=$(ctl nic attach --device="$spec" --ip=10.96.$n.1/24) &&
    fail "admin attached $spec: $out"
  [[ $out == *"$want"* ]] || fail "admin, $spec: '$out' does not say '$want'"
  echo "ok: ${spec:0:60}: $out"
}
refuse "PERMISSION_DENIED: --device: device net_pcap0: " \
  "net_pcap0,tx_pcap=$canary,rx_iface=lo"
refuse "rx_pcap names a host file" "net_pcap0,rx_pcap=/etc/shadow"
refuse "rx_pcap names a host file" "net_pcap0,rx_pcap=/no/such/file"
refuse "iface names a host interface" "net_pcap0,iface=lo"
refuse "iface names a host interface" "net_af_packet1,iface=fdl$id"
refuse "iface names a host interface" "net_tap0,iface=evil$id"
refuse "INVALID_ARGUMENT: --device: device net_null5: key 'bogus' is not accepted" \
  "net_null5,bogus=1"
refuse "not an accepted network port driver" "net_bonding0,slave=0000:00:01.0"
refuse "is neither a PCI address nor a DPDK vdev spec" "crypto_null0"
refuse "device spec of 615 bytes (at most 512)" "$long"
[[ $(sha256sum <"$canary") == "$before" ]] || fail "the canary file changed"
echo "ok: the canary's hash is unchanged"
ip -n "$ns" link show evil$id >/dev/null 2>&1 && fail "interface evil$id created"
! ip link show evil$id >/dev/null 2>&1 || fail "interface evil$id created"
echo "ok: no interface was created"
out=$(ctl nic list)
(($(grep -c '^net_' <<<"$out") == 1)) || fail "NICs after the refusals: $out"
out=$(ctl nic attach --device=net_af_packet2,iface=fdo$id,qdisc_bypass=0 \
  --ip=10.97.0.1/24) || fail "the listed interface was refused: $out"
echo "ok: the operator's interface attaches: $out"
echo "PASS: device specs reach only what the operator allowed"

#!/usr/bin/env bash
# Encrypted flows between two ferryd in two network namespaces, joined by a
# veth pair that each drives through net_af_packet:
#  1. with each other's node keys and --encryption=required, msg_gen
#     carries 10,000 verified messages of 1 B to 8 MiB, while tcpdump
#     captures the wire: the capture holds none of the plaintext (msg_gen's
#     payload pattern: runs of bytes 7 apart) and every Ferry segment but
#     the handshake is sealed;
#  2. a ferryd with a key the other does not trust is refused, connecting
#     and listening, with the reason; once the other trusts it through the
#     admin API (ferryctl node trust) it connects, and once distrusted it
#     is refused again; ferryctl node and nic get show the key, the trust
#     list and the mode, and bad requests get clear errors;
#  3. a ferryd with encryption off cannot reach one that requires it, and
#     says why;
#  4. keys rotated every second for 60 s under traffic (1 KiB at window 32
#     and 64 KiB at window 4, verified): nothing lost, repeated or refused;
#  5. the capture check finds the plaintext in a capture in clear.
#
#   ferryd_encryption_test.sh FERRYD MSG_GEN FERRYCTL
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
command -v tcpdump >/dev/null || fail "tcpdump is not installed"

id=$$
ns_a=fca$id
ns_b=fcb$id
testbed_netns "$ns_a"
testbed_netns "$ns_b"
testbed_veth "$ns_a" fya$id "$ns_b" fyb$id
dir=${TEST_TMPDIR:-/tmp}/encryption
rm -rf "$dir" && mkdir -p "$dir"
chmod 700 "$dir"

key() {  # key NAME: the public key of the node key $dir/NAME.key
  "$FERRYD" --node_key_file="$dir/$1.key" --print_node_key
}
key_a=$(key a)
key_b=$(key b)
key_c=$(key c)
echo "$key_b host-b" >"$dir/a.trust"
echo "# host A's peers" >"$dir/b.trust"
echo "$key_a host-a" >>"$dir/b.trust"
# C trusts B; B does not trust C.
echo "$key_b host-b" >"$dir/c.trust"

# start_host SIDE NAME ARGS...: ferryd SIDE (a or b) with node NAME's key.
start_host() {
  local side=$1 name=$2
  shift 2
  local ns=$ns_a ip=10.91.0.1 dev=fya$id
  if [[ $side == b ]]; then ns=$ns_b ip=10.91.0.2 dev=fyb$id; fi
  start_bg "$dir/ferryd_$side.log" ip netns exec "$ns" "$FERRYD" \
    --device=net_af_packet0,iface=$dev --ip=$ip/24 \
    --channel_socket=@ferry-enc-$side-$id --grpc_socket=@ferry-enc-grpc-$side-$id \
    --node_key_file="$dir/$name.key" --trusted_peers_file="$dir/$name.trust" \
    --stats_interval_s=1 --memory_mb=512 --metrics_address= "$@"
  eval "pid_$side=\$LAST_PID"
  wait_for_line "$dir/ferryd_$side.log" "ferryd ready" 60
}
client() {  # client ARGS...: msg_gen on A against B
  ip netns exec "$ns_a" timeout 120 "$MSG_GEN" --role=client \
    --socket=@ferry-enc-grpc-a-$id --verify --warmup_s=0 --quiet "$@"
}

# check_capture PCAP sealed|clear: every Ferry segment of the capture is
# sealed (with no UDP checksum) and none holds msg_gen's plaintext, or (the
# check's own check) the plaintext is there.
check_capture() {
/usr/bin/python3 - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
at, frames, sealed, handshakes = 24, 0, 0, 0
while at + 16 <= len(data):
    _, _, caplen, _ = struct.unpack(endian + "IIII", data[at:at + 16])
    frame = data[at + 16:at + 16 + caplen]
    at += 16 + caplen
    if len(frame) < 14 + 20 + 8 + 48 or frame[12:14] != b"\x08\x00":
        continue
    ihl = (frame[14] & 15) * 4
    ferry = frame[14 + ihl + 8:]
    if ferry[:2] != b"FR":
        continue
    frames += 1
    kind, flags = ferry[3], ferry[4]
    if kind in (1, 2):  # SYN, SYN-ACK: the Noise messages, in clear
        handshakes += 1
        continue
    if flags & 0x08 and ferry[5] == 56:
        sealed += 1
        # Sealed segments carry no UDP checksum (the tag vouches for them).
        if frame[14 + ihl + 6:14 + ihl + 8] != b"\0\0":
            sys.exit("a sealed segment with a UDP checksum")
# msg_gen's payload: byte i is (seq * 131 + i * 7 + k) mod 256, so any 24
# bytes of it are one of 256 runs stepping by 7; ciphertext holds one with
# odds of 2^-184 per place.
found = [s for s in range(256)
         if data.find(bytes((s + 7 * j) & 255 for j in range(24))) >= 0]
print(f"{frames} Ferry frames captured: {sealed} sealed, {handshakes} "
      f"handshake; runs of msg_gen's plaintext found: {len(found)}")
if sys.argv[2] == "clear":
    if not found or sealed:
        sys.exit("the check does not see plaintext in a capture in clear")
    sys.exit(0)
if frames < 100000 or sealed < frames - handshakes:
    sys.exit("segments in clear, or too few frames captured")
if found:
    sys.exit("the capture holds msg_gen's plaintext")
EOF
}

echo "### 1. trusted nodes, encryption required, the wire captured"
start_host a a --encryption=required
start_host b b --encryption=required
grep -q "node key $key_a" "$dir/ferryd_a.log" || fail "A did not log its key"
runs=("1 2000 32" "1024 4000 32" "65536 3000 8" "1048576 990 4"
      "8388608 10 2")
port=7100
for run in "${runs[@]}"; do  # a server per size, on B
  read -r size _ <<<"$run"
  port=$((port + 1))
  start_bg "$dir/server_$size.log" ip netns exec "$ns_b" "$MSG_GEN" \
    --role=server --socket=@ferry-enc-grpc-b-$id --port=$port --size=$size \
    --verify
  wait_for_line "$dir/server_$size.log" "listening" 30
done
# The first 160 bytes of each frame: headers and the start of every
# payload (the larger runs go uncaptured, to keep the check short).
ip netns exec "$ns_a" tcpdump -i fya$id -w "$dir/wire.pcap" -s 160 -U --immediate-mode \
  udp >"$dir/tcpdump.log" 2>&1 &
tcpdump_pid=$!
TESTBED_PIDS+=("$tcpdump_pid")
wait_for_line "$dir/tcpdump.log" "listening on" 30
total=0
port=7100
for run in "${runs[@]}"; do
  read -r size count window <<<"$run"
  port=$((port + 1))
  echo "== $count messages of $size B, window $window"
  client --remote=10.91.0.2:$port --size=$size --messages=$count \
    --window=$window || fail "msg_gen $size B failed"
  total=$((total + count))
  if ((size == 65536)); then
    sleep 0.5
    kill "$tcpdump_pid"
    wait "$tcpdump_pid" 2>/dev/null || true
  fi
done
echo "verified messages each way: $total"
((total == 10000)) || fail "expected 10,000 messages"
check_capture "$dir/wire.pcap" sealed || fail "plaintext on the wire"
expect_stat_eq "$dir/ferryd_a.log" 0 transport_rx_auth_failed 0
expect_stat_ge "$dir/ferryd_a.log" 0 transport_flows_secured 5
expect_stat_ge "$dir/ferryd_b.log" 0 transport_flows_secured 5
stop_and_wait "$pid_a" 20

echo "### 2. an untrusted node: refused connecting and listening"
start_host a c --encryption=required
out=$(client --remote=10.91.0.2:7101 --size=1 --messages=10 2>&1) &&
  fail "an untrusted node connected"
echo "$out" | tail -2
grep -q "do not trust each other's node key" <<<"$out" ||
  fail "no clear reason for the untrusted connect"
wait_for_line "$dir/ferryd_b.log" "stats engine=0 .*transport_syn_untrusted=[1-9]" 10
# B connects to C, which trusts B: B refuses C's answer.
start_bg "$dir/server_c.log" ip netns exec "$ns_a" "$MSG_GEN" --role=server \
  --socket=@ferry-enc-grpc-a-$id --port=7002 --verify
wait_for_line "$dir/server_c.log" "listening" 30
out=$(ip netns exec "$ns_b" timeout 60 "$MSG_GEN" --role=client \
  --socket=@ferry-enc-grpc-b-$id --remote=10.91.0.1:7002 --size=64 \
  --messages=10 --warmup_s=0 --quiet 2>&1) &&
  fail "B connected to an untrusted node"
grep -q "do not trust each other's node key" <<<"$out" ||
  fail "no clear reason for the untrusted listener"
wait_for_line "$dir/ferryd_b.log" \
  "stats engine=0 .*transport_handshake_untrusted=[1-9]" 10

echo "### 2b. trust changed through the admin API while both run"
ctl_b() { ip netns exec "$ns_b" "$FERRYCTL" --socket=@ferry-enc-grpc-b-$id "$@"; }
out=$(ctl_b node)
echo "$out"
grep -q "node key: *$key_b" <<<"$out" || fail "ferryctl node: not B's key"
grep -q "trusted peers: 1" <<<"$out" || fail "ferryctl node: B trusts one"
grep -q "$key_a host-a" <<<"$out" || fail "ferryctl node: host-a missing"
ctl_b nic get net_af_packet0 | grep "^encryption: required, aes-128-gcm" ||
  fail "nic get does not show the encryption"
ctl_b node trust "$key_c" --name=host-c || fail "node trust failed"
client --remote=10.91.0.2:7101 --size=1 --messages=10 ||
  fail "a node trusted through the API was refused"
ctl_b node | grep -q "$key_c host-c" || fail "host-c not listed"
out=$(ctl_b node trust "$key_c" 2>&1) && fail "trusted twice"
grep -q "ALREADY_EXISTS" <<<"$out" || fail "trusting twice: $out"
out=$(ctl_b node trust not-a-key 2>&1) && fail "trusted a bad key"
grep -q "INVALID_ARGUMENT.*is not a public key" <<<"$out" ||
  fail "a bad key: $out"
out=$(ctl_b --as=application node 2>&1) && fail "an application read the node"
grep -q "PERMISSION_DENIED" <<<"$out" || fail "application: $out"
ctl_b node distrust "$key_c" || fail "node distrust failed"
out=$(ctl_b node distrust "$key_c" 2>&1) && fail "distrusted twice"
grep -q "NOT_FOUND" <<<"$out" || fail "distrusting twice: $out"
out=$(client --remote=10.91.0.2:7101 --size=1 --messages=10 2>&1) &&
  fail "a distrusted node connected"
grep -q "do not trust each other's node key" <<<"$out" ||
  fail "no clear reason after distrust"
echo "ok: trust granted and withdrawn through the API"
stop_and_wait "$pid_a" 20

echo "### 3. encryption off cannot reach required"
start_host a a --encryption=off
out=$(client --remote=10.91.0.2:7101 --size=1 --messages=10 2>&1) &&
  fail "a node without encryption connected"
grep -q "one side requires it and the other has it off" <<<"$out" ||
  fail "no clear reason for the refusal"
wait_for_line "$dir/ferryd_b.log" \
  "stats engine=0 .*transport_syn_plain_refused=[1-9]" 10
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20

# 60 s of rotations; 20 s under AddressSanitizer (the test command's second
# pass: the same code under the sanitizer's checks, and CI's time budget).
rotate_s=60 min_rotations=100
if [[ $(ldd "$FERRYD") == *libasan* ]]; then rotate_s=20 min_rotations=30; fi
echo "### 4. keys rotated every second for $rotate_s s under traffic"
start_host a a --encryption=required --key_rotation_ms=1000
start_host b b --encryption=required --key_rotation_ms=1000
for size in 1024 65536; do
  start_bg "$dir/rot_server_$size.log" ip netns exec "$ns_b" "$MSG_GEN" \
    --role=server --socket=@ferry-enc-grpc-b-$id --port=$((size == 1024 ? 7301 : 7302)) \
    --size=$size --verify
  wait_for_line "$dir/rot_server_$size.log" "listening" 30
done
# Two flows at once, 1 KiB at window 32 and 64 KiB at window 4, verified.
client --remote=10.91.0.2:7301 --size=1024 --window=32 \
  --messages=0 --duration_s=$rotate_s --json_out="$dir/rot_1k.json" &
small=$!
client --remote=10.91.0.2:7302 --size=65536 --window=4 \
  --messages=0 --duration_s=$rotate_s --json_out="$dir/rot_64k.json" ||
  fail "64 KiB traffic across key rotations failed"
wait "$small" || fail "1 KiB traffic across key rotations failed"
for f in "$dir/rot_1k.json" "$dir/rot_64k.json"; do
  grep -q '"verify_failures": 0' "$f" || fail "$f: verify failures"
  grep -q '"error": ""' "$f" || fail "$f: $(grep -o '"error": "[^"]*"' "$f")"
done
sleep 1.5  # one more stats line
for side in a b; do
  expect_stat_ge "$dir/ferryd_$side.log" 0 transport_key_rotations "$min_rotations"
  expect_stat_eq "$dir/ferryd_$side.log" 0 transport_rx_auth_failed 0
  expect_stat_eq "$dir/ferryd_$side.log" 0 transport_flows_reset 0
done
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20

echo "### 5. the capture check sees plaintext when there is some"
start_host a a --encryption=off
start_host b b --encryption=off
start_bg "$dir/server_clear.log" ip netns exec "$ns_b" "$MSG_GEN" \
  --role=server --socket=@ferry-enc-grpc-b-$id --port=7201 --size=1024 --verify
wait_for_line "$dir/server_clear.log" "listening" 30
ip netns exec "$ns_a" tcpdump -i fya$id -w "$dir/clear.pcap" -s 160 -U --immediate-mode \
  udp >"$dir/tcpdump_clear.log" 2>&1 &
tcpdump_pid=$!
TESTBED_PIDS+=("$tcpdump_pid")
wait_for_line "$dir/tcpdump_clear.log" "listening on" 30
client --remote=10.91.0.2:7201 --size=1024 --messages=100 ||
  fail "msg_gen in clear failed"
sleep 0.5
kill "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
check_capture "$dir/clear.pcap" clear || fail "the capture check is blind"
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
echo "PASS: encrypted flows carry verified messages, the wire shows no" \
  "plaintext, untrusted and plain peers are refused with reasons"

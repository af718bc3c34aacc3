#!/usr/bin/env bash
# An attacker on the wire of encrypted flows: two ferryd with each other's
# node keys and --encryption=required, on a veth pair through
# net_af_packet, carry verified msg_gen traffic for 20 s (1 KiB at window
# 8 and 64 KiB at window 2, keys rotating every second) while a raw-socket
# attacker on each end (wire_replay_attack.py) sends the other ferryd
# replays of its segments, stale ones from beyond the replay window,
# forgeries with a fresh packet number and one bit flipped (checksums made
# right, so that only the AEAD can tell), and copies in clear turned into
# RSTs, FINs and data. Afterwards:
#  - every message arrived exact, and no flow was reset;
#  - each ferryd counted the replays as replays and the forgeries as
#    authentication failures: never more than were sent, and all of them
#    but what the veth or the af_packet ring may lose (10%).
#
#   ferryd_secure_attack_test.sh FERRYD MSG_GEN FERRYCTL
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$
na=saa$id nb=sab$id
testbed_netns "$na"
testbed_netns "$nb"
testbed_veth "$na" saa$id "$nb" sab$id
dir=${TEST_TMPDIR:-/tmp}/secure_attack
rm -rf "$dir" && mkdir -p "$dir"
chmod 700 "$dir"
on_a() { ip netns exec "$na" "$@"; }
on_b() { ip netns exec "$nb" "$@"; }

key_a=$("$FERRYD" --node_key_file="$dir/a.key" --print_node_key)
key_b=$("$FERRYD" --node_key_file="$dir/b.key" --print_node_key)
echo "$key_b host-b" >"$dir/a.trust"
echo "$key_a host-a" >"$dir/b.trust"

# qdisc_bypass=0: the frames each ferryd sends pass its interface's taps,
# where the attacker on that end reads them.
start_host() {  # start_host a|b
  local side=$1 ns=$na ip=10.93.0.1
  if [[ $side == b ]]; then ns=$nb ip=10.93.0.2; fi
  start_bg "$dir/ferryd_$side.log" ip netns exec "$ns" "$FERRYD" \
    --device=net_af_packet0,iface=sa$side$id,qdisc_bypass=0 --ip=$ip/24 \
    --grpc_socket=@ferry-sa-$side-$id --channel_socket=@ferry-sa-ch-$side-$id \
    --node_key_file="$dir/$side.key" --trusted_peers_file="$dir/$side.trust" \
    --encryption=required --key_rotation_ms=1000 \
    --memory_mb=256 --metrics_address=127.0.0.1:0 --stats_interval_s=1
  wait_for_line "$dir/ferryd_$side.log" "ferryd ready" 60
}
start_host a
start_host b
counter() {  # counter a|b NAME: engine 0's counter on that host
  local side=$1
  ip netns exec "$([[ $side == a ]] && echo "$na" || echo "$nb")" \
    "$FERRYCTL" --socket=@ferry-sa-$side-$id --output=json \
    nic get net_af_packet0 | /usr/bin/python3 -c "import json, sys
print(json.load(sys.stdin)['engines'][0]['counters'].get('$2', 0))"
}

for size in 1024 65536; do
  start_bg "$dir/server_$size.log" on_b "$MSG_GEN" --role=server \
    --socket=@ferry-sa-b-$id --port=$((size == 1024 ? 7001 : 7002)) \
    --size=$size --verify
  wait_for_line "$dir/server_$size.log" "listening" 30
done
client() {  # client PORT SIZE WINDOW JSON
  on_a timeout 120 "$MSG_GEN" --role=client --socket=@ferry-sa-a-$id \
    --remote=10.93.0.2:$1 --size=$2 --window=$3 --messages=0 \
    --duration_s=20 --warmup_s=0 --verify --quiet --json_out="$4"
}
client 7001 1024 8 "$dir/small.json" >"$dir/small.log" 2>&1 &
small=$!
client 7002 65536 2 "$dir/large.json" >"$dir/large.log" 2>&1 &
large=$!
sleep 1  # the flows are up: the attackers see sealed segments only
# Flow details name the cipher, the key epochs and the peer's node key.
details=$(on_a "$FERRYCTL" --socket=@ferry-sa-a-$id --output=json flow list)
/usr/bin/python3 -c "import json, sys
flows = json.loads(sys.argv[1]).get('flows', [])
assert len(flows) == 2, flows
for f in flows:
    assert f['encryption'] == 'aes-128-gcm', f
    assert f['peer_node_key'] == sys.argv[2], f
print('flow details:', [(f['id'], f['encryption']) for f in flows])" \
  "$details" "$key_b" || fail "flow details do not show the encryption"
detail=$(on_a "$FERRYCTL" --socket=@ferry-sa-a-$id flow list | tail -1 |
  awk '{print $2}')
on_a "$FERRYCTL" --socket=@ferry-sa-a-$id flow get "$detail" \
  --nic=net_af_packet0 | grep "^encryption aes-128-gcm, key epochs" ||
  fail "ferryctl flow get does not show the encryption"
# And the metrics name the mode and cipher.
url=$(grep -m 1 -o "http://127.0.0.1:[0-9]*/metrics" "$dir/ferryd_a.log")
on_a /usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "$url" | grep 'ferry_port_encryption_info{.*mode="required"' |
  grep 'cipher="aes-128-gcm"' || fail "no encryption info in the metrics"
start_bg "$dir/attack_a.log" on_a /usr/bin/python3 \
  controlplane/wire_replay_attack.py saa$id 17 "$dir/attack_a.json"
attack_a=$LAST_PID
start_bg "$dir/attack_b.log" on_b /usr/bin/python3 \
  controlplane/wire_replay_attack.py sab$id 17 "$dir/attack_b.json"
attack_b=$LAST_PID
wait "$small" || fail "1 KiB flow failed: $(tail -3 "$dir/small.log")"
wait "$large" || fail "64 KiB flow failed: $(tail -3 "$dir/large.log")"
wait "$attack_a" || fail "attacker on A failed: $(cat "$dir/attack_a.log")"
wait "$attack_b" || fail "attacker on B failed: $(cat "$dir/attack_b.log")"
for f in "$dir/small.json" "$dir/large.json"; do
  grep -q '"verify_failures": 0' "$f" || fail "$f: verify failures"
  grep -q '"error": ""' "$f" || fail "$f: $(grep -o '"error": "[^"]*"' "$f")"
  echo "$(basename "$f"): $(grep -o '"round_trips": [0-9]*' "$f")"
done
echo "ok: every message exact under attack"

# check VICTIM ATTACKER: the victim counted what the attacker on the other
# end sent it.
check() {
  local victim=$1 attacker=$2
  read -r replays forgeries seen <<<"$(/usr/bin/python3 -c "import json
s = json.load(open('$dir/attack_$attacker.json'))
print(s['replay'] + s['stale'], s['flipped'] + s['clear'], s['seen'])")"
  local replayed auth_failed resets rotations
  replayed=$(counter "$victim" transport_rx_replayed)
  auth_failed=$(counter "$victim" transport_rx_auth_failed)
  resets=$(counter "$victim" transport_flows_reset)
  rotations=$(counter "$victim" transport_key_rotations)
  echo "attacker on $attacker saw $seen sealed segments, sent $replays" \
    "replays and $forgeries forgeries; $victim counted $replayed replayed," \
    "$auth_failed auth failures, $resets resets, $rotations key rotations"
  ((replays >= 100 && forgeries >= 100)) ||
    fail "the attacker on $attacker sent too little to judge"
  ((replayed <= replays)) || fail "$victim refused more replays than were sent"
  ((auth_failed <= forgeries)) ||
    fail "$victim failed more segments than were forged"
  ((replayed * 10 >= replays * 9)) ||
    fail "$victim counted $replayed of $replays replays"
  ((auth_failed * 10 >= forgeries * 9)) ||
    fail "$victim counted $auth_failed of $forgeries forgeries"
  ((resets == 0)) || fail "$victim reset a flow"
  ((rotations >= 10)) || fail "$victim rotated its keys only $rotations times"
}
check b a
check a b
echo "PASS: replays and forgeries from the wire were dropped and counted;" \
  "the flows went on with every message exact"

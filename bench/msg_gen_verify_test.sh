#!/usr/bin/env bash
# msg_gen's verify mode catches a corrupted payload: a UDP server that
# answers correctly except for one flipped byte in every 50th response
# makes `msg_gen --verify` fail and count the bad responses, while the
# same run against msg_gen's own server passes.
set -euo pipefail
MSG_GEN=$(realpath "$1")
dir=${TEST_TMPDIR:-/tmp}
port=$((20000 + RANDOM % 20000))

"$MSG_GEN" --role=server --transport=udp --port=$port --size=256 --verify \
  >"$dir/good_server.log" 2>&1 &
good=$!
# A corrupting echo: msg_gen's response pattern for the request's sequence
# number, with one byte flipped now and then.
/usr/bin/python3 - $((port + 1)) >"$dir/bad_server.log" 2>&1 <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
n = 0
while True:
    data, peer = s.recvfrom(65536)
    seq = struct.unpack("<Q", data[:8])[0]
    out = bytearray(struct.pack("<Q", seq))
    out += bytes(((seq * 131 + i * 7 + 0x5a) & 0xff) for i in range(8, 256))
    n += 1
    if n % 50 == 0:
        out[100] ^= 0xff
    s.sendto(bytes(out), peer)
PY
bad=$!
trap 'kill $good $bad 2>/dev/null || true' EXIT
sleep 0.5
run() {
  "$MSG_GEN" --role=client --transport=udp --remote=127.0.0.1:$1 --size=256 \
    --messages=2000 --warmup_s=0 --verify --quiet --json_out="$dir/$2.json"
}
run $port good || { echo "FAIL: a clean run failed verification"; exit 1; }
if run $((port + 1)) bad >"$dir/bad_client.log" 2>&1; then
  echo "FAIL: corrupted responses passed verification"; cat "$dir/bad_client.log"; exit 1
fi
grep -q "VERIFY FAILURES" "$dir/bad_client.log" ||
  { echo "FAIL: no verification failures reported"; cat "$dir/bad_client.log"; exit 1; }
failures=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["results"]["verify_failures"])' "$dir/bad.json")
((failures == 40)) || { echo "FAIL: $failures failures counted, expected 40"; exit 1; }
echo "PASS: msg_gen --verify caught $failures corrupted responses out of 2000"

#!/usr/bin/env bash
# msg_gen reports its own context switches per round trip: a kernel TCP
# client at window 1 over loopback leaves the CPU for every answer (the
# server has to run first), so it makes about one per round trip: a sleep
# in its receive (voluntary) or, when the woken server preempts it on
# their shared CPU first, an involuntary one.
set -euo pipefail
MSG_GEN=$(realpath "$1")
dir=${TEST_TMPDIR:-/tmp}
port=$((20000 + RANDOM % 20000))
"$MSG_GEN" --role=server --transport=tcp --port=$port --size=512 \
  >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  ss -ltn | grep -q ":$port " && break
  sleep 0.1
done
"$MSG_GEN" --role=client --transport=tcp --remote=127.0.0.1:$port --size=512 \
  --messages=3000 --warmup_s=0 --quiet --json_out="$dir/client.json" \
  >"$dir/client.log" 2>&1 || { cat "$dir/client.log"; echo "FAIL: client"; exit 1; }
grep -q "this process's context switches: [0-9.]* per round trip" \
  "$dir/client.log" || { cat "$dir/client.log"; echo "FAIL: no switches line"; exit 1; }
/usr/bin/python3 - "$dir/client.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
trips, vol, invol = r["round_trips"], r["voluntary_switches"], r["involuntary_switches"]
per = r["switches_per_rpc"]
print(f"{trips} round trips, {vol} voluntary + {invol} involuntary switches, {per} per round trip")
assert trips >= 3000, trips
assert abs(per - (vol + invol) / trips) < 1e-3, "per-trip figure disagrees with the counts"
# Each round trip waits for the server, one way or the other.
assert vol + invol >= trips // 2, "a client that hardly left the CPU: switches not counted"
PY
echo "PASS: msg_gen counts the context switches of its round trips"

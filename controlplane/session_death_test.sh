#!/usr/bin/env bash
# An application's session is its connection to ferryd's channel socket:
# when the process dies, however it dies, the kernel closes it and ferryd
# reclaims what the application held. Here an application with a channel
# and five flows is killed with SIGKILL; within a second its flows and
# channel are gone on its host (through the Flow API and the metrics) and
# the peer's ends of the flows have been reset.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair sd 10.95.0 --stats_interval_s=1 --memory_mb=256 \
  --metrics_address=127.0.0.1:0
wait_for_line "$PAIR_LOG_A" "metrics at" 30
wait_for_line "$PAIR_LOG_B" "metrics at" 30
url_a=$(grep -o "http://127.0.0.1:[0-9]*/metrics" "$PAIR_LOG_A" | head -n 1)
url_b=$(grep -o "http://127.0.0.1:[0-9]*/metrics" "$PAIR_LOG_B" | head -n 1)
metric() {  # metric URL NAME: the first sample of NAME
  python3 -c 'import sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
for line in page.splitlines():
    name = line.split("{")[0].split(" ")[0]
    if name == sys.argv[2]:
        print(int(float(line.rsplit(" ", 1)[1])))
        break' "$1" "$2"
}
flows() {  # flows HOST: how many flows ferryctl lists there
  local grpc=$PAIR_GRPC_A
  [[ $1 == b ]] && grpc=$PAIR_GRPC_B
  "$FERRYCTL" --socket=$grpc --output=json flow list |
    grep -c '"id"' || true
}

start_bg "$dir/server.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B --port=7000
wait_for_line "$dir/server.log" "listening" 30
start_bg "$dir/client.log" "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
  --remote=10.95.0.2:7000 --flows=5 --duration_s=120 --warmup_s=0
client=$LAST_PID
for _ in $(seq 200); do (($(flows a) == 5)) && break; sleep 0.05; done
(($(flows a) == 5 && $(flows b) == 5)) || fail "the five flows did not come up"
(($(metric "$url_a" ferry_channels_live) == 1)) || fail "no live channel at A"
resets_before=$(metric "$url_b" ferry_engine_transport_flows_reset_total)
echo "ok: a client with 1 channel and 5 flows, carrying traffic"

# One poller (not a process per probe) watches both hosts' metrics every
# 10 ms from the moment of the kill: the channel at A, the flows at A and
# B, and B's count of reset flows.
start=$(date +%s%N)
kill -KILL "$client"
python3 - "$url_a" "$url_b" "$start" "$resets_before" <<'PY' ||
import sys, time, urllib.request
url_a, url_b, start, resets_before = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def sample(url, name):
    total = 0
    for line in urllib.request.urlopen(url, timeout=2).read().decode().splitlines():
        if line.split("{")[0].split(" ")[0] == name:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total
while True:
    now = time.time_ns()
    state = (sample(url_a, "ferry_channels_live"),
             sample(url_a, "ferry_transport_flows_active"),
             sample(url_b, "ferry_transport_flows_active"),
             sample(url_b, "ferry_engine_transport_flows_reset_total"))
    if state[:3] == (0, 0, 0) and state[3] >= resets_before + 5:
        print(f"ok: {(now - start) / 1e6:.0f} ms after SIGKILL: no channel "
              "or flow at A, no flow at B, the peer reset all 5 flows")
        sys.exit(0)
    if now - start > 1_000_000_000:
        print(f"FAIL: 1 s after SIGKILL: channels live at A, flows at A and "
              f"B, resets at B: {state}")
        sys.exit(1)
    time.sleep(0.01)
PY
  fail "resources outlived the application by more than a second"
(($(flows a) == 0 && $(flows b) == 0)) || fail "ferryctl still lists flows"
echo "ok: ferryctl lists no flow on either host"
(($(metric "$url_a" ferry_channels_reclaimed_total) == 1)) ||
  fail "the channel was not counted as reclaimed"
echo "PASS: a killed application's channel and flows are gone within a second"

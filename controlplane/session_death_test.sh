#!/usr/bin/env bash
# An application's session is a gRPC stream with heartbeats (plus its
# channels' socket connections): when the process dies, however it dies,
# the kernel ends them, and when it hangs its heartbeats stop; either way
# ferryd reclaims what the application held. Here an application with a
# channel and five flows, requests in flight, is killed with SIGKILL;
# within a second every message its channel had accepted has been
# delivered, the flows have been closed in order (FIN: the peer counts
# them closed, not reset), and its session, flows and channel are gone on
# its host (through the Session and Flow APIs and the metrics). Then
# another is stopped with SIGSTOP: within a second of its heartbeat
# timeout (400 ms here) the same holds.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair sd 10.95.0 --stats_interval_s=1 --memory_mb=256 \
  --metrics_address=127.0.0.1:0 --session_heartbeat_timeout_ms=400
wait_for_line "$PAIR_LOG_A" "metrics at" 30
wait_for_line "$PAIR_LOG_B" "metrics at" 30
url_a=$(grep -m 1 -o "http://127.0.0.1:[0-9]*/metrics" "$PAIR_LOG_A")
url_b=$(grep -m 1 -o "http://127.0.0.1:[0-9]*/metrics" "$PAIR_LOG_B")
metric() {  # metric URL NAME: the first sample of NAME
  python3 -c 'import sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
for line in page.splitlines():
    name = line.split("{")[0].split(" ")[0]
    if name == sys.argv[2]:
        print(int(float(line.rsplit(" ", 1)[1])))
        break' "$1" "$2"
}
sessions_a() {  # how many sessions ferryctl lists at A
  "$FERRYCTL" --socket=$PAIR_GRPC_A --output=json session list |
    grep -c '"name"' || true
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
echo "ok: a client with 1 channel and 5 flows, carrying traffic"

# One poller (not a process per probe) watches both hosts' metrics every
# 10 ms from the moment of the signal: the channel at A, the flows at A and
# B, and B's count of flows closed in order. expect_gone SIGNAL LIMIT_MS
# FLOWS.
expect_gone() {
  local signal=$1 limit_ms=$2 n=$3 resets_before start
  resets_before=$(metric "$url_b" ferry_engine_transport_flows_closed_total)
  taken_before=$(metric "$url_a" ferry_channel_tx_messages_total)
  start=$(date +%s%N)
  kill -"$signal" "$client"
  python3 - "$url_a" "$url_b" "$start" "$resets_before" "$signal" "$limit_ms" "$n" \
    "$taken_before" <<'PY' ||
import sys, time, urllib.request
url_a, url_b = sys.argv[1], sys.argv[2]
start, resets_before, signal = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
limit_ms, n = int(sys.argv[6]), int(sys.argv[7])
# A channel counter may never go down, not even while its channel drains
# and waits to be reclaimed.
taken = int(sys.argv[8])
def sample(url, name):
    total = 0
    for line in urllib.request.urlopen(url, timeout=2).read().decode().splitlines():
        if line.split("{")[0].split(" ")[0] == name:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total
while True:
    now = time.time_ns()
    taken_now = sample(url_a, "ferry_channel_tx_messages_total")
    if taken_now < taken:
        print(f"FAIL: ferry_channel_tx_messages_total went down from {taken} "
              f"to {taken_now} after SIG{signal}")
        sys.exit(1)
    taken = taken_now
    state = (sample(url_a, "ferry_channels_live"),
             sample(url_a, "ferry_transport_flows_active"),
             sample(url_b, "ferry_transport_flows_active"),
             sample(url_b, "ferry_engine_transport_flows_closed_total"))
    if state[:3] == (0, 0, 0) and state[3] >= resets_before + n:
        print(f"ok: {(now - start) / 1e6:.0f} ms after SIG{signal}: no channel "
              f"or flow at A, no flow at B, all {n} flows closed in order; "
              f"channel counters never went down")
        sys.exit(0)
    if now - start > limit_ms * 1_000_000:
        print(f"FAIL: {limit_ms} ms after SIG{signal}: channels live at A, "
              f"flows at A and B, closed at B: {state}")
        sys.exit(1)
    time.sleep(0.01)
PY
    fail "resources outlived the application by more than the limit"
  # Every message the channel took from the application was acknowledged
  # by B, and B delivered exactly those (A's requests; B's answers to a
  # dead application were acknowledged and discarded).
  local taken acked delivered
  taken=$(metric "$url_a" ferry_channel_tx_messages_total)
  acked=$(metric "$url_a" ferry_engine_transport_messages_tx_total)
  delivered=$(metric "$url_b" ferry_engine_transport_messages_rx_total)
  ((taken > 0 && taken == acked && acked == delivered)) ||
    fail "after SIG$signal: A took $taken messages, B acknowledged $acked, B delivered $delivered"
  echo "ok: after SIG$signal every message A's channel took ($taken so far) was delivered at B"
  (($(metric "$url_a" ferry_engine_transport_linger_resets_total) == 0)) ||
    fail "flows were reset after the linger time"
}
expect_gone KILL 1000 5
(($(flows a) == 0 && $(flows b) == 0)) || fail "ferryctl still lists flows"
echo "ok: ferryctl lists no flow on either host"
(($(sessions_a) == 0)) || fail "ferryctl still lists the session"
echo "ok: ferryctl lists no session at A"
(($(metric "$url_a" ferry_channels_reclaimed_total) == 1)) ||
  fail "the channel was not counted as reclaimed"

# A hung application: stopped, it sends no heartbeat.
start_bg "$dir/client2.log" "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
  --remote=10.95.0.2:7000 --flows=2 --duration_s=120 --warmup_s=0
client=$LAST_PID
for _ in $(seq 200); do (($(flows a) == 2)) && break; sleep 0.05; done
(($(flows a) == 2 && $(sessions_a) == 1)) || fail "the second client did not come up"
expect_gone STOP 1400 2
(($(sessions_a) == 0)) || fail "the hung application's session is still listed"
grep -q "sent no heartbeat" "$PAIR_LOG_A" || fail "ferryd did not say why"
kill -KILL "$client"
echo "PASS: a killed or hung application's messages are delivered, its flows closed and its session, channel and flows gone within a second"

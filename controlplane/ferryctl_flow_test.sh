#!/usr/bin/env bash
# ferryctl's flow commands against live flows: two ferryd over memif, a
# msg_gen client with three flows. Lists them (table and JSON, one flow per
# page so that paging is exercised), gets one, refuses bad requests with
# the right gRPC code, closes one (the client hears it end) and resets
# another.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair fc 10.91.0 --stats_interval_s=1 --memory_mb=256 --metrics_address=
start_bg "$dir/server.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B --port=7000
wait_for_line "$dir/server.log" "listening" 30
start_bg "$dir/client.log" "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
  --remote=10.91.0.2:7000 --flows=3 --duration_s=60 --warmup_s=0
client=$LAST_PID

ctl() { "$FERRYCTL" --socket=$PAIR_GRPC_A "$@"; }
# expect_code CODE ARGS...: ferryctl exits 1 and names the gRPC code.
expect_code() {
  local code=$1 out
  shift
  if out=$(ctl "$@" 2>&1); then fail "ferryctl $* succeeded; expected $code"; fi
  [[ $out == *"$code"* ]] || fail "ferryctl $*: '$out' does not say $code"
  echo "ok: ferryctl $* -> $code"
}

for _ in $(seq 100); do
  n=$(ctl --output=json flow list | grep -c '"id"' || true)
  ((n == 3)) && break
  sleep 0.1
done
table=$(ctl flow list --page_size=1)
echo "$table"
(($(echo "$table" | grep -c ' established ') == 3)) ||
  fail "expected 3 established flows in the table"
json=$(ctl --output=json flow list --page_size=1 --state=established)
flow=$(echo "$json" | python3 -c 'import json, sys
flows = json.load(sys.stdin)["flows"]
assert len(flows) == 3, flows
assert all(f["remote_ip"] == "10.91.0.2" and f["remote_port"] == 7000 for f in flows)
assert all(f["rtt_us"] > 0 and int(f["messages_sent"]) > 0 for f in flows), flows
print(flows[0]["id"], flows[1]["id"])')
read -r first second <<<"$flow"
echo "ok: 3 flows listed as JSON over 3 pages; closing $first, resetting $second"
ctl flow get "$first" --nic=net_memif0
# grep -q reads from a here-string: on a pipe it could exit before ferryctl
# finished writing, and pipefail would count the SIGPIPE as a failure.
got=$(ctl --output=json flow get "$first" --nic=net_memif0)
grep -q '"state": "established"' <<<"$got" || fail "flow get: not established: $got"

expect_code NOT_FOUND flow get 99999 --nic=net_memif0
expect_code NOT_FOUND flow get "$first" --nic=net_nothing0
expect_code INVALID_ARGUMENT flow get "$first"
expect_code INVALID_ARGUMENT flow list --state=sleeping
expect_code INVALID_ARGUMENT flow list --remote_ip=10.91.0.999
expect_code INVALID_ARGUMENT flow list --page_size=5000
if ctl flow get nonsense --nic=net_memif0 2>/dev/null; then fail "bad id accepted"; fi

# A reset: the client hears its flow end (aborted) and stops with the reason.
ctl flow close "$second" --nic=net_memif0 --reset
for _ in $(seq 100); do kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$client" 2>/dev/null; then fail "the client did not notice the reset"; fi
grep -q "aborted" "$dir/client.log" || { cat "$dir/client.log"; fail "no reset reason"; }
echo "ok: a reset flow ends the client's run: $(grep -o 'error: .*' "$dir/client.log")"
expect_code NOT_FOUND flow close "$second" --nic=net_memif0 --reset
# Its other flows went with its channel.
for _ in $(seq 100); do
  n=$(ctl --output=json flow list | grep -c '"id"' || true)
  ((n == 0)) && break
  sleep 0.1
done
((n == 0)) || fail "$n flows left after the client went away"

# An orderly close of a new client's flow: it ends as closed.
start_bg "$dir/client2.log" "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
  --remote=10.91.0.2:7000 --duration_s=60 --warmup_s=0
client2=$LAST_PID
for _ in $(seq 100); do
  flow=$(ctl --output=json flow list | python3 -c 'import json, sys
flows = json.load(sys.stdin).get("flows", [])
print(flows[0]["id"] if flows else "")')
  [[ -n $flow ]] && break
  sleep 0.1
done
[[ -n $flow ]] || fail "the second client's flow never appeared"
ctl flow close "$flow" --nic=net_memif0
for _ in $(seq 100); do kill -0 "$client2" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$client2" 2>/dev/null; then fail "the client did not notice the close"; fi
grep -q "error: flow [0-9]*: closed" "$dir/client2.log" ||
  { cat "$dir/client2.log"; fail "no orderly close"; }
echo "ok: an orderly close ends the flow as closed"

# ferryctl as an application: listen on host B, connect from host A.
ctl_b() { "$FERRYCTL" --socket=$PAIR_GRPC_B "$@"; }
start_bg "$dir/listen.log" "$FERRYCTL" --socket=$PAIR_GRPC_B listen 7100 --count=3
wait_for_line "$dir/listen.log" "listening on port 7100" 30
sessions=$(ctl_b session list)
echo "$sessions"
grep -q ' ferryctl ' <<<"$sessions" || fail "session list: no ferryctl session"
ctl_b --output=json session list | python3 -c 'import json, sys
s = json.load(sys.stdin)["sessions"]
assert len(s) == 2 and all(len(x["channels"]) == 1 for x in s), s'  # + msg_gen
out=$(ctl connect 10.91.0.2:7100 --message=ping --count=2)
echo "$out"
[[ $out == *"connected flow"*"-> 10.91.0.2:7100"* && $out == *"reply 2: 4 bytes"*"ping"* ]] ||
  fail "connect: unexpected output"
ctl --output=json connect 10.91.0.2:7100 --message=pong | python3 -c 'import json, sys
c = json.load(sys.stdin)
assert c["replies"] == 1 and c["connect_us"] >= c["engine_us"] > 0, c
total, engine = c["connect_us"], c["engine_us"]
print(f"ok: connect {total:.0f} us, engine {engine:.0f} us")'
wait_for_line "$dir/listen.log" "stopped listening: 3 message" 10
expect_code "Connection refused" connect 10.91.0.2:7100
expect_code "not IPv4:PORT" connect 10.91.0.2
if "$FERRYCTL" --target=127.0.0.1:1 connect 10.91.0.2:7100 2>/dev/null; then
  fail "connect over TCP accepted"
fi
# Two listeners on one port: the second hears ALREADY_EXISTS' errno.
start_bg "$dir/listen2.log" "$FERRYCTL" --socket=$PAIR_GRPC_B listen 7200 --duration_ms=20000
wait_for_line "$dir/listen2.log" "listening on port 7200" 30
if out=$(ctl_b listen 7200 --count=1 2>&1); then fail "a second listener on 7200"; fi
[[ $out == *"Address already in use"* ]] || fail "second listener: $out"
# listen's JSON: one object per event.
start_bg "$dir/listen_json.log" "$FERRYCTL" --socket=$PAIR_GRPC_B --output=json \
  listen 7400 --count=1
wait_for_line "$dir/listen_json.log" '"event": "listening"' 30
ctl connect 10.91.0.2:7400 --message=json >/dev/null
wait_for_line "$dir/listen_json.log" '"event": "stopped"' 10
python3 - "$dir/listen_json.log" <<'PY' || fail "listen --output=json"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
kinds = [e["event"] for e in events]
assert kinds[0] == "listening" and kinds[-1] == "stopped", kinds
assert "accepted" in kinds, kinds
echoed = next(e for e in events if e["event"] == "echoed")
assert echoed["bytes"] == 4 and echoed["sent"], echoed
print("ok: listen --output=json:", kinds)
PY
echo "ok: listen, connect, session list and their errors"
# A figure, not a judgement: 10 connects' time in ferryd's control plane
# (the call's time less the engine's, handshake included) and the engine's.
start_bg "$dir/listen3.log" "$FERRYCTL" --socket=$PAIR_GRPC_B listen 7300 --duration_ms=60000
wait_for_line "$dir/listen3.log" "listening on port 7300" 30
for _ in $(seq 10); do
  ctl --output=json connect 10.91.0.2:7300 --message=
done | python3 -c 'import json, re, statistics, sys
runs = [json.loads(m) for m in re.findall(r"\{[^}]*\}", sys.stdin.read())]
assert len(runs) == 10, runs
over = sorted(r["connect_us"] - r["engine_us"] for r in runs)
eng = sorted(r["engine_us"] for r in runs)
bare = sorted(r["bare_call_us"] for r in runs)
inside = sorted(r["ferryd_us"] - r["engine_us"] for r in runs)
print(f"figure: connect control-plane overhead median {statistics.median(over):.0f} us "
      f"(max {over[-1]:.0f}), of which in ferryd {statistics.median(inside):.0f} us; "
      f"a bare API call median {statistics.median(bare):.0f} us; "
      f"engine incl. handshake median {statistics.median(eng):.0f} us")'
echo "PASS: ferryctl lists, gets, closes and resets flows and refuses bad requests"

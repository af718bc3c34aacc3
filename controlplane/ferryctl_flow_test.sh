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
ctl --output=json flow get "$first" --nic=net_memif0 | grep -q '"state": "established"' ||
  fail "flow get: not established"

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
echo "PASS: ferryctl lists, gets, closes and resets flows and refuses bad requests"

#!/usr/bin/env bash
# What encryption costs end to end: a ferryd pair over memif with
# --encryption=required and with it off, taking turns, msg_gen 1 KiB at
# window 1 (P50) and window 32 (RPC/s), a fixed number of round trips per
# run. Prints each run and the medians side by side.
#
#   bench/encryption_cost.sh [FERRYD MSG_GEN] [RUNS]
# Defaults: the builds under bazel-bin (bazel build -c opt
# //controlplane:ferryd //bench:msg_gen), 3 runs per mode.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERRYD=$(realpath "${1:-bazel-bin/controlplane/ferryd}")
export MSG_GEN=$(realpath "${2:-bazel-bin/bench/msg_gen}")
runs=${3:-3}
source deploy/testbed/ferryd_test_lib.sh
work=$(mktemp -d /tmp/ferry-encryption-cost.XXXXXX)
trap 'testbed_cleanup; rm -rf "$work"' EXIT
chmod 700 "$work"
# Both ferryd take the same node key (they run on one host): what is
# measured is the handshake and the sealing, not who trusts whom.
key=$("$FERRYD" --node_key_file="$work/node.key" --print_node_key)
echo "$key bench" >"$work/trusted"

# run MODE WINDOW MESSAGES: prints "RPC/s P50_us" (in a subshell: its
# ferryd pair goes with it).
run() {
  local mode=$1 window=$2 messages=$3
  export TEST_TMPDIR=$work/run
  rm -rf "$TEST_TMPDIR" && mkdir -p "$TEST_TMPDIR"
  ferryd_pair ec$RANDOM 10.94.0 --metrics_address= --encryption="$mode" \
    --node_key_file="$work/node.key" --trusted_peers_file="$work/trusted" \
    >/dev/null
  msg_gen_server "$TEST_TMPDIR/server.log" "$PAIR_GRPC_B" 7801 --size=1024
  "$MSG_GEN" --role=client --socket="$PAIR_GRPC_A" --remote=10.94.0.2:7801 \
    --size=1024 --window="$window" --messages="$messages" --warmup_s=1 \
    --quiet --json_out="$TEST_TMPDIR/r.json" >"$TEST_TMPDIR/client.log" 2>&1 ||
    fail "msg_gen failed ($mode, window $window)"
  /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
r = r["results"]
print("%.0f %.1f" % (r["rpc_per_s"], r["p50_us"]))' "$TEST_TMPDIR/r.json"
  testbed_cleanup
}

declare -A results
for window in 1 32; do
  messages=$((window == 1 ? ${EC_MESSAGES_W1:-30000} : ${EC_MESSAGES_W32:-200000}))
  for i in $(seq "$runs"); do
    for mode in required off; do
      r=$(run "$mode" "$window" "$messages")
      echo "window $window $mode run $i: RPC/s P50_us = $r"
      results[$mode,$window]+="$r;"
    done
  done
done
/usr/bin/python3 - "${results[required,1]}" "${results[off,1]}" \
  "${results[required,32]}" "${results[off,32]}" <<'EOF'
import statistics, sys
def parse(s):
    rows = [tuple(map(float, x.split())) for x in s.split(";") if x]
    return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
enc1, off1, enc32, off32 = map(parse, sys.argv[1:5])
print("1 KiB over memif, medians      required      off     ratio")
print(f"window 1  P50 (us)          {enc1[1]:9.1f} {off1[1]:8.1f}   {enc1[1] - off1[1]:+.1f} us")
print(f"window 32 RPC/s             {enc32[0]:9.0f} {off32[0]:8.0f}   {enc32[0] / off32[0]:.2f}x")
EOF

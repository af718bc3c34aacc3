#!/usr/bin/env bash
# What encryption costs end to end: a ferryd pair over memif with
# --encryption=required and with it off, taking turns, msg_gen 1 KiB at
# window 1 (P50) and window 32 (RPC/s), a fixed number of round trips per
# run. Prints each run, the medians side by side, and the median of the
# pairwise ratios (each run against the other mode's run beside it:
# robust to the VM's speed drifting during the sitting).
#
# Each emulated host runs on its own CPU (pin_pair_hosts): host A's engine
# and client on the first of EC_CPUS, host B's engine and server on the
# second. Unpinned (EC_CPUS=""), a window-32 run's rate follows the
# scheduler (runs of one build a minute apart differ by up to 1.9x on a
# 2-CPU VM) more than the cipher.
#
#   [EC_CPUS="0 1"] bench/encryption_cost.sh [FERRYD MSG_GEN] [RUNS]
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

pin_pair_hosts "${EC_CPUS-$(default_host_cpus)}"
if ((${#PIN_A[@]} > 0)); then
  echo "each host on its own CPU: host A on CPU ${PIN_A[2]}, host B on CPU ${PIN_B[2]}"
else
  echo "not pinned: engines and applications anywhere"
fi

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
  "${PIN_A[@]}" "$MSG_GEN" --role=client --socket="$PAIR_GRPC_A" --remote=10.94.0.2:7801 \
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
def rows(s):
    return [tuple(map(float, x.split())) for x in s.split(";") if x]
enc1, off1, enc32, off32 = map(rows, sys.argv[1:5])
def med(rs, i):
    return statistics.median(r[i] for r in rs)
# Run i of each mode ran back to back, so their ratio (or difference) is
# taken while the VM's speed was about the same (as compare_builds.sh).
p50_pairs = statistics.median(e[1] - o[1] for e, o in zip(enc1, off1))
rate_pairs = statistics.median(e[0] / o[0] for e, o in zip(enc32, off32))
p50_enc, p50_off = med(enc1, 1), med(off1, 1)
rate_enc, rate_off = med(enc32, 0), med(off32, 0)
print("1 KiB over memif        required      off   medians   median of pairs")
print(f"window 1  P50 (us)    {p50_enc:9.1f} {p50_off:8.1f}  "
      f"{p50_enc - p50_off:+6.1f} us   {p50_pairs:+.1f} us")
print(f"window 32 RPC/s       {rate_enc:9.0f} {rate_off:8.0f}  "
      f"{rate_enc / rate_off:6.2f}x      {rate_pairs:.2f}x")
EOF

#!/usr/bin/env bash
# Old against new build, side by side in one sitting: two ferryd joined by
# memif and msg_gen request/response of SIZE bytes (default 1 KiB) at
# WINDOW (default 32), the two builds taking turns PAIRS times; prints each
# pair and the medians of the new/old ratios (RPC/s, P99). The VM's speed
# drifts between runs, so only ratios of neighbouring runs mean anything.
#
#   bench/compare_builds.sh OLD_DIR NEW_DIR [PAIRS] [WINDOW] [SIZE]
#
# OLD_FERRYD_ARGS and NEW_FERRYD_ARGS (environment) add flags to each
# build's two ferryd, e.g. NEW_FERRYD_ARGS=--tx_zero_copy_min_bytes=1024.
#
# Each DIR holds a ferryd and a msg_gen (e.g. copied from bazel-bin after
# `bazel build -c opt //controlplane:ferryd //bench:msg_gen` at each
# commit). Run as root from the workspace root.
set -euo pipefail
old=$(realpath "$1")
new=$(realpath "$2")
pairs=${3:-8}
window=${4:-32}
size=${5:-1024}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

one_run() {  # one_run DIR JSON FERRYD_ARGS
  FERRYD=$1/ferryd MSG_GEN=$1/msg_gen TEST_TMPDIR=$(mktemp -d -p "$out") \
    EXTRA=$3 bash -c '
    set -euo pipefail
    source deploy/testbed/ferryd_test_lib.sh
    trap testbed_cleanup EXIT
    ferryd_pair cmp 10.86.0 --memory_mb=256 --metrics_address= \
      --stats_interval_s=0 $EXTRA >/dev/null
    start_bg "$TEST_TMPDIR/server.log" "$MSG_GEN" --role=server \
      --socket=$PAIR_GRPC_B --port=7000 --size='"$size"'
    wait_for_line "$TEST_TMPDIR/server.log" "listening" 30
    "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --remote=10.86.0.2:7000 \
      --size='"$size"' --window='"$window"' --duration_s=4 --warmup_s=1 --quiet \
      --json_out="$0" >/dev/null' "$2"
}

for i in $(seq "$pairs"); do
  one_run "$old" "$out/old_$i.json" "${OLD_FERRYD_ARGS:-}"
  one_run "$new" "$out/new_$i.json" "${NEW_FERRYD_ARGS:-}"
done
/usr/bin/python3 - "$out" "$pairs" <<'PY'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
rpc, p99 = [], []
for i in range(1, pairs + 1):
    o = json.load(open(f"{out}/old_{i}.json"))["results"]
    n = json.load(open(f"{out}/new_{i}.json"))["results"]
    rpc.append(n["rpc_per_s"] / o["rpc_per_s"])
    p99.append(n["p99_us"] / o["p99_us"])
    print(f"pair {i}: old {o['rpc_per_s']:.0f} RPC/s P99 {o['p99_us']:.1f} us, "
          f"new {n['rpc_per_s']:.0f} RPC/s P99 {n['p99_us']:.1f} us")
print(f"median new/old over {pairs} pairs: RPC/s {statistics.median(rpc):.3f}, "
      f"P99 {statistics.median(p99):.3f}")
PY

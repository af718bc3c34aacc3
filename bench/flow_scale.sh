#!/usr/bin/env bash
# Flow scale on one engine: msg_gen at window 1 per flow with 1, 10, 100,
# 1,000 and 10,000 flows on one channel, then 10,000 flows spread over 64
# channels (64 processes), between two ferryd (memif, one engine each), in
# one sitting. Prints RPC/s, P50, P99.9 and max per run, 10,000 flows'
# rate as a fraction of the best, how much longer than the median round
# trip the slowest one took, and client-side ferryd's peak resident
# memory after each run (flow state and the channel buffers it touched).
# Each emulated host runs on a CPU of its own (pin_pair_hosts in
# ferryd_test_lib.sh): host A's engine and clients on the first of
# FS_CPUS, host B's engine and server on the second; FS_CPUS="" pins
# nothing.
#
#   sudo [FS_CPUS="0 1"] bench/flow_scale.sh bazel-bin/controlplane/ferryd \
#     bazel-bin/bench/msg_gen [SIZE (1024)] [SECONDS (5)]
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
size=${3:-1024}
seconds=${4:-5}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
dir=$(mktemp -d /tmp/ferry-flow-scale.XXXXXX)
export TEST_TMPDIR=$dir
pin_pair_hosts "${FS_CPUS-$(default_host_cpus)}"
ferryd_pair fscale 10.96.0 --memory_mb=1024 --metrics_address= \
  --channel_pages=small
# The server's channel holds a request and a response of each of the
# 10,000 flows (ferryd's default channel holds 8,192 buffers).
msg_gen_server "$dir/server.log" $PAIR_GRPC_B 7801 --size=$size \
  --channel_buffers=32768
client() {  # client JSON ARGS...
  local json=$1
  shift
  "${PIN_A[@]}" "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --remote=10.96.0.2:7801 \
    --size=$size --window=1 --duration_s=$seconds --warmup_s=2 --quiet \
    --json_out="$json" "$@"
}
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$PAIR_PID_A/status"; }
for f in 1 10 100 1000 10000; do
  client "$dir/f$f.json" --flows=$f >"$dir/f$f.log" 2>&1 ||
    fail "$f flows: $(tail -1 "$dir/f$f.log")"
  peak_rss_kib >"$dir/rss$f"
done
pids=()
for i in $(seq 64); do
  # 10,000 flows over 64 processes: 16 with 157 flows, 48 with 156.
  client "$dir/c$i.json" --flows=$((i <= 16 ? 157 : 156)) >"$dir/c$i.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a 64-channel client failed"; done
/usr/bin/python3 - "$dir" <<'PY'
import glob, json, sys
d = sys.argv[1]
def load(path):
    return json.load(open(path))["results"]
rows = [(f"{f} flows, 1 channel", load(f"{d}/f{f}.json"))
        for f in (1, 10, 100, 1000, 10000)]
many = [load(p) for p in glob.glob(f"{d}/c*.json")]
rows.append(("10000 flows, 64 channels", {
    "rpc_per_s": sum(r["rpc_per_s"] for r in many),
    "p50_us": sorted(r["p50_us"] for r in many)[len(many) // 2],
    "p999_us": max(r["p999_us"] for r in many),
    "max_us": max(r["max_us"] for r in many)}))
print(f"{'':26} {'RPC/s':>9} {'P50':>10} {'P99.9':>10} {'max':>10}  max/P50")
for name, r in rows:
    print(f"{name:26} {r['rpc_per_s'] / 1e3:8.1f}K {r['p50_us']:8.1f}us "
          f"{r['p999_us']:8.1f}us {r['max_us']:8.1f}us  {r['max_us'] / r['p50_us']:6.1f}x")
best = max(r["rpc_per_s"] for _, r in rows[:4])
for name, r in rows[4:]:
    print(f"{name}: {r['rpc_per_s'] / best:.2f}x the best of 1-1,000 flows")
rss = {f: int(open(f"{d}/rss{f}").read()) for f in (1, 10, 100, 1000, 10000)}
print("ferryd A peak resident after each run: " +
      ", ".join(f"{f} flows {rss[f] / 1024:.0f} MiB" for f in rss) +
      f"; {(rss[10000] - rss[1000]) * 1024 / 9000 / 1024:.1f} KiB more per "
      "flow from 1,000 to 10,000")
PY
rm -rf "$dir"

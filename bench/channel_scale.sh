#!/usr/bin/env bash
# Many applications against one: N msg_gen processes, each with its own
# channel and one flow at window 1, against one msg_gen process carrying N
# flows at window 1 on one channel, between two ferryd (memif, one engine
# each), in one sitting. Prints both rates and their ratio, the client
# processes' context switches per round trip, and ferryd's resident memory
# with the N channels attached. Each emulated host runs on a CPU of its own
# (pin_pair_hosts in ferryd_test_lib.sh): host A's engine and every client
# on the first of CS_CPUS, host B's engine and server on the second;
# CS_CPUS="" pins nothing.
#
#   sudo [CS_CPUS="0 1"] bench/channel_scale.sh bazel-bin/controlplane/ferryd \
#     bazel-bin/bench/msg_gen [N (64)] [SIZE (64)]
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
n=${3:-64}
size=${4:-64}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
dir=$(mktemp -d /tmp/ferry-channel-scale.XXXXXX)
export TEST_TMPDIR=$dir
pin_pair_hosts "${CS_CPUS-$(default_host_cpus)}"
ferryd_pair cscale 10.99.0 --memory_mb=512 --metrics_address=127.0.0.1:0 \
  --channel_pages=small
url_a=$(metrics_url "$PAIR_LOG_A")
msg_gen_server "$dir/server.log" $PAIR_GRPC_B 7701 --size=$size
client() {  # client JSON ARGS...
  local json=$1
  shift
  "${PIN_A[@]}" "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --remote=10.99.0.2:7701 \
    --size=$size --window=1 --duration_s=5 --warmup_s=1 --quiet \
    --json_out="$json" "$@"
}
rate() { grep -o '"rpc_per_s": [0-9.]*' "$1" | cut -d' ' -f2; }
# Context switches of the client processes per round trip (a switch costs
# microseconds on a VM, and N processes cannot share a few cores without
# them): the round trips and the switches of each JSON FILE.
switches_per_rpc() {  # switches_per_rpc FILE...
  /usr/bin/python3 -c '
import json, sys
rows = [json.load(open(p))["results"] for p in sys.argv[1:]]
trips = sum(r["round_trips"] for r in rows)
switches = sum(r["voluntary_switches"] + r["involuntary_switches"] for r in rows)
print("%.2f" % (switches / trips if trips else 0))' "$@"
}

client "$dir/one.json" --flows=$n >"$dir/one.log" 2>&1 || fail "one process failed"
one=$(rate "$dir/one.json")
pids=()
for i in $(seq "$n"); do
  client "$dir/many_$i.json" >"$dir/many_$i.log" 2>&1 &
  pids+=($!)
done
sleep 3
metrics_scrape "$url_a" >"$dir/page.txt"
rss=$(($(metric_sum process_resident_memory_bytes "$dir/page.txt") / 1048576))
live=$(metric_sum ferry_channels_live "$dir/page.txt")
for p in "${pids[@]}"; do wait "$p" || fail "a client process failed"; done
many=$(for i in $(seq "$n"); do rate "$dir/many_$i.json"; done |
  awk '{ s += $1 } END { printf "%.0f", s }')
one_switches=$(switches_per_rpc "$dir/one.json")
many_switches=$(switches_per_rpc "$dir"/many_*.json)
/usr/bin/python3 - "$n" "$one" "$many" "$rss" "$live" "$one_switches" \
  "$many_switches" <<'PY'
import sys
n, one, many, rss, live, one_sw, many_sw = sys.argv[1:]
one, many = float(one), float(many)
print(f"one process, {n} flows on one channel: {one / 1000:.1f}K RPC/s, "
      f"{one_sw} context switches per round trip")
print(f"{n} processes, a channel each:         {many / 1000:.1f}K RPC/s "
      f"({many / one:.2f}x), {many_sw} context switches per round trip")
print(f"ferryd A with {live} channels attached: {rss} MiB resident")
PY
rm -rf "$dir"

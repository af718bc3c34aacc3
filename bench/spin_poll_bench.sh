#!/usr/bin/env bash
# Spin-polling applications on shared cores: request/response over the
# local two-host testbed (memif), three kinds of program taking turns in
# one sitting, for each window:
#   native blocking  msg_gen (ferry_recv_wait), client and server
#   native spinning  msg_gen --spin (ferry_recv in a loop that never yields)
#   machnet spinning client/compat/machnet_style/msg_gen.cc, built with
#                    Machnet's compile line against the SDK tree, spinning
#                    on machnet_recv without ever yielding
# and a table of median RPC/s and P50 with each spinning kind's ratio to
# the native blocking loop. A measurement, not a test: nothing is judged.
#
#   sudo bench/spin_poll_bench.sh [--rounds=N] [--seconds=S] [--size=BYTES]
#       [--windows=1,32] [--wire=memif|af_packet]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=5 seconds=3 size=1024 windows=1,32 wire=memif
for arg in "$@"; do
  case $arg in
    --rounds=*) rounds=${arg#*=} ;;
    --seconds=*) seconds=${arg#*=} ;;
    --size=*) size=${arg#*=} ;;
    --windows=*) windows=${arg#*=} ;;
    --wire=*) wire=${arg#*=} ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

bazel build -c opt //controlplane:ferryd //bench:msg_gen //client:sdk
work=$(mktemp -d /tmp/ferry-spin-bench.XXXXXX)
sdk=$work/sdk
mkdir -p "$sdk"
tar -C "$sdk" -xf bazel-bin/client/ferry-client-sdk.tar
# Machnet's compile line (the SDK's lib/ is not on the loader's path).
g++ -O2 -I"$sdk/include" client/compat/machnet_style/msg_gen.cc \
  -L"$sdk/lib" -lmachnet_shim -lgflags -o "$work/machnet_msg_gen"
cp bazel-bin/bench/msg_gen "$work/msg_gen"
export LD_LIBRARY_PATH=$sdk/lib

FERRYD=bazel-bin/controlplane/ferryd MSG_GEN=$work/msg_gen \
  deploy/testbed/two_hosts.sh up --wire="$wire"
trap 'kill $(jobs -p) 2>/dev/null || true; deploy/testbed/two_hosts.sh down; rm -rf "$work"' EXIT
ON_A=(deploy/testbed/two_hosts.sh exec a env FERRY_SOCKET=/run/ferry-testbed/a/ferryd.sock)
ON_B=(deploy/testbed/two_hosts.sh exec b env FERRY_SOCKET=/run/ferry-testbed/b/ferryd.sock)

# run KIND WINDOW: one client run against a fresh server of the same kind;
# prints "RPC/S P50_US".
run() {
  # A log of its own: the previous server's "listening" must not count.
  local kind=$1 window=$2 log server
  log=$(mktemp "$work/server.XXXXXX")
  case $kind in
    native_blocking | native_spinning)
      local spin=()
      [[ $kind == native_spinning ]] && spin=(--spin)
      "${ON_B[@]}" "$work/msg_gen" --role=server --socket=/run/ferry-testbed/b/ferryd.sock --port=7000 --size="$size" \
        "${spin[@]}" >"$log" 2>&1 &
      server=$!
      for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
      "${ON_A[@]}" "$work/msg_gen" --role=client --socket=/run/ferry-testbed/a/ferryd.sock --remote=10.70.0.2:7000 \
        --size="$size" --window="$window" --duration_s="$seconds" \
        --warmup_s=0.5 --quiet "${spin[@]}" --json_out="$work/run.json" \
        >"$work/client.log" 2>&1 ||
        { echo "$kind client failed:" >&2; tail -n 3 "$work/client.log" >&2;
          [[ -n ${DEBUG:-} ]] && { tail -n 8 "$log"; grep -v stats /run/ferry-testbed/b/ferryd.log | tail -n 8; } >&2; }
      /usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
r = r["results"]
print("%.0f %.1f" % (r["rpc_per_s"], r["p50_us"]))' "$work/run.json"
      ;;
    machnet_spinning)
      "${ON_B[@]}" "$work/machnet_msg_gen" --local_ip=10.70.0.2 \
        --local_port=888 >"$log" 2>&1 &
      server=$!
      for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
      "${ON_A[@]}" "$work/machnet_msg_gen" --local_ip=10.70.0.1 \
        --remote_ip=10.70.0.2 --remote_port=888 --active_generator \
        --tx_msg_size="$size" --msg_window="$window" --duration_s="$seconds" \
        --warmup_s=0.5 2>/dev/null |
        sed -n 's/^msg_gen: RPC\/s \([0-9]*\) p50_us \([0-9.]*\) .*/\1 \2/p'
      ;;
  esac
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  # The server's ferryd resets the flow when it goes: let it settle.
  sleep 0.3
}

kinds=(${KINDS:-native_blocking native_spinning machnet_spinning})
echo "size $size B, $rounds rounds of ${seconds} s per kind and window, $wire wire, kinds taking turns"
declare -A rps p50
for window in ${windows//,/ }; do
  for round in $(seq "$rounds"); do
    # Who goes first rotates, so that a drift favours none.
    for i in "${!kinds[@]}"; do
      kind=${kinds[$(((i + round) % ${#kinds[@]}))]}
      # $(...) waits for the whole run, the server's exit included.
      result=$(run "$kind" "$window")
      read -r r p <<<"$result" || { r=0 p=0; }
      echo "window $window round $round $kind: ${r:-0} RPC/s, P50 ${p:-0} us"
      rps[$kind,$window]+="${r:-0} "
      p50[$kind,$window]+="${p:-0} "
    done
  done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "| window | kind | RPC/s (median) | P50 us (median) | RPC/s vs native blocking | P50 vs native blocking |"
echo "|---|---|---|---|---|---|"
for window in ${windows//,/ }; do
  base_r=$(median "${rps[native_blocking,$window]}")
  base_p=$(median "${p50[native_blocking,$window]}")
  for kind in "${kinds[@]}"; do
    r=$(median "${rps[$kind,$window]}")
    p=$(median "${p50[$kind,$window]}")
    awk -v w="$window" -v k="$kind" -v r="$r" -v p="$p" -v br="$base_r" -v bp="$base_p" \
      'BEGIN { printf "| %s | %s | %.0f | %.1f | %.2fx | %.2fx |\n", w, k, r, p, (br > 0 ? r / br : 0), (bp > 0 ? p / bp : 0) }'
  done
done

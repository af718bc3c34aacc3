#!/usr/bin/env bash
# Machnet applications on Ferry: a hello-world server and client written
# only against machnet.h exchange messages through two ferryd (memif); then
# msg_gen's request/response loop written against machnet.h runs next to
# native msg_gen against the same server, taking turns, and the rates are
# printed with their ratios (a figure, not a judgement: timings on a shared
# machine).
set -euo pipefail
FERRYD=$(realpath "$1")
HELLO_SERVER=$(realpath "$2")
HELLO_CLIENT=$(realpath "$3")
MACHNET_RPC=$(realpath "$4")
MSG_GEN=$(realpath "$5")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair mc 10.93.0 --stats_interval_s=1 --memory_mb=256 --metrics_address=

FERRY_SOCKET=$PAIR_GRPC_B start_bg "$dir/hello_server.log" \
  "$HELLO_SERVER" 10.93.0.2 888
wait_for_line "$dir/hello_server.log" "listening" 30
FERRY_SOCKET=$PAIR_GRPC_A timeout 60 "$HELLO_CLIENT" \
  10.93.0.1 10.93.0.2 888 5 | tee "$dir/hello_client.log" ||
  fail "the Machnet-style client failed"
(($(grep -c '^answer: "hello back: Hello World! #' "$dir/hello_client.log") == 5)) ||
  fail "expected 5 answers"
wait_for_line "$dir/hello_server.log" 'received "Hello World! #4" from 10.93.0.1' 10
echo "ok: hello world through machnet.h, 5 round trips"
# Machnet's errors: an unparsable address is -EINVAL, a port nobody
# listens on fails the connect.
if FERRY_SOCKET=$PAIR_GRPC_A "$HELLO_CLIENT" 10.93.0.1 10.93.0.2 999 \
  >/dev/null 2>&1; then fail "a connect to a closed port succeeded"; fi
echo "ok: a connect to a port nobody listens on fails"

start_bg "$dir/msg_gen_server.log" "$MSG_GEN" --role=server \
  --socket=$PAIR_GRPC_B --port=7000 --size=1024 --spin
wait_for_line "$dir/msg_gen_server.log" "listening" 30
# This machine's rate drifts by tens of percent between seconds, so the two
# loops take turns: five pairs of short runs per window, and the figure is
# the median of the pairs' ratios.
seconds=${MACHNET_RPC_SECONDS:-1.5}
for window in 1 32; do
  ratios=()
  for pair in 1 2 3 4 5; do
    # Both poll and yield when idle (machnet.h has no blocking receive).
    # Who goes first alternates, so that a drift favours neither.
    run_native() {
      timeout 60 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
        --remote=10.93.0.2:7000 --size=1024 --window=$window --duration_s="$seconds" \
        --warmup_s=0 --quiet --spin | sed -n 's/.*: \([0-9]*\) RPC\/s.*/\1/p'
    }
    run_compat() {
      FERRY_SOCKET=$PAIR_GRPC_A timeout 60 "$MACHNET_RPC" \
        10.93.0.1 10.93.0.2 7000 1024 $window "$seconds" |
        sed -n 's/.*: \([0-9]*\) RPC\/s.*/\1/p'
    }
    if ((pair % 2)); then
      native=$(run_native) compat=$(run_compat)
    else
      compat=$(run_compat) native=$(run_native)
    fi
    [[ -n $native && -n $compat && $native -gt 0 && $compat -gt 0 ]] ||
      fail "window $window: no rate (native '$native', compat '$compat')"
    ratio=$(awk -v a="$compat" -v b="$native" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    echo "window $window pair $pair: native $native RPC/s, machnet.h $compat RPC/s, ratio $ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 3p)
  echo "figure: window $window: machnet.h / native RPC/s, median of 5 pairs: $median"
done
echo "PASS: Machnet applications run on Ferry"

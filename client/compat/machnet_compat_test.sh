#!/usr/bin/env bash
# Machnet applications on Ferry, as Machnet's users write and build them:
#   1. a hello-world server and client written only against machnet.h
#      (built by Bazel) exchange messages through two ferryd (memif);
#   2. a C and a C++ program that use every public name of Machnet's header
#      (client/compat/machnet_style/every_name.c[c]) build with Machnet's
#      compile line against the SDK tree (//client:sdk) and run an exchange;
#   3. Machnet-style msg_gen (C++, gflags, spinning on machnet_recv without
#      ever yielding) measures request/response next to native msg_gen in
#      its blocking loop, taking turns. The figures are printed, not judged
#      (timings on a shared machine; bench/spin_poll_bench.sh measures).
set -euo pipefail
FERRYD=$(realpath "$1")
HELLO_SERVER=$(realpath "$2")
HELLO_CLIENT=$(realpath "$3")
MSG_GEN=$(realpath "$4")
SDK_TAR=$(realpath "$5")
STYLE=$(dirname "$(realpath "$6")")  # client/compat/machnet_style
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

# The SDK tree, as deploy/install-client.sh lays it out under a prefix.
sdk=$dir/sdk
rm -rf "$sdk" && mkdir -p "$sdk" && tar -C "$sdk" -xf "$SDK_TAR"
# Under --config=asan the SDK's libraries are instrumented.
preload_sanitizer_runtime "$sdk/lib/libmachnet_shim.so"
# Machnet's compile line: -I<include dir> ... -lmachnet_shim (and -L for a
# library directory the linker does not search by itself).
cc -I"$sdk/include" "$STYLE/every_name.c" -L"$sdk/lib" -lmachnet_shim \
  -o "$dir/every_name" || fail "every_name.c does not build with Machnet's line"
g++ -I"$sdk/include" "$STYLE/every_name.cc" -L"$sdk/lib" -lmachnet_shim \
  -o "$dir/every_name_cc" || fail "every_name.cc does not build with Machnet's line"
g++ -O2 -I"$sdk/include" "$STYLE/msg_gen.cc" -L"$sdk/lib" -lmachnet_shim \
  -lgflags -o "$dir/machnet_msg_gen" || fail "msg_gen.cc does not build with Machnet's line"
echo "ok: every_name.c, every_name.cc and msg_gen.cc build with Machnet's compile line"
# The native library's pkg-config file works from the same tree.
cat >"$dir/native.c" <<'C'
#include <client/ferry.h>
int main(void) { return ferry_status_errno(0); }
C
# shellcheck disable=SC2046
cc "$dir/native.c" $(PKG_CONFIG_PATH=$sdk/lib/pkgconfig pkg-config --cflags --libs ferry) \
  -o "$dir/native" && "$dir/native" || fail "pkg-config ferry does not build and run a program"
echo "ok: pkg-config --cflags --libs ferry builds and runs a native program"
export LD_LIBRARY_PATH=$sdk/lib

for program in every_name every_name_cc; do
  FERRY_SOCKET=$PAIR_GRPC_B start_bg "$dir/every_server.log" \
    "$dir/every_name" 10.93.0.2 890
  wait_for_line "$dir/every_server.log" "listening" 30
  FERRY_SOCKET=$PAIR_GRPC_A timeout 60 "$dir/$program" 10.93.0.1 890 10.93.0.2 \
    >"$dir/$program.log" 2>&1 || {
    cat "$dir/$program.log"
    tail -n 15 "$PAIR_LOG_A" "$PAIR_LOG_B"  # why, seen once in a busy run
    fail "$program failed"
  }
  grep -q "^$program: ok" "$dir/$program.log" || fail "$program did not finish"
  wait_for_line "$dir/every_server.log" "answered" 10
  wait "$LAST_PID" 2>/dev/null || fail "every_name's server failed: $(cat "$dir/every_server.log")"
  echo "ok: $program: every public name of machnet.h, through two ferryd"
done

# Spinning Machnet-style msg_gen next to native msg_gen's blocking loop.
seconds=${MACHNET_RPC_SECONDS:-1.5}
native_pair() {  # WINDOW: RPC/s of native msg_gen, blocking both sides
  start_bg "$dir/native_server.log" "$MSG_GEN" --role=server \
    --socket=$PAIR_GRPC_B --port=7000 --size=1024
  local server=$LAST_PID
  wait_for_line "$dir/native_server.log" "listening" 30
  timeout 60 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A \
    --remote=10.93.0.2:7000 --size=1024 --window=$1 --duration_s="$seconds" \
    --warmup_s=0.3 --quiet | sed -n 's/.*: \([0-9]*\) RPC\/s.*/\1/p'
  kill "$server"
  wait "$server" 2>/dev/null || true
}
machnet_pair() {  # WINDOW: RPC/s of Machnet-style msg_gen, spinning
  FERRY_SOCKET=$PAIR_GRPC_B start_bg "$dir/machnet_server.log" \
    "$dir/machnet_msg_gen" --local_ip=10.93.0.2 --local_port=891
  local server=$LAST_PID
  wait_for_line "$dir/machnet_server.log" "listening" 30
  FERRY_SOCKET=$PAIR_GRPC_A timeout 60 "$dir/machnet_msg_gen" \
    --local_ip=10.93.0.1 --remote_ip=10.93.0.2 --remote_port=891 --active_generator \
    --tx_msg_size=1024 --msg_window=$1 --duration_s="$seconds" --warmup_s=0.3 |
    sed -n 's/^msg_gen: RPC\/s \([0-9]*\) .*/\1/p'
  kill "$server"
  wait "$server" 2>/dev/null || true
}
for window in 1 32; do
  ratios=()
  for pair in 1 2 3; do
    # Who goes first alternates, so that a drift favours neither.
    if ((pair % 2)); then
      native=$(native_pair $window) machnet=$(machnet_pair $window)
    else
      machnet=$(machnet_pair $window) native=$(native_pair $window)
    fi
    [[ -n $native && -n $machnet && $native -gt 0 && $machnet -gt 0 ]] ||
      fail "window $window: no rate (native '$native', Machnet-style '$machnet')"
    ratio=$(awk -v a="$machnet" -v b="$native" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    echo "window $window pair $pair: native blocking $native RPC/s, Machnet-style spinning $machnet RPC/s, ratio $ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 2p)
  echo "figure: window $window: Machnet-style spinning / native blocking RPC/s, median of 3 pairs: $median"
done
echo "PASS: Machnet applications build with Machnet's line and run on Ferry"

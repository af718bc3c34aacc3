#!/usr/bin/env bash
# A Machnet application that sends and exits at once, or is killed with
# SIGKILL right after its last machnet_send returned: every message that
# machnet_send accepted reaches the peer, byte for byte and in order, over
# a memif wire and over a veth driven by net_af_packet. Each run sends 1 to
# 1000 messages of 1 B to 8 MiB (client/compat/machnet_style/
# send_and_exit.cc, built here with Machnet's compile line against the
# SDK tree). Then a peer that has stopped reading: the sender's ferryd gives
# up after the session's linger time (FERRY_LINGER_MS=1000), resets the
# flow and counts it, and keeps serving.
#
#   exit_after_send_test.sh FERRYD SDK_TAR SEND_AND_EXIT_CC FERRYCTL
# $EXIT_AFTER_SEND_RUNS: runs per variant and wire (default 12).
set -euo pipefail
FERRYD=$(realpath "$1")
SDK_TAR=$(realpath "$2")
SOURCE=$(realpath "$3")
FERRYCTL=$(realpath "$4")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
# 12 runs per variant and wire; 8 under AddressSanitizer (the test
# command's second pass, where each run of up to 8 MiB is 2-3x slower).
# EXIT_AFTER_SEND_RUNS=100 by hand for a longer hunt.
runs=${EXIT_AFTER_SEND_RUNS:-12}
if [[ -z ${EXIT_AFTER_SEND_RUNS:-} && $(ldd "$FERRYD") == *libasan* ]]; then
  runs=8
fi
dir=${TEST_TMPDIR:-/tmp}

sdk=$dir/sdk
rm -rf "$sdk" && mkdir -p "$sdk" && tar -C "$sdk" -xf "$SDK_TAR"
# Under --config=asan the SDK's libraries are instrumented.
preload_sanitizer_runtime "$sdk/lib/libmachnet_shim.so"
g++ -O2 -I"$sdk/include" "$SOURCE" -L"$sdk/lib" -lmachnet_shim -lgflags \
  -o "$dir/send_and_exit" || fail "send_and_exit.cc does not build with Machnet's line"
export LD_LIBRARY_PATH=$sdk/lib
APP=$dir/send_and_exit

id=$$
ns_a=fea$id
ns_b=feb$id
testbed_netns "$ns_a"
testbed_netns "$ns_b"

metric() {  # metric NS NAME: the sum of NAME's samples on that host
  ip netns exec "$1" /usr/bin/python3 -c 'import sys, urllib.request
page = urllib.request.urlopen("http://127.0.0.1:10960/metrics", timeout=5).read().decode()
total = 0
for line in page.splitlines():
    if line.split("{")[0].split(" ")[0] == sys.argv[1]:
        total += int(float(line.rsplit(" ", 1)[1]))
print(total)' "$2"
}

# start_pair WIRE: ferryd in each namespace over WIRE (memif or af_packet).
start_pair() {
  local wire=$1 dev_a dev_b
  if [[ $wire == memif ]]; then
    # A file, so that it crosses namespaces (short: sun_path has 108 bytes).
    memif_dir=$(mktemp -d /tmp/ferry-eas.XXXXXX)
    dev_a=net_memif0,role=server,id=0,socket=$memif_dir/wire.sock,socket-abstract=no
    dev_b=net_memif0,role=client,id=0,socket=$memif_dir/wire.sock,socket-abstract=no
  else
    testbed_veth "$ns_a" eva$id "$ns_b" evb$id
    dev_a=net_af_packet0,iface=eva$id
    dev_b=net_af_packet0,iface=evb$id
  fi
  local common=(--stats_interval_s=5 --memory_mb=512
                --metrics_address=127.0.0.1:10960)
  mutual_trust a b
  key_args a
  start_bg "$dir/ferryd_a_$wire.log" ip netns exec "$ns_a" "$FERRYD" \
    --device=$dev_a --ip=10.97.0.1/24 --channel_socket=@eas-a-$id \
    --grpc_socket=@eas-grpc-a-$id "${common[@]}" "${KEY_ARGS[@]}"
  PID_A=$LAST_PID
  wait_for_line "$dir/ferryd_a_$wire.log" "ferryd ready" 60
  key_args b
  start_bg "$dir/ferryd_b_$wire.log" ip netns exec "$ns_b" "$FERRYD" \
    --device=$dev_b --ip=10.97.0.2/24 --channel_socket=@eas-b-$id \
    --grpc_socket=@eas-grpc-b-$id "${common[@]}" "${KEY_ARGS[@]}"
  PID_B=$LAST_PID
  wait_for_line "$dir/ferryd_b_$wire.log" "ferryd ready" 60
}

on_a() { ip netns exec "$ns_a" env FERRY_SOCKET=@eas-grpc-a-$id "$@"; }
on_b() { ip netns exec "$ns_b" env FERRY_SOCKET=@eas-grpc-b-$id "$@"; }

# sender_failed RUN STATUS: what the sender, the sink and both hosts' flows
# say, then the failure.
sender_failed() {
  echo "--- sender" >&2
  cat "$dir/sender.log" >&2
  echo "--- sink (last lines)" >&2
  tail -5 "$sink_log" >&2
  echo "--- flows at A" >&2
  ip netns exec "$ns_a" "$FERRYCTL" --socket=@eas-grpc-a-$id --output=json flow list >&2 || true
  echo "--- flows at B" >&2
  ip netns exec "$ns_b" "$FERRYCTL" --socket=@eas-grpc-b-$id --output=json flow list >&2 || true
  fail "run $1: the sender $2"
}

# wait_for_run LOG RUN: the sink's verdict on a run; on none, what both
# hosts' flows look like.
wait_for_run() {
  local i
  for i in $(seq 600); do
    grep -Eq "^run $2 (complete|: BAD)" "$1" && break
    if ((i == 30)); then
      echo "--- run $2 after 3 s: flows at A and B" >&2
      ip netns exec "$ns_a" "$FERRYCTL" --socket=@eas-grpc-a-$id --output=json flow list >&2 || true
      ip netns exec "$ns_b" "$FERRYCTL" --socket=@eas-grpc-b-$id --output=json flow list >&2 || true
    fi
    sleep 0.1
  done
  if ! grep -Eq "^run $2 (complete|: BAD)" "$1"; then
    echo "--- flows at A" >&2
    ip netns exec "$ns_a" "$FERRYCTL" --socket=@eas-grpc-a-$id --output=json flow list >&2 || true
    echo "--- flows at B" >&2
    ip netns exec "$ns_b" "$FERRYCTL" --socket=@eas-grpc-b-$id --output=json flow list >&2 || true
    fail "run $2: the sink has no verdict after 60 s"
  fi
  if grep -q "^run $2: BAD" "$1"; then
    fail "run $2: $(grep "^run $2: BAD" "$1")"
  fi
}

for wire in memif af_packet; do
  start_pair $wire
  sink_log=$dir/sink_$wire.log
  start_bg "$sink_log" on_b "$APP" --sink --local_ip=10.97.0.2 --port=888
  sink=$LAST_PID
  wait_for_line "$sink_log" "listening" 30
  run=0
  total_messages=0
  for variant in exit kill; do
    for k in $(seq "$runs"); do
      run=$((run + 1))
      # Counts and sizes from 1 to 1000 and 1 B to 8 MiB, with the
      # boundaries: one 1-byte message, one 8 MiB message, 1000 messages.
      case $((k % 5)) in
        0) count=1000 max=8388608 ;;
        1) count=1 max=1 ;;
        2) count=1 max=8388608 ;;
        3) count=$((2 + RANDOM % 999)) max=4096 ;;
        4) count=$((2 + RANDOM % 999)) max=8388608 ;;
      esac
      flags=(--local_ip=10.97.0.1 --remote_ip=10.97.0.2 --port=888
             --run=$run --count=$count --max_size=$max --give_up_ms=30000)
      [[ $variant == kill ]] && flags+=(--kill)
      status=0
      on_a timeout 60 "$APP" "${flags[@]}" >"$dir/sender.log" 2>&1 || status=$?
      if [[ $variant == kill ]]; then
        ((status == 137)) || sender_failed $run "was not killed (status $status)"
      else
        ((status == 0)) || sender_failed $run "failed (status $status)"
      fi
      grep -q "run $run sent: $count messages" "$dir/sender.log" ||
        fail "run $run: the sender did not send"
      wait_for_run "$sink_log" $run
      total_messages=$((total_messages + count))
    done
    echo "ok: $wire, $variant right after the last send: $runs runs, every message delivered intact and in order"
  done
  grep -q "BAD" "$sink_log" && fail "the sink saw a bad message"
  (($(metric "$ns_a" ferry_engine_transport_linger_resets_total) == 0)) ||
    fail "$wire: flows were reset after the linger time"
  drained=$(metric "$ns_a" ferry_engine_transport_channels_drained_total)
  ((drained == 2 * runs)) || fail "$wire: $drained channels drained, expected $((2 * runs))"
  for _ in $(seq 50); do (($(metric "$ns_a" ferry_channels_live) == 0)) && break; sleep 0.1; done
  (($(metric "$ns_a" ferry_channels_live) == 0)) || fail "$wire: channels outlived their senders"
  echo "ok: $wire: $total_messages messages in $((2 * runs)) runs; $drained channels drained, none reset, none left"

  # A peer that stopped reading after the first message: its receive ring
  # (1024 messages) fills, then the flow's queue, and the flow is blocked.
  # The sender gives up once its sends have failed for 5 s and exits; what
  # it had sent cannot all be delivered. (Not sooner: over af_packet a
  # flow whose window the delay-based control has cut to one segment
  # crawls, blocked most of the time, and everything sent until a shorter
  # give-up may still fit in the peer's ring.)
  stall_log=$dir/stall_$wire.log
  start_bg "$stall_log" on_b "$APP" --sink --local_ip=10.97.0.2 --port=889 \
    --stall_after=1
  staller=$LAST_PID
  wait_for_line "$stall_log" "listening" 30
  start=$(date +%s%N)
  on_a env FERRY_LINGER_MS=1000 timeout 60 "$APP" --local_ip=10.97.0.1 \
    --remote_ip=10.97.0.2 --port=889 --run=9999 --count=100000 \
    --max_size=32 --give_up_ms=5000 >"$dir/sender.log" 2>&1 ||
    { cat "$dir/sender.log"; fail "the sender to a stalled peer failed"; }
  exited=$(date +%s%N)
  grep -q "then the channel stayed full" "$dir/sender.log" ||
    fail "the sender to a stalled peer never found its channel full"
  stalled_flows() {
    cat "$dir/sender.log" >&2
    echo "--- flows at A, then B" >&2
    ip netns exec "$ns_a" "$FERRYCTL" --socket=@eas-grpc-a-$id --output=json flow list >&2 || true
    ip netns exec "$ns_b" "$FERRYCTL" --socket=@eas-grpc-b-$id --output=json flow list >&2 || true
  }
  # Expect: while the linger time runs the flow is still there. Only a
  # reading that ended inside the linger time says so: on a loaded machine
  # the scrape itself may end after it, and the flow is rightly gone.
  active=$(metric "$ns_a" ferry_transport_flows_active)
  read_ms=$((($(date +%s%N) - exited) / 1000000))
  if ((active != 1)); then
    ((read_ms >= 1000)) ||
      { stalled_flows; fail "$wire: the flow to the stalled peer ended before its linger time"; }
    echo "note: $wire: the flow count was read ${read_ms} ms after the sender exited, past the linger time"
  fi
  for _ in $(seq 100); do
    (($(metric "$ns_a" ferry_engine_transport_linger_resets_total) >= 1)) && break
    sleep 0.1
  done
  resets=$(metric "$ns_a" ferry_engine_transport_linger_resets_total)
  ms=$((($(date +%s%N) - start) / 1000000))
  ((resets == 1)) ||
    { stalled_flows; fail "$wire: stalled peer: $resets linger resets, expected 1"; }
  for _ in $(seq 50); do (($(metric "$ns_a" ferry_channels_live) == 0)) && break; sleep 0.1; done
  (($(metric "$ns_a" ferry_channels_live) == 0)) || fail "$wire: the lingering channel was not freed"
  kill -0 "$PID_A" || fail "$wire: ferryd A died"
  echo "ok: $wire: a stalled peer: the flow was reset after the 1 s linger (${ms} ms after the sender started), counted once; the channel freed"
  # ferryd A still serves: one more run to the reading sink.
  run=$((run + 1))
  on_a timeout 60 "$APP" --local_ip=10.97.0.1 --remote_ip=10.97.0.2 \
    --port=888 --run=$run --count=100 --max_size=65536 >"$dir/sender.log" 2>&1 ||
    fail "$wire: a run after the stalled peer failed"
  wait_for_run "$sink_log" $run
  echo "ok: $wire: ferryd A serves on after the linger reset"
  kill_tree KILL "$sink" "$staller"
  stop_and_wait "$PID_A" 20
  stop_and_wait "$PID_B" 20
  [[ $wire == memif ]] && rm -rf "$memif_dir"
done
echo "PASS: messages accepted before exit or SIGKILL are delivered, over memif and af_packet; a stalled peer ends in a counted reset"

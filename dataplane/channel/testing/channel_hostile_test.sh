#!/usr/bin/env bash
# One well-behaved application exchanges verified messages while hostile
# applications, each on its own channel of the same engine, scribble over
# their segment, send bad descriptors, corrupt ring indices, try to shrink
# their segment, and die with SIGKILL in the middle of an 8 MiB send.
# The engine must survive, the good application lose nothing, the bad
# descriptors be counted, and every dead channel be reclaimed.
set -euo pipefail
BIN=$(dirname "$(realpath "$1")")
source dataplane/channel/testing/channel_test_lib.sh
trap cleanup EXIT

socket="@ferry-hostile-$UNIQUE"
start_server "$socket"
good_log=${TEST_TMPDIR:-/tmp}/good-$$.log
"$BIN/channel_test_client" --socket="$socket" --mode=traffic --count=20000 \
  >"$good_log" 2>&1 &
good=$!

hostile() {
  "$BIN/channel_hostile_client" --socket="$socket" "$@" || true
}
for round in 1 2; do
  hostile --mode=scribble --duration_ms=1500 &
  hostile --mode=bad_descriptors --duration_ms=1500 &
  hostile --mode=corrupt_indices --duration_ms=1500 &
  wait %2 %3 %4 2>/dev/null || true
  hostile --mode=shrink --duration_ms=200 | tee -a "${TEST_TMPDIR:-/tmp}/shrink-$$.log"
  hostile --mode=die_mid_send
done

wait "$good" || { cat "$good_log"; fail "the good client failed"; }
cat "$good_log"
grep -q "PASS traffic messages=20000" "$good_log" || fail "good client incomplete"
! grep -q "SUCCEEDED (seal missing" "${TEST_TMPDIR:-/tmp}/shrink-$$.log" ||
  fail "a client could resize its segment"

# Every client is gone: wait (bounded) for the server to unmap them all.
for _ in $(seq 100); do
  grep -q "ferry-channel" "/proc/$SERVER_PID/maps" || break
  sleep 0.1
done
! grep -q "ferry-channel" "/proc/$SERVER_PID/maps" ||
  fail "channel segments still mapped after every client left"

stop_server
[[ $(total corrupt) == 0 ]] || fail "the good client's data was corrupted"
(($(total bad_descriptors) > 0)) || fail "no bad descriptor was counted"
(($(total ring_corruptions) > 0)) || fail "no ring corruption was counted"
[[ $(total live) == 0 && $(total attached) == $(total reclaimed) ]] ||
  fail "channels not reclaimed: attached $(total attached), reclaimed $(total reclaimed)"
echo "PASS: hostile clients counted and reclaimed; the good client lost nothing"

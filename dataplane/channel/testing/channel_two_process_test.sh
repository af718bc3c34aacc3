#!/usr/bin/env bash
# A real application process attaches to a channel served by engine-side
# code in another process; messages of 1 B, 32 B (the largest inline one),
# 33 B (the smallest in a buffer), 1 KiB, 1 MiB and 8 MiB cross in both
# directions, self-checking (hash verified by the server) and compared byte
# for byte by the client after the echo.
set -euo pipefail
BIN=$(dirname "$(realpath "$1")")
source dataplane/channel/testing/channel_test_lib.sh
trap cleanup EXIT

start_server "@ferry-two-process-$UNIQUE"
"$BIN/channel_test_client" --socket="@ferry-two-process-$UNIQUE" --mode=roundtrip \
  --sizes=1,32,33,1024,1048576,8388608 || fail "client failed"
stop_server
# 1 B carries no header; the other five are verified by the server.
[[ $(total verified) == 5 && $(total corrupt) == 0 ]] ||
  fail "server verified $(total verified), corrupt $(total corrupt)"
[[ $(total tx_messages) == 6 && $(total rx_messages) == 6 ]] ||
  fail "expected 6 messages each way"
[[ $(total reclaimed) == 1 ]] || fail "channel not reclaimed after detach"
echo "PASS: 1 B to 8 MiB cross a channel between two processes, both ways"

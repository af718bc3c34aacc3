#!/usr/bin/env bash
# Acceptance 6 of the trust boundary (docs/SECURITY.md): an unprivileged
# user made here holds 4 silent connections to ferryd's channel socket and
# 5,000 session streams that never send `open`; meanwhile another
# application (root) opens a session, attaches a channel and makes RPCs,
# and ferryd's thread count stays bounded. The flood's streams then end:
# those admitted at their `open` deadline, the rest at once. The user,
# group, socket folder and processes are removed at the end.
set -euo pipefail
FERRYD=$(realpath "$1")
source deploy/testbed/ferryd_test_lib.sh

id=$$
user=ferryflood$id
run=/run/ferry-flood-$id
work=$(mktemp -d /tmp/ferry-flood.XXXXXX)
cleanup() {
  testbed_cleanup
  rm -rf "$run" "$work"
}
trap cleanup EXIT
testbed_user "$user"
# The user cannot read Bazel's tree under /root: what it runs is copied.
cp controlplane/api/unopened_streams_test.py controlplane/api/api_python_test.py \
  controlplane/api/ferry_stubs.py "$work/"
mkdir -p "$work/proto" "$work/client/abi"
cp client/abi/ferry_channel_abi.h "$work/client/abi/"
cp -rL proto/ferry "$work/proto/"
chmod -R a+rX "$work"
mkdir -p "$run"
state=$work/state
touch "$state"
chown "$user" "$work"

dir=${TEST_TMPDIR:-/tmp}
start_bg "$dir/ferryd.log" "$FERRYD" --device=net_ring0 --ip=10.0.0.1/24 \
  --grpc_socket=$run/ferryd.sock --channel_socket=$run/channels.sock \
  --grpc_socket_group="$user" --memory_mb=256 --metrics_address= \
  --session_open_timeout_ms=10000
ferryd=$LAST_PID
wait_for_line "$dir/ferryd.log" "ferryd ready" 60
echo "ferryd runs $(awk '/^Threads:/ {print $2}' /proc/$ferryd/status) threads before the flood"

start_bg "$dir/flood.log" runuser -u "$user" -- /usr/bin/python3 \
  "$work/unopened_streams_test.py" flood "$run/ferryd.sock" \
  "$run/channels.sock" "$work" "$state"
flood=$LAST_PID
if ! (cd "$work" && /usr/bin/python3 unopened_streams_test.py check \
  "$run/ferryd.sock" "$ferryd" "$work" "$state"); then
  cat "$dir/flood.log"
  tail -20 "$dir/ferryd.log"
  fail "see above"
fi
wait "$flood" || { cat "$dir/flood.log"; fail "the flood failed"; }
kill -0 "$ferryd" || fail "ferryd died"

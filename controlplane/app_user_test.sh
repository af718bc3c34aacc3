#!/usr/bin/env bash
# The trust boundary as an unprivileged user meets it (docs/SECURITY.md):
# two ferryd joined by memif, their application and channel sockets given
# to a group, and a user made here in that group. As that user:
#   - the admin socket cannot even be connected to;
#   - every administrator's call on the application socket is
#     PERMISSION_DENIED (nic list/get/attach/detach, stats, flow list/get/
#     close, session list);
#   - its own session, channel and flow work: ferryctl connects and makes
#     verified round trips with a ferryctl listening on the other host;
#   - app_user_test.py: one session cannot list, inspect, close or reset
#     another's flows, destroy its channel, stop its listener, or listen on
#     a port it holds, and a forged ticket redeems nothing.
# The user, group, sockets and processes are removed at the end.
set -euo pipefail
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh

id=$$
user=ferryapp$id
run=/run/ferry-appuser-$id
work=$(mktemp -d /tmp/ferry-appuser.XXXXXX)
cleanup() {
  testbed_cleanup
  rm -rf "$run" "$work"
}
trap cleanup EXIT
testbed_user "$user"
# The user cannot read Bazel's tree under /root: what it runs is copied.
cp "$FERRYCTL" controlplane/app_user_test.py controlplane/api/api_python_test.py "$work/"
mkdir -p "$work/proto" "$work/client/abi"
cp client/abi/ferry_channel_abi.h "$work/client/abi/"
cp -rL proto/ferry "$work/proto/"
chmod -R a+rX "$work"
mkdir -p "$run/a" "$run/b"

dir=${TEST_TMPDIR:-/tmp}
common=(--memory_mb=256 --metrics_address= --grpc_socket_group="$user")
mutual_trust a b
key_args a
start_bg "$dir/ferryd_a.log" "$FERRYD" \
  --device=net_memif0,role=server,id=0,socket=/ferry-appuser-$id \
  --ip=10.93.0.1/24 --grpc_socket=$run/a/ferryd.sock \
  --channel_socket=$run/a/channels.sock "${common[@]}" "${KEY_ARGS[@]}"
wait_for_line "$dir/ferryd_a.log" "ferryd ready" 60
key_args b
start_bg "$dir/ferryd_b.log" "$FERRYD" \
  --device=net_memif0,role=client,id=0,socket=/ferry-appuser-$id \
  --ip=10.93.0.2/24 --grpc_socket=$run/b/ferryd.sock \
  --channel_socket=$run/b/channels.sock "${common[@]}" "${KEY_ARGS[@]}"
wait_for_line "$dir/ferryd_b.log" "ferryd ready" 60
ls -l "$run/a"

as_user() { runuser -u "$user" -- "$@"; }
ctl() { as_user "$work/ferryctl" --timeout_ms=5000 "$@" 2>&1; }

# The admin socket: root's, 0600.
[[ $(command stat -c '%a %U' "$run/a/admin.sock") == "600 root" ]] ||
  fail "admin socket: $(command stat -c '%a %U' "$run/a/admin.sock")"
[[ $(command stat -c '%a %G' "$run/a/ferryd.sock") == "660 $user" ]] ||
  fail "application socket: $(command stat -c '%a %G' "$run/a/ferryd.sock")"
as_user /usr/bin/python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect('$run/a/admin.sock')
except PermissionError as e:
    print('ok: the admin socket refuses the user:', e)
    sys.exit(0)
sys.exit('the user connected to the admin socket')"
out=$(ctl --socket=$run/a/ferryd.sock nic list) && fail "nic list as $user: $out"
echo "ok: ferryctl nic list (admin socket) as $user: $out"

for command in "nic list" "nic get net_memif0" "nic detach net_memif0" \
  "stats" "flow list" "flow get 1 --nic=net_memif0" \
  "flow close 1 --nic=net_memif0 --reset" "session list" \
  "nic attach --device=net_pcap0,iface=lo --ip=10.94.0.1/24"; do
  # shellcheck disable=SC2086
  out=$(ctl --socket=$run/a/ferryd.sock --as=application $command) &&
    fail "'$command' served on the application socket: $out"
  [[ $out == *PERMISSION_DENIED* ]] || fail "'$command': $out"
  echo "ok: $command -> PERMISSION_DENIED"
done
# Nothing was attached or detached.
out=$("$FERRYCTL" --socket=$run/a/ferryd.sock nic list)
[[ $(grep -c net_ <<<"$out") == 1 && $out == *net_memif0* ]] || fail "NICs: $out"

# Its own session, channel and flow work.
as_user "$work/ferryctl" --socket=$run/b/ferryd.sock listen 7000 \
  --duration_ms=30000 >"$work/listen.log" 2>&1 &
TESTBED_PIDS+=($!)
wait_for_line "$work/listen.log" "listening on port 7000" 30
out=$(ctl --socket=$run/a/ferryd.sock connect 10.93.0.2:7000 \
  --message="from $user" --count=5) || fail "connect as $user: $out"
echo "$out"
echo "ok: $user connected and made 5 round trips through its own session"

# Root, another user, tries the ticket the user's session leaks.
chown "$user" "$work"
(cd "$work" && /usr/bin/python3 -c '
import os, sys, time
from api_python_test import attach
for _ in range(300):
    if os.path.exists("leaked"):
        break
    time.sleep(0.1)
ticket, path = open("leaked").read().split()
rc, sock = attach(bytes.fromhex(ticket), path)
open("leaked.tried", "w").write(str(rc))
') &
leak=$!
(cd "$work" && as_user /usr/bin/python3 app_user_test.py "$work" \
  "$run/a/ferryd.sock" "$run/b/ferryd.sock" 10.93.0.2) ||
  fail "app_user_test.py"
wait "$leak" || fail "the leaked-ticket helper failed"
grep -q "presented a ticket of session" "$dir/ferryd_a.log" ||
  fail "ferryd did not log the refused ticket"
echo "PASS: an unprivileged application reaches only its own session"

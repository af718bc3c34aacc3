#!/usr/bin/env bash
# ferryctl against a running ferryd: every subcommand in both output
# formats, and its errors (exit 1 with the gRPC code, exit 2 for usage).
set -euo pipefail
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

id=$$-$RANDOM
log=${TEST_TMPDIR:-/tmp}/ferryd_ferryctl.log
start_bg "$log" "$FERRYD" --device=net_ring0 --ip=10.0.0.1/24 \
  --gateway=10.0.0.254 --channel_socket=@ferry-ctl-ch-$id \
  --grpc_socket=@ferry-ctl-$id --metrics_address= --memory_mb=256
ferryd=$LAST_PID
wait_for_line "$log" "ferryd ready" 60
ctl() { "$FERRYCTL" --socket=@ferry-ctl-$id "$@"; }

# expect EXIT_CODE PATTERN ARGS...: runs ferryctl, checks code and output.
expect() {
  local want=$1 pattern=$2
  shift 2
  local out rc=0
  out=$(ctl "$@" 2>&1) || rc=$?
  [[ $rc == "$want" ]] || fail "ferryctl $*: exit $rc, expected $want: $out"
  # A here-string, not a pipe: grep -q exits at its first match, and bash's
  # line-buffered echo would then die of SIGPIPE on the next line, which
  # pipefail reports as a failed match.
  grep -Eq -- "$pattern" <<<"$out" ||
    fail "ferryctl $*: output lacks '$pattern': $out"
  echo "ok: ferryctl $* (exit $rc)"
}

expect 0 "^net_ring0 +net_ring .*10.0.0.1/24 +up +1 " nic list
expect 0 '"name": "net_ring0"' --output=json nic list
expect 0 "^gateway: +10.0.0.254" nic get net_ring0
expect 0 '"polling": "adaptive"' --output=json nic get net_ring0
expect 0 "^channels: attached 0, live 0" stats
expect 0 '"channels"' --output=json stats
expect 0 "^channels: " --watch_ms=100 --count=2 stats
[[ $(ctl --watch_ms=100 --count=3 stats | grep -c "^channels: ") == 3 ]] ||
  fail "watch did not stream 3 snapshots"
expect 0 "^SERVING$" health
expect 0 '"status": "SERVING"' --output=json health

expect 1 "NOT_FOUND: no NIC named 'bogus'" nic get bogus
expect 1 "INVALID_ARGUMENT: name" nic get ""
expect 1 "INVALID_ARGUMENT: interval_ms: 10" --watch_ms=10 stats
expect 2 "unknown command 'nic frob'" nic frob
expect 2 "no command"
expect 2 "--output: 'yaml'" --output=yaml nic list
# Attach a second NIC, see it, refuse duplicates, detach it.
expect 0 "^attached net_null3 \(10.9.0.1/24" nic attach --device=net_null3 \
  --ip=10.9.0.1/24
expect 0 "^net_null3 " nic list
expect 1 "ALREADY_EXISTS: device 'net_null3'" nic attach --device=net_null3 \
  --ip=10.9.0.2/24
expect 1 "ALREADY_EXISTS: address 10.0.0.1" nic attach --device=net_null4 \
  --ip=10.0.0.1/24
expect 1 "INVALID_ARGUMENT: --ip" nic attach --device=net_null4 --ip=bad
expect 0 '"name": "net_null3"' --output=json nic get net_null3
expect 0 "^detached net_null3" nic detach net_null3
expect 1 "NOT_FOUND: no NIC named 'net_null3'" nic detach net_null3
[[ $(ctl nic list | grep -c "^net_") == 1 ]] || fail "detach left the NIC"
out=$("$FERRYCTL" --socket=@ferry-nobody-$id health 2>&1) && fail "exit 0"
[[ $out == *"UNAVAILABLE"* ]] || fail "unreachable ferryd: $out"
echo "ok: unreachable ferryd is UNAVAILABLE"

stop_and_wait "$ferryd" 20
echo "PASS: ferryctl subcommands, formats and errors"

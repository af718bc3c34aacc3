#!/usr/bin/env bash
# Fault injection set at runtime through the admin API (ferryctl nic
# faults) while flows run: two ferryd over memif, msg_gen verifying every
# message. No faults, then faults on A's transmit path (the counters move,
# every message still exact), then off again (the counters stop). Bad
# settings, an unknown NIC and the application socket are refused.
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
FERRYCTL=$(realpath "$3")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

dir=${TEST_TMPDIR:-/tmp}/ferryctl_faults
rm -rf "$dir"
mkdir -p "$dir"
ferryd_pair ff 10.93.0 --stats_interval_s=1 --memory_mb=256 --metrics_address=
start_bg "$dir/server.log" "$MSG_GEN" --role=server --socket=$PAIR_GRPC_B \
  --port=7000 --size=1024 --verify
wait_for_line "$dir/server.log" "listening" 30
ctl() { "$FERRYCTL" --socket=$PAIR_GRPC_A "$@"; }
run() {
  timeout 120 "$MSG_GEN" --role=client --socket=$PAIR_GRPC_A --verify \
    --remote=10.93.0.2:7000 --size=1024 --window=8 --messages=3000 \
    --warmup_s=0 --quiet --json_out="$dir/$1.json" || fail "msg_gen ($1) failed"
  grep -q '"verify_failures": 0' "$dir/$1.json" || fail "$1: verification"
}
# The counters of A's engine after the next stats line.
counters() {
  local lines
  lines=$(grep -c "stats engine=0 " "$PAIR_LOG_A" || true)
  for _ in $(seq 30); do
    (($(grep -c "stats engine=0 " "$PAIR_LOG_A") > lines)) && break
    sleep 0.1
  done
  echo "$(stat "$PAIR_LOG_A" 0 fault_dropped) $(stat "$PAIR_LOG_A" 0 fault_reordered)" \
    "$(stat "$PAIR_LOG_A" 0 fault_corrupted)"
}

run clean
read -r dropped reordered corrupted <<<"$(counters)"
((dropped == 0 && reordered == 0 && corrupted == 0)) ||
  fail "faults before any were set: $dropped $reordered $corrupted"

out=$(ctl nic faults net_memif0 --drop=0.1 --reorder=0.02 --corrupt=0.01)
echo "$out"
[[ $out == "faults on net_memif0: drop 0.1"* ]] || fail "nic faults: '$out'"
run faulty
read -r dropped reordered corrupted <<<"$(counters)"
echo "with faults: dropped $dropped, reordered $reordered, corrupted $corrupted"
((dropped > 50 && reordered > 5 && corrupted > 2)) || fail "the faults did not apply"

ctl nic faults net_memif0
run off
read -r dropped2 reordered2 corrupted2 <<<"$(counters)"
((dropped2 == dropped && reordered2 == reordered && corrupted2 == corrupted)) ||
  fail "faults went on after being turned off: $dropped2 $reordered2 $corrupted2"
echo "ok: faults set and cleared at runtime; every message exact"

expect_refused() {  # expect_refused CODE ARGS...
  local code=$1 out
  shift
  if out=$("$@" 2>&1); then fail "$* succeeded; expected $code"; fi
  [[ $out == *"$code"* ]] || fail "$*: '$out' does not say $code"
  echo "ok: $code: $out"
}
expect_refused INVALID_ARGUMENT ctl nic faults net_memif0 --drop=1.5
expect_refused INVALID_ARGUMENT ctl nic faults net_memif0 --drop=0.6 --corrupt=0.6
expect_refused INVALID_ARGUMENT ctl nic faults net_memif0 --delay=0.1 --delay_us=2000000
expect_refused NOT_FOUND ctl nic faults net_nothing0 --drop=0.1
expect_refused PERMISSION_DENIED "$FERRYCTL" --socket=$PAIR_GRPC_A \
  --as=application nic faults net_memif0 --drop=0.1
echo "PASS: fault injection set per NIC at runtime through the admin API"

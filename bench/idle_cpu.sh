#!/usr/bin/env bash
# Measures how much CPU an idle ferryd uses, in adaptive and in busy polling,
# and in adaptive polling on a port whose link is down.
#
#   bench/idle_cpu.sh FERRYD [SECONDS]
#
# ferryd runs on one end of a silent veth pair (af_packet) in a namespace of
# its own; its CPU time (user + system, from /proc/PID/stat) is sampled over
# SECONDS (default 10) once it is ready. The link-down case is a memif
# server whose client never comes (a peer not started yet, or gone): the
# frames ferryd sends at start wait in its queue all along. Prints one line
# per case:
#   idle_cpu polling=adaptive seconds=10 cpu_percent=0.8
#   idle_cpu polling=busy seconds=10 cpu_percent=99.6
#   idle_cpu polling=adaptive link=down seconds=10 cpu_percent=1.1
set -euo pipefail
FERRYD=$(realpath "$1")
SECONDS_TO_MEASURE=${2:-10}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/deploy/testbed/ferryd_test_lib.sh"
trap testbed_cleanup EXIT

id=$$
testbed_netns fi$id
testbed_netns fp$id
testbed_veth fi$id fvi$id fp$id fvp$id
tick=$(getconf CLK_TCK)

cpu_ticks() {
  # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the
  # command name (which may contain spaces).
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

for case in adaptive busy adaptive_down; do
  mode=${case%_down} device=net_af_packet0,iface=fvi$id label=""
  if [[ $case == *_down ]]; then
    device=net_memif0,role=server,id=0,socket=/ferry-idle-memif-$id
    label=" link=down"
  fi
  log=${TEST_TMPDIR:-/tmp}/idle_cpu_$case.log
  start_bg "$log" ip netns exec fi$id "$FERRYD" \
    --device=$device --ip=10.66.0.2/24 --polling=$mode \
    --channel_socket=@ferry-idle-cpu-$id-$case --grpc_socket=@ferry-idle-grpc-$id-$case \
    --memory_mb=256
  pid=$LAST_PID
  wait_for_line "$log" "ferryd ready" 60
  # Let start-up work finish before sampling.
  sleep 1
  before=$(cpu_ticks "$pid")
  sleep "$SECONDS_TO_MEASURE"
  after=$(cpu_ticks "$pid")
  stop_and_wait "$pid" 20
  percent=$(awk -v t=$((after - before)) -v hz="$tick" -v s="$SECONDS_TO_MEASURE" \
    'BEGIN { printf "%.1f", 100 * t / hz / s }')
  echo "idle_cpu polling=$mode$label seconds=$SECONDS_TO_MEASURE cpu_percent=$percent"
done

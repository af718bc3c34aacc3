#!/usr/bin/env bash
# Runs bench/idle_cpu.sh over 6 s per case and prints its figures. The
# check is structural, not a timing threshold: adaptive polling must use a
# small fraction of what busy polling burns on the same idle port, and so
# must it on a port whose link is down (frames waiting for it to come up
# are no reason to spin).
set -euo pipefail
FERRYD=$1
out=$(bench/idle_cpu.sh "$FERRYD" 6)
echo "$out"
adaptive=$(echo "$out" | sed -n 's/.*polling=adaptive seconds.*cpu_percent=\([0-9.]*\)/\1/p')
down=$(echo "$out" | sed -n 's/.*polling=adaptive link=down .*cpu_percent=\([0-9.]*\)/\1/p')
busy=$(echo "$out" | sed -n 's/.*polling=busy .*cpu_percent=\([0-9.]*\)/\1/p')
[[ -n $adaptive && -n $busy && -n $down ]] || { echo "FAIL: no figures"; exit 1; }
awk -v a="$adaptive" -v b="$busy" 'BEGIN { exit !(a * 5 < b) }' ||
  { echo "FAIL: adaptive ($adaptive%) is not well below busy ($busy%)"; exit 1; }
awk -v a="$down" -v b="$busy" 'BEGIN { exit !(a * 5 < b) }' ||
  { echo "FAIL: adaptive with the link down ($down%) is not well below busy ($busy%)"; exit 1; }
echo "PASS: idle adaptive ${adaptive}% (link down ${down}%) vs busy ${busy}% of a core"

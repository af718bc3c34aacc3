#!/usr/bin/env bash
# Runs bench/idle_cpu.sh over 10 s per mode and prints its figures. The
# check is structural, not a timing threshold: adaptive polling must use a
# small fraction of what busy polling burns on the same idle port.
set -euo pipefail
FERRYD=$1
out=$(bench/idle_cpu.sh "$FERRYD" 10)
echo "$out"
adaptive=$(echo "$out" | sed -n 's/.*polling=adaptive .*cpu_percent=\([0-9.]*\)/\1/p')
busy=$(echo "$out" | sed -n 's/.*polling=busy .*cpu_percent=\([0-9.]*\)/\1/p')
[[ -n $adaptive && -n $busy ]] || { echo "FAIL: no figures"; exit 1; }
awk -v a="$adaptive" -v b="$busy" 'BEGIN { exit !(a * 5 < b) }' ||
  { echo "FAIL: adaptive ($adaptive%) is not well below busy ($busy%)"; exit 1; }
echo "PASS: idle adaptive ${adaptive}% vs busy ${busy}% of a core"

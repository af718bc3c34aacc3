#!/usr/bin/env bash
# 64 applications, each its own process, attach a channel to one ferryd at
# once. Every attach succeeds; the attach times are reported; and with
# --channel_pages=small 64 idle channels cost ferryd little memory: under
# 1 MiB of resident memory each (a channel's 32 MiB of buffers are mapped,
# not touched, until used; hugepage channels are reserved whole, outside
# the resident set). When the applications leave, every channel is
# reclaimed.
set -euo pipefail
FERRYD=$(realpath "$1")
CLIENT=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT

n=64
dir=${TEST_TMPDIR:-/tmp}/channel_scale
rm -rf "$dir"
mkdir -p "$dir"
socket=@ferry-scale-$$-$RANDOM
start_bg "$dir/ferryd.log" "$FERRYD" --device=net_ring0 --ip=10.0.0.1/24 \
  --channel_socket=$socket --grpc_socket=$socket-grpc \
  --metrics_address=127.0.0.1:0 --memory_mb=256 --channel_pages=small
ferryd=$LAST_PID
wait_for_line "$dir/ferryd.log" "ferryd ready" 60
url=$(metrics_url "$dir/ferryd.log")
[[ -n $url ]] || fail "no metrics page"
metrics_scrape "$url" >"$dir/before.txt"
rss_before=$(metric_sum process_resident_memory_bytes "$dir/before.txt")

holders=()
for i in $(seq $n); do
  "$CLIENT" --ferryd_socket=$socket-grpc --mode=hold --hold_ms=120000 \
    >"$dir/app_$i.log" 2>&1 &
  holders+=($!)
done
for i in $(seq $n); do wait_for_line "$dir/app_$i.log" "attached in" 60; done
metrics_scrape "$url" >"$dir/held.txt"
live=$(metric_sum ferry_channels_live "$dir/held.txt")
((live == n)) || fail "$live channels live, expected $n"
rss_held=$(metric_sum process_resident_memory_bytes "$dir/held.txt")
per_channel=$(((rss_held - rss_before) / n / 1024))
times=$(cat "$dir"/app_*.log | grep -o 'attached in [0-9]*' | awk '{print $3}' |
  sort -n)
median=$(sed -n "$((n / 2))p" <<<"$times")
max=$(tail -1 <<<"$times")
echo "$n channels attached at once: attach median $((median / 1000)) ms," \
  "max $((max / 1000)) ms; ferryd RSS $((rss_before / 1048576)) MiB ->" \
  "$((rss_held / 1048576)) MiB, $per_channel KiB per idle channel"
((per_channel < 1024)) ||
  fail "an idle channel costs ferryd $per_channel KiB of resident memory"

kill "${holders[@]}"
wait "${holders[@]}" 2>/dev/null || true
for _ in $(seq 100); do
  metrics_scrape "$url" >"$dir/after.txt"
  (($(metric_sum ferry_channels_reclaimed_total "$dir/after.txt") == n)) && break
  sleep 0.1
done
reclaimed=$(metric_sum ferry_channels_reclaimed_total "$dir/after.txt")
((reclaimed == n)) || fail "$reclaimed of $n channels reclaimed"
stop_and_wait "$ferryd" 20
echo "PASS: $n applications attached at once, $per_channel KiB of ferryd's" \
  "memory per idle channel, all reclaimed"

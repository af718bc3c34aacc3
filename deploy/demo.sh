#!/usr/bin/env bash
# The main demo: sets everything up on a fresh Debian 12 machine and shows
# ferryd on a local two-host testbed.
#
#   sudo deploy/demo.sh [REPORT_FILE]      (default: ferry-demo-report.md)
#
# 1. Host "kernel" and host "ferry" in two network namespaces joined by a
#    veth pair; ferryd owns the ferry end through DPDK's net_af_packet. The
#    kernel pings ferryd, ferryd resolves and pings the kernel.
# 2. Two ferryd joined by a DPDK memif wire ping each other.
# 3. ferryd's idle CPU in adaptive and busy polling.
# 4. The shared-memory channel between an application and an engine.
# Everything it creates is removed when it exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report=$(realpath -m "${1:-ferry-demo-report.md}")

deploy/install-deps.sh
bazel build //controlplane:ferryd //controlplane:ferryctl
ferryd=$(realpath bazel-bin/controlplane/ferryd)
ferryctl=$(realpath bazel-bin/controlplane/ferryctl)

source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
work=$(mktemp -d)
id=$$

section() { printf '\n== %s\n' "$*"; }
avg_rtt_us() {
  local log=$1 n sum
  n=$(stat "$log" 0 icmp_echo_replies_rx)
  sum=$(stat "$log" 0 ping_rtt_ns_sum)
  awk -v n="$n" -v s="$sum" 'BEGIN { printf "%.1f", n ? s / n / 1000 : 0 }'
}

section "1. kernel host <-> ferryd over a veth pair (net_af_packet)"
testbed_netns demo-kernel-$id
testbed_netns demo-ferry-$id
testbed_veth demo-ferry-$id dvf$id demo-kernel-$id dvk$id
ip -n demo-kernel-$id addr add 10.77.0.1/24 dev dvk$id
log1=$work/ferryd-af-packet.log
start_bg "$log1" ip netns exec demo-ferry-$id "$ferryd" \
  --device=net_af_packet0,iface=dvf$id --ip=10.77.0.2/24 \
  --channel_socket=@ferry-demo-af-packet-$id --grpc_socket=@ferry-demo-grpc-$id \
  --ping=10.77.0.1 --ping_count=10 --ping_interval_ms=100 --stats_interval_s=1
pid1=$LAST_PID
wait_for_line "$log1" "ferryd ready" 60
grep -E "port 0|ferryd ready" "$log1"
kernel_ping=$(ip netns exec demo-kernel-$id ping -c 10 -i 0.1 10.77.0.2)
echo "$kernel_ping" | tail -n 3
neigh=$(ip -n demo-kernel-$id neigh show 10.77.0.2)
echo "kernel neighbour table: $neigh"
wait_for_line "$log1" "stats engine=0 .*icmp_echo_replies_rx=10 " 30
# The operator's view: ferryctl over the gRPC socket, and /metrics.
ctl_out=$(ip netns exec demo-ferry-$id "$ferryctl" \
  --socket=@ferry-demo-grpc-$id nic list)
echo "$ctl_out"
metrics=$(ip netns exec demo-ferry-$id /usr/bin/python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:10960/metrics").read().decode())' |
  grep -E '^ferry_(port_(rx|tx)_packets|engine_(arp_resolved|icmp_echo_replies_(rx|tx)))_total')
echo "$metrics"
stop_and_wait "$pid1" 20
grep -E "resolved|learned" "$log1" || true
echo "ferryd -> kernel: 10 echo replies, average RTT $(avg_rtt_us "$log1") us"

section "2. ferryd <-> ferryd over a DPDK memif wire"
log_a=$work/ferryd-memif-a.log
log_b=$work/ferryd-memif-b.log
start_bg "$log_a" "$ferryd" --device=net_memif0,role=server,socket=/ferry-demo-$id \
  --ip=10.88.0.1/24 --channel_socket=@ferry-demo-a-$id --grpc_socket=@ferry-demo-grpc-a-$id --metrics_address=127.0.0.1:0 --ping=10.88.0.2 --ping_count=20 --ping_interval_ms=50 \
  --stats_interval_s=1 --memory_mb=256
pid_a=$LAST_PID
wait_for_line "$log_a" "ferryd ready" 60
start_bg "$log_b" "$ferryd" --device=net_memif0,role=client,socket=/ferry-demo-$id \
  --ip=10.88.0.2/24 --channel_socket=@ferry-demo-b-$id --grpc_socket=@ferry-demo-grpc-b-$id --metrics_address=127.0.0.1:0 --ping=10.88.0.1 --ping_count=20 --ping_interval_ms=50 \
  --stats_interval_s=1 --memory_mb=256
pid_b=$LAST_PID
wait_for_line "$log_a" "stats engine=0 .*icmp_echo_replies_rx=20 " 60
wait_for_line "$log_b" "stats engine=0 .*icmp_echo_replies_rx=20 " 60
stop_and_wait "$pid_a" 20
stop_and_wait "$pid_b" 20
echo "A -> B: 20 echo replies, average RTT $(avg_rtt_us "$log_a") us"
echo "B -> A: 20 echo replies, average RTT $(avg_rtt_us "$log_b") us"

section "3. idle ferryd CPU use (5 s per mode)"
idle=$(bench/idle_cpu.sh "$ferryd" 5)
echo "$idle"

section "4. channel hand-off, application <-> engine (Google Benchmark)"
bazel build -c opt //dataplane/channel:channel_bench
bench=$(taskset -c 0-1 bazel-bin/dataplane/channel/channel_bench \
  --benchmark_min_time=0.2 2>/dev/null | grep '^BM_')
echo "$bench"

cat >"$report" <<EOR
# Ferry demo report

$(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, $(uname -r).

## 1. Kernel host and ferryd over a veth pair (net_af_packet)

Kernel pinging ferryd:

\`\`\`
$(echo "$kernel_ping" | tail -n 2)
\`\`\`

Kernel neighbour table: \`$neigh\`

ferryd pinging the kernel: $(stat "$log1" 0 icmp_echo_replies_rx) replies, average RTT $(avg_rtt_us "$log1") µs; ARP requests sent $(stat "$log1" 0 arp_requests_tx), next hops resolved $(stat "$log1" 0 arp_resolved).

## 2. Two ferryd over a DPDK memif wire

| direction | echo replies | average RTT (µs) | max RTT (µs) |
|---|---|---|---|
| A → B | $(stat "$log_a" 0 icmp_echo_replies_rx) | $(avg_rtt_us "$log_a") | $(($(stat "$log_a" 0 ping_rtt_ns_max) / 1000)) |
| B → A | $(stat "$log_b" 0 icmp_echo_replies_rx) | $(avg_rtt_us "$log_b") | $(($(stat "$log_b" 0 ping_rtt_ns_max) / 1000)) |

Pings are 50 ms apart, so every one finds the engines asleep (adaptive
polling): these are wake-up latencies, not loaded round trips.

\`ferryctl nic list\` while it ran:

\`\`\`
$ctl_out
\`\`\`

From its Prometheus endpoint:

\`\`\`
$metrics
\`\`\`

## 3. Idle CPU

\`\`\`
$idle
\`\`\`

## 4. Channel hand-off (application thread on CPU 0, engine on CPU 1)

\`\`\`
$bench
\`\`\`

One-way: 64-byte messages in batches of 32 (items_per_second). Round trip:
one message app -> engine -> app, with the cache-line ping-pong floor
measured in the same run (ratio_to_floor). Doorbell: both sides asleep.
EOR
section "report written to $report"
rm -rf "$work"

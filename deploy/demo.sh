#!/usr/bin/env bash
# The main demo: sets everything up on a fresh Debian 12 machine, builds
# Ferry, starts a local two-host testbed and benchmarks Ferry against
# kernel TCP on it.
#
#   sudo deploy/demo.sh [RUN_DIR]     (default: ferry-demo-<date>-<time>)
#
# 1. Hosts A and B in two network namespaces (deploy/testbed/two_hosts.sh),
#    each with ferryd and a bench agent; Ferry's wire is a DPDK memif, the
#    kernel's a veth. The orchestrator (bench/orchestrator.py) has the
#    agents run msg_gen 1 KiB request/response from A to B over Ferry and
#    over kernel TCP, with 1 and 32 requests in flight; the table puts them
#    side by side (the median of 3 runs each, transports taking turns).
#    RUN_DIR gets report.html (plots), report.md,
#    results.json and results.csv.
# 2. The operator's view of host A: ferryctl and Prometheus metrics.
# 3. The runs of 1 again with Ferry and kernel TCP on one veth: ferryd
#    attaches it through AF_XDP with its own XDP program (RUN_DIR/af_xdp).
# 4. ferryd's idle CPU in adaptive and busy polling.
# 5. The shared-memory channel between an application and an engine.
# Everything it creates is removed when it exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
run_dir=$(realpath -m "${1:-ferry-demo-$(date +%Y%m%d-%H%M%S)}")
report=$run_dir/demo-report.md
duration=${FERRY_DEMO_SECONDS:-4}
# Each configuration runs this often, the transports taking turns; the table
# shows medians (one run's tail on this shared machine says little).
repetitions=${FERRY_DEMO_REPETITIONS:-3}
# FERRYD_ARGS reaches both testbed ferryd (e.g. --encryption=off); without
# a mode there, ferryd's default (required) is what is measured.
encryption=$( (grep -o -- '--encryption=[a-z]*' <<<"${FERRYD_ARGS:-}" || true) |
  tail -1 | cut -d= -f2)
encryption=${encryption:-required}

deploy/install-deps.sh
# Optimized binaries, copied out so that later builds cannot swap them.
bazel build -c opt //controlplane:ferryd //controlplane:ferryctl //bench:msg_gen
work=$(mktemp -d)
mkdir -p "$work/bin" "$run_dir"
cp bazel-bin/controlplane/ferryd bazel-bin/controlplane/ferryctl \
  bazel-bin/bench/msg_gen "$work/bin/"
ferryd=$work/bin/ferryd
ferryctl=$work/bin/ferryctl
msg_gen=$work/bin/msg_gen

source deploy/testbed/ferryd_test_lib.sh
cleanup() {
  deploy/testbed/two_hosts.sh down >/dev/null 2>&1 || true
  testbed_cleanup
  rm -rf "$work"
}
trap cleanup EXIT
id=$$

section() { printf '\n== %s\n' "$*"; }
host() { deploy/testbed/two_hosts.sh exec "$@"; }

# compare WIRE OUT: the testbed up on WIRE, then Ferry against kernel TCP
# through the orchestrator, results in OUT; the testbed stays up.
compare() {
  FERRYD=$ferryd MSG_GEN=$msg_gen deploy/testbed/two_hosts.sh up --wire="$1"
  /usr/bin/python3 bench/orchestrator.py \
    --client_agent=unix:/run/ferry-testbed/a/agent.sock \
    --server_agent=unix:/run/ferry-testbed/b/agent.sock \
    --ferry_remote=10.70.0.2 --tcp_remote=10.70.1.2 --tcp_bind=10.70.1.1 \
    --transports=ferry,tcp --sizes=1024 --windows=1,32 \
    --duration_s="$duration" --warmup_s=1 --repetitions="$repetitions" \
    --out="$2"
}

section "1. Ferry and kernel TCP between two hosts (1 KiB request/response)"
compare memif "$run_dir"
table=$(cat "$run_dir/table.md")

section "2. The operator's view of host A"
ctl_out=$(host a "$ferryctl" --socket=/run/ferry-testbed/a/ferryd.sock nic list)
echo "$ctl_out"
metrics=$(host a /usr/bin/python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:10960/metrics").read().decode())' |
  grep -E '^ferry_(port_(rx|tx)_packets|engine_transport_(messages_(rx|tx)|retransmits_(fast|timeout)|flows_opened))_total')
echo "$metrics"
deploy/testbed/two_hosts.sh down

section "3. Ferry and kernel TCP on the very same veth (AF_XDP)"
compare af_xdp "$run_dir/af_xdp"
xdp_attached=$(ip -n ferry-tb-a link show dev tb-a0 | grep -o 'prog/xdp id [0-9]* name [a-z_]*' || true)
xdp_table=$(cat "$run_dir/af_xdp/table.md")
deploy/testbed/two_hosts.sh down
echo "$xdp_table"

section "4. idle ferryd CPU use (5 s per mode)"
idle=$(bench/idle_cpu.sh "$ferryd" 5)
echo "$idle"

section "5. channel hand-off, application <-> engine (Google Benchmark)"
bazel build -c opt //dataplane/channel:channel_bench
bench=$(taskset -c 0-1 bazel-bin/dataplane/channel/channel_bench \
  --benchmark_min_time=0.2 2>/dev/null | grep '^BM_')
echo "$bench"

cat >"$report" <<EOR
# Ferry demo report

$(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r).

## 1. Ferry and kernel TCP, host A -> host B

1 KiB requests and responses, ${duration} s measured after 1 s of warm-up,
${repetitions} runs of each configuration (the transports taking turns; the
table shows each one's median), from msg_gen on host A to msg_gen on host B (two network namespaces on this
machine). Ferry runs over a DPDK memif between the two ferryd; kernel TCP
(TCP_NODELAY) over a veth pair. Every process shares this machine's $(nproc)
CPUs, so both columns include scheduling between the two hosts' processes.
Ferry's encryption: ${encryption}$( [[ $encryption == off ]] || echo " (Noise IX handshake, AES-128-GCM segments; docs/SECURITY.md)").

$table

Plots: report.html; raw results: results.json, results.csv (this folder).

## 2. Host A's ferryd, seen by an operator

\`ferryctl nic list\`:

\`\`\`
$ctl_out
\`\`\`

From its Prometheus endpoint (127.0.0.1:10960 in host A):

\`\`\`
$metrics
\`\`\`

## 3. Ferry and kernel TCP on the very same veth (AF_XDP)

The runs of section 1 again, but both ferryd attach the veth that kernel
TCP uses (\`net_af_xdp\`): Ferry's XDP program (\`$xdp_attached\`)
diverts only the frames for Ferry's addresses (10.70.0.x) into AF_XDP
sockets and passes the kernel's (10.70.1.x) on, so both transports share
one wire. A veth has no zero-copy AF_XDP: the kernel copies every frame
(native XDP, copy mode), and each TX burst is a system call. Plots and raw
results: af_xdp/.

$xdp_table

## 4. Idle CPU

\`\`\`
$idle
\`\`\`

## 5. Channel hand-off (application thread on CPU 0, engine on CPU 1)

\`\`\`
$bench
\`\`\`

One-way: 64-byte messages in batches of 32 (items_per_second). Round trip:
one message app -> engine -> app, with the cache-line ping-pong floor
measured in the same run (ratio_to_floor). Doorbell: both sides asleep.
EOR
section "results"
echo "$table"
echo
echo "On one veth (AF_XDP):"
echo "$xdp_table"
echo
echo "run folder: $run_dir (report.html, report.md, results.json, results.csv;"
echo "this demo's other sections: $report)"

#!/usr/bin/env bash
# An N-host testbed on one machine: network namespaces ferry-nh-1..N on a
# Linux bridge, each running ferryd over net_af_packet (or net_af_xdp) and a
# bench agent on TCP with mutual TLS, as a rack of real hosts would.
#
#   deploy/testbed/n_hosts.sh up [--hosts=N] [--wire=af_packet|af_xdp]
#                                [--encryption=required|off]
#   deploy/testbed/n_hosts.sh shape I RATE|off   (tbf on host I's downlink)
#   deploy/testbed/n_hosts.sh exec I COMMAND...  (inside host I)
#   deploy/testbed/n_hosts.sh down
#
# Host I (1..N, N from 2 to 8, default 4) has one interface, eth0, joined
# to the bridge nh-br on this machine by the veth nh-vI: the kernel (the
# TCP baseline and the agents) at 10.71.1.I/24, Ferry at 10.71.0.I/24 on
# the very same wire: net_af_packet, or with --wire=af_xdp net_af_xdp, whose
# XDP program takes only Ferry's frames from eth0 and passes the kernel's
# on ($AF_XDP_ARGS appends devargs, e.g. ",busy_budget=0"). This machine
# is 10.71.1.254 on the bridge: the orchestrator reaches the agents at
# 10.71.1.I:7100 with the test CA and certificates in /run/ferry-nhosts/tls
# (orchestrator.pem, orchestrator.key, ca.pem; made by
# bench/agent/make_test_ca.sh). Every ferryd trusts every other's node key,
# so --encryption=required (ferryd's default, and this testbed's) works.
# `shape I RATE` puts a token bucket (tbf, e.g. 100mbit) on the bridge's
# port towards host I: everything sent to host I passes that bottleneck.
# Binaries: $FERRYD and $MSG_GEN as for two_hosts.sh; $FERRYD_ARGS adds
# flags to every ferryd. `up` takes down what an earlier run left first;
# a step that fails takes the testbed down again.
set -euo pipefail
STATE=/run/ferry-nhosts
PREFIX=ferry-nh-

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

hosts_up() { cat "$STATE/hosts" 2>/dev/null || echo 8; }

down() {
  local i ns pid pidfile
  for ((i = 1; i <= $(hosts_up); i++)); do
    ns=$PREFIX$i
    ip netns pids $ns 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true
  done
  for pidfile in "$STATE"/*/ferryd.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ((i = 1; i <= $(hosts_up); i++)); do
    ns=$PREFIX$i
    ip netns pids $ns 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
    ip link del nh-v$i 2>/dev/null || true
  done
  ip link del nh-br 2>/dev/null || true
  rm -rf "$STATE"
}

wait_for() {  # wait_for FILE WORDS PID WHAT: until WORDS is in FILE
  local file=$1 words=$2 pid=$3 what=$4
  for _ in $(seq 600); do
    grep -q "$words" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$what did not start; its log:" >&2
  cat "$file" >&2
  return 1
}

up() {
  local hosts=4 encryption=required wire=af_packet
  local ferryd=${FERRYD:-bazel-bin/controlplane/ferryd}
  local msg_gen=${MSG_GEN:-bazel-bin/bench/msg_gen}
  for arg in "$@"; do
    case $arg in
      --hosts=*) hosts=${arg#--hosts=} ;;
      --encryption=*) encryption=${arg#--encryption=} ;;
      --wire=*) wire=${arg#--wire=} ;;
      *) echo "unknown option $arg" >&2; exit 2 ;;
    esac
  done
  [[ $hosts =~ ^[2-8]$ ]] || { echo "--hosts is 2..8" >&2; exit 2; }
  [[ $wire == af_packet || $wire == af_xdp ]] ||
    { echo "--wire is af_packet or af_xdp" >&2; exit 2; }
  [[ $encryption == off || $encryption == required ]] ||
    { echo "--encryption is off or required" >&2; exit 2; }
  [[ -x $ferryd ]] || { echo "no ferryd at $ferryd (build it first)" >&2; exit 2; }
  [[ -x $msg_gen ]] || { echo "no msg_gen at $msg_gen (build it first)" >&2; exit 2; }
  ferryd=$(realpath "$ferryd")
  msg_gen=$(realpath "$msg_gen")
  down
  trap 'down' ERR
  mkdir -p "$STATE"
  echo "$hosts" >"$STATE/hosts"
  ip link add nh-br type bridge
  ip addr add 10.71.1.254/24 dev nh-br
  ip link set nh-br up
  local i ns certs=()
  for ((i = 1; i <= hosts; i++)); do
    ns=$PREFIX$i
    mkdir -p "$STATE/$i"
    ip netns add $ns
    ip -n $ns link set lo up
    ip link add nh-v$i type veth peer name eth0 netns $ns
    ip link set nh-v$i master nh-br
    ip link set nh-v$i up
    ip netns exec $ns sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
    ip -n $ns addr add 10.71.1.$i/24 dev eth0
    ip -n $ns link set eth0 up
    "$ferryd" --node_key_file="$STATE/$i/node.key" --print_node_key \
      >"$STATE/$i/node.pub"
    certs+=("h$i=10.71.1.$i")
  done
  bench/agent/make_test_ca.sh "$STATE/tls" "${certs[@]}" >/dev/null
  local j
  for ((i = 1; i <= hosts; i++)); do
    for ((j = 1; j <= hosts; j++)); do
      ((i == j)) || echo "$(cat "$STATE/$j/node.pub") host-$j"
    done >"$STATE/$i/trusted_peers"
  done
  # 256 MiB of hugepages each: eight hosts fit in the 2 GiB that
  # deploy/setup-hugepages.sh reserves.
  local device="net_af_packet0,iface=eth0,qdisc_bypass=0"
  [[ $wire == af_xdp ]] && device="net_af_xdp0,iface=eth0${AF_XDP_ARGS:-}"
  for ((i = 1; i <= hosts; i++)); do
    ns=$PREFIX$i
    ip netns exec $ns "$ferryd" --device="$device" \
      --ip=10.71.0.$i/24 --engines=1 --memory_mb=256 --stats_interval_s=1 \
      --channel_socket=$STATE/$i/channels.sock --grpc_socket=$STATE/$i/ferryd.sock \
      --node_key_file="$STATE/$i/node.key" --trusted_peers_file="$STATE/$i/trusted_peers" \
      --encryption="$encryption" ${FERRYD_ARGS:-} >"$STATE/$i/ferryd.log" 2>&1 &
    echo $! >"$STATE/$i/ferryd.pid"
  done
  for ((i = 1; i <= hosts; i++)); do
    wait_for "$STATE/$i/ferryd.log" "ferryd ready" "$(cat "$STATE/$i/ferryd.pid")" \
      "ferryd of host $i"
  done
  for ((i = 1; i <= hosts; i++)); do
    ns=$PREFIX$i
    ip netns exec $ns /usr/bin/python3 bench/agent/bench_agent.py \
      --listen=unix:$STATE/$i/agent.sock --listen=10.71.1.$i:7100 \
      --tls_cert="$STATE/tls/agent-h$i.pem" --tls_key="$STATE/tls/agent-h$i.key" \
      --tls_client_ca="$STATE/tls/ca.pem" --msg_gen="$msg_gen" \
      --ferryd_socket=$STATE/$i/ferryd.sock --ferryd_pidfile=$STATE/$i/ferryd.pid \
      >"$STATE/$i/agent.log" 2>&1 &
    echo $! >"$STATE/$i/agent.pid"
  done
  for ((i = 1; i <= hosts; i++)); do
    wait_for "$STATE/$i/agent.log" "bench agent on" "$(cat "$STATE/$i/agent.pid")" \
      "the bench agent of host $i"
  done
  trap - ERR
  echo "testbed up: $hosts hosts on bridge nh-br; host I: kernel 10.71.1.I," \
    "ferry 10.71.0.I ($wire, encryption $encryption), agent" \
    "10.71.1.I:7100 (mutual TLS, certificates in $STATE/tls); logs in $STATE"
}

shape() {
  local i=${1:-} rate=${2:-}
  [[ -f $STATE/hosts && $i =~ ^[1-8]$ ]] && ((i <= $(hosts_up))) ||
    { echo "shape I RATE|off: no host $i up" >&2; exit 2; }
  if [[ $rate == off ]]; then
    tc qdisc del dev nh-v$i root 2>/dev/null || true
    echo "host $i: downlink not shaped"
    return
  fi
  [[ $rate =~ ^[0-9]+(k|m|g)bit$ ]] || { echo "RATE is like 100mbit" >&2; exit 2; }
  # A queue of about 5 ms at the rate (at least 64 KiB), like a switch
  # port's buffer; burst of 32 KiB.
  tc qdisc replace dev nh-v$i root tbf rate "$rate" burst 32kb latency 5ms
  echo "host $i: downlink shaped to $rate"
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) down; echo "testbed down" ;;
  shape) shift; shape "$@" ;;
  exec)
    i=${2:-}
    [[ $i =~ ^[1-8]$ ]] || { echo "exec I COMMAND..." >&2; exit 2; }
    shift 2
    exec ip netns exec $PREFIX$i "$@"
    ;;
  *) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

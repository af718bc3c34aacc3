#!/usr/bin/env bash
# A two-host testbed on one machine: network namespaces ferry-tb-a and
# ferry-tb-b, each running ferryd.
#
#   deploy/testbed/two_hosts.sh up [--wire=memif|af_packet|af_xdp] [--engines=N]
#                                  [--agents=unix|tls]
#   deploy/testbed/two_hosts.sh exec a|b COMMAND...   (inside a host)
#   deploy/testbed/two_hosts.sh down
#
# Addresses:
#   kernel (management, and the kernel TCP/UDP baseline): a 10.70.1.1/24,
#     b 10.70.1.2/24 on the veth pair tb-a0 <-> tb-b0;
#   ferry: a 10.70.0.1/24, b 10.70.0.2/24 on the data wire: a DPDK memif
#     (default; its socket is a file so that it crosses namespaces) or, with
#     --wire=af_packet or --wire=af_xdp, the veth pair itself (then the
#     kernel baseline runs over the very same wire; with af_xdp Ferry's XDP
#     program diverts only the frames for Ferry's addresses).
# Each host's sockets live under /run/ferry-testbed/<host>/: channels.sock,
# ferryd.sock and agent.sock (the bench agent, bench/agent/bench_agent.py,
# which runs msg_gen there for bench/orchestrator.py); ferryd's metrics are
# on each host's 127.0.0.1:10960. With --agents=tls the agents also listen
# on TCP with mutual TLS, as on real hosts: a management network (bridge
# tb-mgmt, this machine 10.70.2.254/24) reaches a at 10.70.2.1:7100 and b
# at 10.70.2.2:7100, with a test CA and certificates made by
# bench/agent/make_test_ca.sh in /run/ferry-testbed/tls (the orchestrator's:
# orchestrator.pem and .key). Binaries: $FERRYD and $MSG_GEN, default
# bazel-bin/controlplane/ferryd and bazel-bin/bench/msg_gen; $FERRYD_ARGS
# adds flags to both ferryd (e.g. "--cc=none"); $AF_XDP_ARGS adds devargs to
# both af_xdp devices (e.g. ",busy_budget=0").
# `up` is idempotent (it takes down what an earlier run left first); every
# step that fails takes the testbed down again.
set -euo pipefail
STATE=/run/ferry-testbed
NS_A=ferry-tb-a
NS_B=ferry-tb-b

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

down() {
  # Whatever runs in the hosts (servers, agents) goes with them.
  local ns
  for ns in $NS_A $NS_B; do
    ip netns pids $ns 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true
  done
  for host in a b; do
    [[ -f $STATE/$host/agent.pid ]] &&
      kill -TERM "$(cat "$STATE/$host/agent.pid")" 2>/dev/null || true
    local pidfile=$STATE/$host/ferryd.pid
    if [[ -f $pidfile ]]; then
      local pid
      pid=$(cat "$pidfile")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for ns in $NS_A $NS_B; do
    ip netns pids $ns 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
  done
  ip link del tb-mgmt 2>/dev/null || true
  rm -rf "$STATE"
}

wait_ready() {
  local log=$1
  for _ in $(seq 600); do
    grep -q "ferryd ready" "$log" 2>/dev/null && return 0
    if grep -q "ferryd: " "$log" 2>/dev/null && ! kill -0 "$2" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  echo "ferryd did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

up() {
  local wire=memif engines=1 agents=unix
  local ferryd=${FERRYD:-bazel-bin/controlplane/ferryd}
  local msg_gen=${MSG_GEN:-bazel-bin/bench/msg_gen}
  for arg in "$@"; do
    case $arg in
      --wire=*) wire=${arg#--wire=} ;;
      --engines=*) engines=${arg#--engines=} ;;
      --agents=*) agents=${arg#--agents=} ;;
      *) echo "unknown option $arg" >&2; exit 2 ;;
    esac
  done
  [[ $wire == memif || $wire == af_packet || $wire == af_xdp ]] ||
    { echo "--wire is memif, af_packet or af_xdp" >&2; exit 2; }
  [[ $agents == unix || $agents == tls ]] ||
    { echo "--agents is unix or tls" >&2; exit 2; }
  [[ -x $ferryd ]] || { echo "no ferryd at $ferryd (build it first)" >&2; exit 2; }
  [[ -x $msg_gen ]] || { echo "no msg_gen at $msg_gen (build it first)" >&2; exit 2; }
  ferryd=$(realpath "$ferryd")
  msg_gen=$(realpath "$msg_gen")
  down
  trap 'down' ERR
  mkdir -p "$STATE/a" "$STATE/b"
  for ns in $NS_A $NS_B; do
    ip netns add $ns
    ip -n $ns link set lo up
  done
  ip link add tb-a0 type veth peer name tb-b0
  ip link set tb-a0 netns $NS_A
  ip link set tb-b0 netns $NS_B
  ip netns exec $NS_A sysctl -qw net.ipv6.conf.tb-a0.disable_ipv6=1
  ip netns exec $NS_B sysctl -qw net.ipv6.conf.tb-b0.disable_ipv6=1
  ip -n $NS_A addr add 10.70.1.1/24 dev tb-a0
  ip -n $NS_B addr add 10.70.1.2/24 dev tb-b0
  ip -n $NS_A link set tb-a0 up
  ip -n $NS_B link set tb-b0 up
  local agent_tls=()
  if [[ $agents == tls ]]; then
    # The management network: this machine (the orchestrator's) and both
    # hosts on a bridge, apart from the wires under test.
    ip link add tb-mgmt type bridge
    ip addr add 10.70.2.254/24 dev tb-mgmt
    ip link set tb-mgmt up
    local h
    for h in a b; do
      ip link add tb-m$h type veth peer name mgmt0 netns ferry-tb-$h
      ip link set tb-m$h master tb-mgmt
      ip link set tb-m$h up
      ip -n ferry-tb-$h link set mgmt0 up
    done
    ip -n $NS_A addr add 10.70.2.1/24 dev mgmt0
    ip -n $NS_B addr add 10.70.2.2/24 dev mgmt0
    bench/agent/make_test_ca.sh "$STATE/tls" a=10.70.2.1 b=10.70.2.2 >/dev/null
    agent_tls=(--tls_client_ca="$STATE/tls/ca.pem")
  fi

  local device_a device_b
  if [[ $wire == memif ]]; then
    device_a="net_memif0,role=server,id=0,socket=$STATE/memif.sock,socket-abstract=no"
    device_b="net_memif0,role=client,id=0,socket=$STATE/memif.sock,socket-abstract=no"
  elif [[ $wire == af_packet ]]; then
    device_a="net_af_packet0,iface=tb-a0,qdisc_bypass=0"
    device_b="net_af_packet0,iface=tb-b0,qdisc_bypass=0"
  else
    device_a="net_af_xdp0,iface=tb-a0${AF_XDP_ARGS:-}"
    device_b="net_af_xdp0,iface=tb-b0${AF_XDP_ARGS:-}"
  fi
  # Each host's node key, and each trusting the other's: encrypted flows
  # (ferryd's default --encryption=required) work as on two real hosts,
  # and with FERRYD_ARGS=--encryption=off nothing reads them.
  local host ns ip device
  for host in a b; do
    "$ferryd" --node_key_file="$STATE/$host/node.key" --print_node_key \
      >"$STATE/$host/node.pub"
  done
  echo "$(cat "$STATE/b/node.pub") host-b" >"$STATE/a/trusted_peers"
  echo "$(cat "$STATE/a/node.pub") host-a" >"$STATE/b/trusted_peers"
  for host in a b; do
    local listen_tcp=()
    if [[ $host == a ]]; then ns=$NS_A ip=10.70.0.1 device=$device_a
    else ns=$NS_B ip=10.70.0.2 device=$device_b; fi
    if [[ $agents == tls ]]; then
      listen_tcp=(--listen=10.70.2.$([[ $host == a ]] && echo 1 || echo 2):7100
                  --tls_cert="$STATE/tls/agent-$host.pem"
                  --tls_key="$STATE/tls/agent-$host.key" "${agent_tls[@]}")
    fi
    ip netns exec $ns "$ferryd" --device="$device" --ip=$ip/24 \
      --engines="$engines" --memory_mb=512 --stats_interval_s=1 \
      --channel_socket=$STATE/$host/channels.sock \
      --grpc_socket=$STATE/$host/ferryd.sock \
      --node_key_file="$STATE/$host/node.key" \
      --trusted_peers_file="$STATE/$host/trusted_peers" ${FERRYD_ARGS:-} \
      >"$STATE/$host/ferryd.log" 2>&1 &
    echo $! >"$STATE/$host/ferryd.pid"
    # memif: the client side needs the server's socket to exist.
    wait_ready "$STATE/$host/ferryd.log" "$(cat "$STATE/$host/ferryd.pid")"
    ip netns exec $ns /usr/bin/python3 bench/agent/bench_agent.py \
      --listen=unix:$STATE/$host/agent.sock "${listen_tcp[@]}" \
      --msg_gen="$msg_gen" \
      --ferryd_socket=$STATE/$host/ferryd.sock \
      --ferryd_pidfile=$STATE/$host/ferryd.pid \
      >"$STATE/$host/agent.log" 2>&1 &
    echo $! >"$STATE/$host/agent.pid"
  done
  for host in a b; do
    for _ in $(seq 300); do
      grep -q "bench agent on" "$STATE/$host/agent.log" 2>/dev/null && break
      sleep 0.1
    done
    grep -q "bench agent on" "$STATE/$host/agent.log" ||
      { echo "the bench agent of host $host did not start:" >&2;
        cat "$STATE/$host/agent.log" >&2; false; }
  done
  echo "$wire" >"$STATE/wire"
  trap - ERR
  echo "testbed up: ferry 10.70.0.1 <-> 10.70.0.2 over $wire," \
    "kernel 10.70.1.1 <-> 10.70.1.2 over veth; agents at" \
    "$STATE/{a,b}/agent.sock$([[ $agents == tls ]] &&
      echo " and 10.70.2.{1,2}:7100 (mutual TLS, CA in $STATE/tls)");" \
    "logs in $STATE"
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) down; echo "testbed down" ;;
  exec)
    host=${2:-}
    [[ $host == a || $host == b ]] || { echo "exec a|b COMMAND..." >&2; exit 2; }
    shift 2
    ns=$NS_A; [[ $host == b ]] && ns=$NS_B
    exec ip netns exec $ns "$@"
    ;;
  *) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

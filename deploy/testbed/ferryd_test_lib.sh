# Shell helpers for ferryd's end-to-end tests: network namespaces joined by
# veth pairs, ferryd processes, and reading the counters ferryd logs.
#
# Every namespace, link, process and key directory a test creates is
# recorded and removed by testbed_cleanup, which tests install with
# `trap testbed_cleanup EXIT` so that it runs even when an assertion fails.

TESTBED_NAMESPACES=()
TESTBED_PIDS=()
TESTBED_USERS=()
TESTBED_DIRS=()
# Each background process's log, by pid: shown when it fails to stop.
declare -A TESTBED_LOGS=()

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

testbed_cleanup() {
  local pid ns user all=()
  # With what each one started: found before any goes (an orphan is
  # nobody's child any more).
  for pid in "${TESTBED_PIDS[@]}"; do
    all+=("$pid")
    mapfile -t -O ${#all[@]} all < <(descendants "$pid")
  done
  for pid in "${all[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${all[@]}"; do
    # Bounded: a ferryd that ignores SIGTERM for 10 s is killed.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "${TESTBED_NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  for user in "${TESTBED_USERS[@]}"; do
    pkill -KILL -u "$user" 2>/dev/null || true
    userdel "$user" 2>/dev/null || true
    groupdel "$user" 2>/dev/null || true
  done
  local dir
  for dir in "${TESTBED_DIRS[@]}"; do
    rm -rf "$dir"
  done
}

# testbed_user NAME: an unprivileged user NAME in a group of its own, with
# no home and no login shell.
testbed_user() {
  groupadd "$1"
  TESTBED_USERS+=("$1")
  useradd --no-create-home --gid "$1" --shell /usr/sbin/nologin "$1"
}

# testbed_netns NAME: creates a namespace with loopback up.
testbed_netns() {
  ip netns add "$1"
  TESTBED_NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

# testbed_veth NS_A IF_A NS_B IF_B: a veth pair joining two namespaces, both
# ends up, IPv6 off (its router solicitations would only be noise).
testbed_veth() {
  ip link add "$2" type veth peer name "$4"
  ip link set "$2" netns "$1"
  ip link set "$4" netns "$3"
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip netns exec "$3" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

# preload_sanitizer_runtime LIB: when LIB was built with ASan (the test
# command's --config=asan pass), a program built without it (Python, a
# compiler's default build) must load the sanitizer's runtime first; what
# that program itself leaks at exit is not ours to judge.
preload_sanitizer_runtime() {
  local asan
  asan=$(ldd "$1" | awk '/libasan/ { print $3 }')
  if [[ -n $asan ]]; then
    export LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0
  fi
}

# descendants PID: every live process below PID, one per line. Read from
# /proc with the shell's own builtins: procps tools (pgrep, ps) hang with
# the sanitizer runtime preloaded, as the sanitizer pass's tests have it
# (preload_sanitizer_runtime), and this kernel has no /proc/PID/children.
descendants() {
  local -A children=()
  local stat line pid
  local -a fields queue=("$1")
  for stat in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null <"$stat" || continue
    pid=${line%% *}
    # After the command's name (which may hold spaces and parentheses):
    # state, then the parent's pid.
    read -r -a fields <<<"${line##*) }"
    children[${fields[1]}]+=" $pid"
  done
  while ((${#queue[@]} > 0)); do
    for pid in ${children[${queue[0]}]:-}; do
      echo "$pid"
      queue+=("$pid")
    done
    queue=("${queue[@]:1}")
  done
}

# kill_tree SIGNAL PID...: each PID and every process below it. A command
# that start_bg runs through a shell function (an application started
# with `ip netns exec` inside a helper) is a child of the subshell whose
# pid start_bg records: signalling that pid alone would leave the
# application running, holding its channel's hugepages. (Under Bazel the
# test's process group ends with it; a test run by hand has no such net.)
kill_tree() {
  local signal=$1 pid all=()
  shift
  for pid in "$@"; do
    all+=("$pid")
    mapfile -t -O ${#all[@]} all < <(descendants "$pid")
  done
  kill -"$signal" "${all[@]}" 2>/dev/null || true
}

# start_bg LOG CMD...: runs CMD in the background, output to LOG; records
# the pid in TESTBED_PIDS and LAST_PID (testbed_cleanup stops it and what
# it started; kill_tree does the same at once).
start_bg() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  LAST_PID=$!
  TESTBED_PIDS+=("$LAST_PID")
  TESTBED_LOGS[$LAST_PID]=$log
}

# wait_for_line LOG REGEX SECONDS: until a line of LOG matches.
wait_for_line() {
  local log=$1 regex=$2 seconds=$3
  for _ in $(seq $((seconds * 10))); do
    grep -Eq -- "$regex" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $log ---" >&2
  cat "$log" >&2
  fail "no line matching '$regex' in $log within ${seconds}s"
}

# msg_gen_server LOG SOCKET PORT ARGS...: a ferry msg_gen server ($MSG_GEN)
# on ferryd's API socket SOCKET, listening on PORT once this returns;
# LAST_PID is its pid. After pin_pair_hosts it runs on host B's CPU (a
# pair's servers are host B's applications).
msg_gen_server() {
  local log=$1 socket=$2 port=$3
  shift 3
  start_bg "$log" ${PIN_B[@]+"${PIN_B[@]}"} "$MSG_GEN" --role=server \
    --socket="$socket" --port="$port" "$@"
  wait_for_line "$log" listening 30
}

# stop_and_wait PID SECONDS: SIGTERM, then wait for a clean exit (status 0).
stop_and_wait() {
  local pid=$1 seconds=$2
  kill -TERM "$pid"
  for _ in $(seq $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  local status=0
  if kill -0 "$pid" 2>/dev/null; then
    show_log "$pid"
    fail "ferryd $pid did not exit within ${seconds}s"
  fi
  wait "$pid" || status=$?
  if ((status != 0)); then
    show_log "$pid"
    fail "ferryd $pid exited with status $status"
  fi
}

# show_log PID: the end of a background process's log (start_bg), if any.
show_log() {
  local log=${TESTBED_LOGS[$1]:-}
  [[ -n $log && -f $log ]] || return 0
  echo "--- last lines of $log ---" >&2
  tail -n 60 "$log" >&2
}

# stat LOG ENGINE NAME: the counter's value in the last stats line.
stat() {
  local line
  line=$(grep "stats engine=$2 " "$1" | tail -n 1)
  [[ -n $line ]] || fail "no stats line for engine $2 in $1"
  echo "$line" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

# expect_stat_ge LOG ENGINE NAME MIN
expect_stat_ge() {
  local v
  v=$(stat "$1" "$2" "$3")
  [[ -n $v && $v -ge $4 ]] || fail "$3=$v in $1, expected >= $4"
  echo "ok: $3=$v (>= $4)"
}

# expect_stat_eq LOG ENGINE NAME VALUE
expect_stat_eq() {
  local v
  v=$(stat "$1" "$2" "$3")
  [[ $v == "$4" ]] || fail "$3=$v in $1, expected $4"
  echo "ok: $3=$v"
}

# metrics_url LOG: the Prometheus page of the ferryd logging to LOG
# (started with --metrics_address=127.0.0.1:0), once it serves.
metrics_url() {
  wait_for_line "$1" "metrics at http://127.0.0.1:[0-9]+/metrics" 60
  grep -m 1 -o "http://127.0.0.1:[0-9]*/metrics" "$1"
}

# metrics_scrape URL: the page, on stdout.
metrics_scrape() {
  /usr/bin/python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode(), end="")' "$1"
}

# metric_sum NAME FILE: the sum of every sample of NAME in a scraped page
# (0 when there is none), as an integer.
metric_sum() {
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 }
    END { printf "%d\n", s }' "$2"
}

# pin_pair_hosts "CPU_A CPU_B": runs each emulated host of the next
# ferryd_pair on a CPU of its own, as two hosts would be: its engine
# (--cores, through PAIR_ONLY_A/B) and its applications (prefix their
# commands with "${PIN_A[@]}" or "${PIN_B[@]}", taskset; msg_gen_server
# does so itself, on host B). Unpinned, one
# host's engine time-shares a CPU with the other host's application, which
# no two hosts do. "" (or a single CPU) pins nothing.
pin_pair_hosts() {
  local a b
  read -r a b <<<"$1"
  PIN_A=() PIN_B=() PAIR_ONLY_A=() PAIR_ONLY_B=()
  [[ -n "${b:-}" ]] || return 0
  PAIR_ONLY_A=(--cores="$a") PAIR_ONLY_B=(--cores="$b")
  PIN_A=(taskset -c "$a") PIN_B=(taskset -c "$b")
}

# default_host_cpus: "0 1" where there are two CPUs or more, else "".
default_host_cpus() {
  if (($(nproc) >= 2)); then echo "0 1"; fi
}

# mutual_trust HOST...: a node key for each HOST (a name) and a trust list
# of every other HOST's key, as real hosts set up for ferryd's default
# --encryption=required; then key_args HOST sets KEY_ARGS to the flags that
# give HOST's ferryd its key and trust list. Needs $FERRYD.
mutual_trust() {
  TESTBED_KEYS=$(mktemp -d "${TEST_TMPDIR:-/tmp}/ferry-keys.XXXXXX")
  TESTBED_DIRS+=("$TESTBED_KEYS")
  local host other
  for host in "$@"; do
    "$FERRYD" --node_key_file="$TESTBED_KEYS/$host.key" --print_node_key \
      >"$TESTBED_KEYS/$host.pub"
  done
  for host in "$@"; do
    for other in "$@"; do
      [[ $other == "$host" ]] || echo "$(cat "$TESTBED_KEYS/$other.pub") $other"
    done >"$TESTBED_KEYS/$host.trusted"
  done
}

key_args() {
  KEY_ARGS=(--node_key_file="$TESTBED_KEYS/$1.key"
    --trusted_peers_file="$TESTBED_KEYS/$1.trusted")
}

# ferryd_pair TAG NET ARGS...: two ferryd ($FERRYD) joined by net_memif:
# host A is NET.1 (the memif server), host B NET.2; ARGS go to both, and
# the arrays PAIR_ONLY_A and PAIR_ONLY_B (when set) to one host each. Waits
# until both are ready. Sets PAIR_GRPC_A/B (the API sockets, where
# applications open their sessions), PAIR_SOCK_A/B (channel sockets, which
# the API names to applications), PAIR_LOG_A/B and PAIR_PID_A/B. Sockets are abstract, with
# a random part: tests running side by side never meet. Each host has its
# own node key and trusts the other's (mutual_trust a b); ARGS naming other
# keys, trust or mode win.
ferryd_pair() {
  local tag=$1 net=$2
  shift 2
  local id=$$-$RANDOM dir=${TEST_TMPDIR:-/tmp}
  mutual_trust a b
  local KEY_ARGS KEY_ARGS_A KEY_ARGS_B
  key_args a && KEY_ARGS_A=("${KEY_ARGS[@]}")
  key_args b && KEY_ARGS_B=("${KEY_ARGS[@]}")
  PAIR_SOCK_A=@ferry-$tag-a-$id
  PAIR_SOCK_B=@ferry-$tag-b-$id
  PAIR_GRPC_A=@ferry-$tag-grpc-a-$id
  PAIR_GRPC_B=@ferry-$tag-grpc-b-$id
  PAIR_LOG_A=$dir/ferryd_a.log
  PAIR_LOG_B=$dir/ferryd_b.log
  start_bg "$PAIR_LOG_A" "$FERRYD" \
    --device=net_memif0,role=server,id=0,socket=/ferry-$tag-$id \
    --ip=$net.1/24 --channel_socket=$PAIR_SOCK_A --grpc_socket=$PAIR_GRPC_A \
    "${KEY_ARGS_A[@]}" "$@" ${PAIR_ONLY_A[@]+"${PAIR_ONLY_A[@]}"}
  PAIR_PID_A=$LAST_PID
  # The memif client's port start fails unless the server's socket exists.
  wait_for_line "$PAIR_LOG_A" "ferryd ready" 60
  # B's whole command line, for a test that starts B again.
  PAIR_ARGS_B=("$FERRYD"
    --device=net_memif0,role=client,id=0,socket=/ferry-$tag-$id
    --ip=$net.2/24 --channel_socket=$PAIR_SOCK_B --grpc_socket=$PAIR_GRPC_B
    "${KEY_ARGS_B[@]}" "$@"
    ${PAIR_ONLY_B[@]+"${PAIR_ONLY_B[@]}"})
  start_bg "$PAIR_LOG_B" "${PAIR_ARGS_B[@]}"
  PAIR_PID_B=$LAST_PID
  wait_for_line "$PAIR_LOG_B" "ferryd ready" 60
}

# Helpers for the channel process tests: an echo server and its totals.
# Source after setting BIN (the folder holding the test binaries).

SERVER_PID=
SERVER_LOG=
# Bazel's sandbox gives each test its own PID namespace, so $$ repeats
# across parallel tests while abstract socket names are shared: use random.
UNIQUE=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cleanup() {
  if [[ -n $SERVER_PID ]]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  jobs -p | xargs -r kill -KILL 2>/dev/null || true
}

# start_server SOCKET: runs the echo server, waits for "ready".
start_server() {
  SERVER_LOG=${TEST_TMPDIR:-/tmp}/echo-server-$UNIQUE.log
  "$BIN/channel_echo_server" --socket="$1" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q '^ready' "$SERVER_LOG" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$SERVER_LOG" >&2
  fail "echo server did not start"
}

# stop_server: SIGTERM, a clean exit within 10 s, then its totals line.
stop_server() {
  kill -0 "$SERVER_PID" 2>/dev/null || fail "echo server died"
  kill -TERM "$SERVER_PID"
  for _ in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  wait "$SERVER_PID" || fail "echo server exited with status $?"
  SERVER_PID=
  grep '^echo-server stats' "$SERVER_LOG"
}

# total NAME: a value from the totals line.
total() {
  grep '^echo-server stats' "$SERVER_LOG" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

#!/usr/bin/env bash
# Remote agents as on a fleet: the testbed's two hosts run their bench
# agents on TCP with mutual TLS (two_hosts.sh --agents=tls), and the
# orchestrator, on this machine, reaches them over the management network
# by address. Its run gives results of the same shape as over the agents'
# Unix sockets. And each way it can go wrong says so: a client certificate
# from another CA, no client certificate, a plaintext client, an agent
# certificate from another CA, an unreachable address, a port where no
# agent listens, an agent of another bench API version, and a host whose
# ferryd is down (its Ferry rows fail with the reason, TCP still runs).
# The teardown leaves no namespace, bridge or process.
set -euo pipefail
export FERRYD=$(realpath "$1")
export MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap 'deploy/testbed/two_hosts.sh down >/dev/null 2>&1 || true' EXIT
dir=${TEST_TMPDIR:-/tmp}/orchestrator_tls
rm -rf "$dir"
mkdir -p "$dir"
tls=/run/ferry-testbed/tls
matrix=(--ferry_remote=10.70.0.2 --tcp_remote=10.70.1.2 --tcp_bind=10.70.1.1
        --transports=ferry,tcp --windows=1,32 --duration_s=1 --warmup_s=0.2
        --verify)
orchestrate() {
  /usr/bin/python3 bench/orchestrator.py "$@"
}
over_tls() {
  orchestrate --client_agent=10.70.2.1:7100 --server_agent=10.70.2.2:7100 "$@"
}
# expect_refusal NAME WORDS ARGS...: the orchestrator stops before any run
# (exit status 2) with WORDS in its message.
expect_refusal() {
  local name=$1 words=$2 rc=0
  shift 2
  orchestrate "$@" --out="$dir/$name" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
  ((rc == 2)) || { cat "$dir/$name.err"; fail "$name: exit status $rc, not 2"; }
  grep -q "$words" "$dir/$name.err" ||
    { cat "$dir/$name.err"; fail "$name: no '$words' in the message"; }
  [[ ! -e $dir/$name ]] || fail "$name: a run folder was written"
  echo "ok: $name refused: $(cut -c1-160 "$dir/$name.err")"
}

deploy/testbed/two_hosts.sh up --agents=tls
listeners=$(ip netns exec ferry-tb-a ss -ltn)
grep -q "10.70.2.1\]*:7100" <<<"$listeners" ||
  fail "agent a does not listen on 10.70.2.1:7100: $listeners"

orchestrate --client_agent=unix:/run/ferry-testbed/a/agent.sock \
  --server_agent=unix:/run/ferry-testbed/b/agent.sock "${matrix[@]}" \
  --out="$dir/unix" | tr '\r' '\n' | tail -n 3
over_tls --tls_ca=$tls/ca.pem --tls_cert=$tls/orchestrator.pem \
  --tls_key=$tls/orchestrator.key "${matrix[@]}" --out="$dir/tls" |
  tr '\r' '\n' | tail -n 8
/usr/bin/python3 - "$dir/unix" "$dir/tls" <<'PY' || fail "TLS results differ in shape"
import json, sys
runs = [json.load(open(f"{d}/results.json")) for d in sys.argv[1:]]
def shape(rows):
    return sorted((r["transport"], r["request_size"], r["window"],
                   tuple(sorted(r))) for r in rows)
assert shape(runs[0]) == shape(runs[1]), (shape(runs[0]), shape(runs[1]))
for rows in runs:
    assert len(rows) == 4, rows
    for r in rows:
        assert not r["error"], r
        assert r["verify_failures"] == 0 and r["rpc_per_s"] > 0, r
        assert r["latency_cdf_us"] and r["rpc_per_s_series"], r
print("ok: 4 verified runs over mutual TLS, the same shape as over Unix sockets")
PY
grep -q "10.70.2.2:7100" "$dir/tls/report.md" || fail "the report does not name the agents"

# Certificates that must not pass.
other=$dir/other-ca
bench/agent/make_test_ca.sh "$other" a=10.70.2.1 b=10.70.2.2 >/dev/null
expect_refusal client_from_other_ca "refused this orchestrator" \
  --client_agent=10.70.2.1:7100 --server_agent=10.70.2.2:7100 \
  --tls_ca=$tls/ca.pem --tls_cert=$other/orchestrator.pem \
  --tls_key=$other/orchestrator.key "${matrix[@]}"
expect_refusal no_client_certificate "refused this orchestrator" \
  --client_agent=10.70.2.1:7100 --server_agent=10.70.2.2:7100 \
  --tls_ca=$tls/ca.pem "${matrix[@]}"
expect_refusal agent_from_other_ca "does not verify against --tls_ca" \
  --client_agent=10.70.2.1:7100 --server_agent=10.70.2.2:7100 \
  --tls_ca=$other/ca.pem --tls_cert=$tls/orchestrator.pem \
  --tls_key=$tls/orchestrator.key "${matrix[@]}"
expect_refusal plaintext_from_orchestrator "agents speak TLS only" \
  --client_agent=10.70.2.1:7100 --server_agent=10.70.2.2:7100 "${matrix[@]}"
# A plaintext gRPC client of our own: the agent must not answer it.
/usr/bin/python3 - <<'PY' || fail "an agent answered a plaintext client"
import os, sys
sys.path.insert(0, os.getcwd())
import grpc
from bench import pyproto
pb, pb_grpc = pyproto.load("bench")
stub = pb_grpc.BenchAgentStub(grpc.insecure_channel("10.70.2.1:7100"))
try:
    stub.GetHostInfo(pb.GetHostInfoRequest(), timeout=5)
    raise SystemExit("answered")
except grpc.RpcError as e:
    print(f"ok: plaintext client refused: {e.code().name}")
PY

# Agents that cannot be driven.
expect_refusal unreachable "no answer" --connect_timeout_s=2 \
  --client_agent=10.70.2.9:7100 --server_agent=10.70.2.2:7100 \
  --tls_ca=$tls/ca.pem --tls_cert=$tls/orchestrator.pem \
  --tls_key=$tls/orchestrator.key "${matrix[@]}"
expect_refusal nothing_listens "nothing listens there" \
  --client_agent=10.70.2.1:7199 --server_agent=10.70.2.2:7100 \
  --tls_ca=$tls/ca.pem --tls_cert=$tls/orchestrator.pem \
  --tls_key=$tls/orchestrator.key "${matrix[@]}"
ip netns exec ferry-tb-b /usr/bin/python3 bench/agent/bench_agent.py \
  --listen=10.70.2.2:7101 --tls_cert=$tls/agent-b.pem --tls_key=$tls/agent-b.key \
  --tls_client_ca=$tls/ca.pem --msg_gen="$MSG_GEN" --api_version=1 \
  --ferryd_socket=/run/ferry-testbed/b/ferryd.sock >"$dir/old_agent.log" 2>&1 &
old_agent=$!
for _ in $(seq 100); do grep -q "bench agent on" "$dir/old_agent.log" && break; sleep 0.1; done
expect_refusal version_skew "version skew: the agent speaks bench API v1" \
  --client_agent=10.70.2.1:7100 --server_agent=10.70.2.2:7101 \
  --tls_ca=$tls/ca.pem --tls_cert=$tls/orchestrator.pem \
  --tls_key=$tls/orchestrator.key "${matrix[@]}"
kill "$old_agent"; wait "$old_agent" 2>/dev/null || true

# ferryd down on the server host: Ferry rows fail with the reason, TCP runs.
kill -TERM "$(cat /run/ferry-testbed/b/ferryd.pid)"
for _ in $(seq 100); do
  kill -0 "$(cat /run/ferry-testbed/b/ferryd.pid)" 2>/dev/null || break
  sleep 0.1
done
over_tls --tls_ca=$tls/ca.pem --tls_cert=$tls/orchestrator.pem \
  --tls_key=$tls/orchestrator.key "${matrix[@]}" --out="$dir/no_ferryd" \
  2>"$dir/no_ferryd.err" | tr '\r' '\n' | tail -n 3
grep -q "Ferry runs will fail: server host: ferryd does not answer" \
  "$dir/no_ferryd.err" || { cat "$dir/no_ferryd.err"; fail "no warning about ferryd"; }
/usr/bin/python3 - "$dir/no_ferryd/results.json" <<'PY' || fail "bad results without ferryd"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 4, rows
for r in rows:
    if r["transport"] == "ferry":
        assert "ferryd does not answer" in r["error"], r
    else:
        assert not r["error"] and r["rpc_per_s"] > 0, r
print("ok: without ferryd, Ferry rows say why and TCP rows ran")
PY

deploy/testbed/two_hosts.sh down
ip netns list | grep -q ferry-tb && fail "a testbed namespace is left"
ip link show tb-mgmt >/dev/null 2>&1 && fail "the management bridge is left"
pgrep -f "bench_agent.py" >/dev/null && fail "an agent is left"
echo "PASS: orchestrator and agents over mutual TLS across namespaces"

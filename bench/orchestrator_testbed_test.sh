#!/usr/bin/env bash
# The whole benchmark suite on the local testbed: two_hosts.sh brings up
# two hosts with ferryd and a bench agent each; the orchestrator runs Ferry
# and kernel TCP at windows 1 and 32 and writes the run folder; report.html
# renders in headless Chromium with its plots and no console errors; a
# server agent killed mid-run gives failed rows with reasons while the
# matrix completes; and the teardown leaves no namespace, link or process.
set -euo pipefail
export FERRYD=$(realpath "$1")
export MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap 'deploy/testbed/two_hosts.sh down >/dev/null 2>&1 || true' EXIT
dir=${TEST_TMPDIR:-/tmp}/orchestrator
rm -rf "$dir"
mkdir -p "$dir"
orchestrate() {
  /usr/bin/python3 bench/orchestrator.py \
    --client_agent=unix:/run/ferry-testbed/a/agent.sock \
    --server_agent=unix:/run/ferry-testbed/b/agent.sock \
    --ferry_remote=10.70.0.2 --tcp_remote=10.70.1.2 --tcp_bind=10.70.1.1 "$@"
}

deploy/testbed/two_hosts.sh up
orchestrate --transports=ferry,tcp --windows=1,32 --duration_s=1 --warmup_s=0.2 \
  --verify --out="$dir/run" | tr '\r' '\n' | tail -n 12
for f in report.html report.md results.json results.csv; do
  [[ -s $dir/run/$f ]] || fail "no $f in the run folder"
done
/usr/bin/python3 - "$dir/run/results.json" <<'PY' || fail "bad results"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 4, rows
for r in rows:
    assert not r["error"], r
    assert r["verify_failures"] == 0 and r["rpc_per_s"] > 0, r
    assert r["latency_cdf_us"] and r["rpc_per_s_series"], r
assert {r["transport"] for r in rows} == {"ferry", "tcp"}
print("ok: 4 verified runs with latency distributions and time series")
PY
grep -q "ferry / tcp" "$dir/run/report.md" || fail "report.md has no ratios"

# report.html in a headless browser, offline.
source bench/report/headless_render.sh
render_report "$dir/run/report.html" "$dir"
svgs=$REPORT_SVGS
((svgs == 4)) || fail "$svgs plots rendered, expected 4"
# Read at a glance: the environment echoed, ticks in human units.
grep -q '<section id="environment">' "$dir/run/report.html" ||
  fail "report.html has no environment block"
grep -q 'polling: ' "$dir/run/report.html" || fail "no polling mode in the report"
ticks=$(grep -o 'class="tick [xy]"[^>]*>[^<]*<' "$dir/run/report.html" |
  sed 's/.*>\(.*\)</\1/')
[[ -n $ticks ]] || fail "no tick labels"
if grep -vqE '^(0|[0-9]+(\.[0-9]+)?)( ?[KMG]| (µs|ms|s))?$' <<<"$ticks"; then
  fail "tick labels not in human units: $(grep -vE '^(0|[0-9.]+)( ?[KMG]| (µs|ms|s))?$' <<<"$ticks" | head -3)"
fi
echo "ok: report.html renders offline with 4 plots and no console messages"

# A server agent that dies mid-run.
(sleep 3.5
 ip netns pids ferry-tb-b | while read -r pid; do
   cmd=$(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null || true)
   [[ $cmd == *bench_agent* || $cmd == *"--role=server"* ]] && kill -9 "$pid"
 done) &
killer=$!
orchestrate --transports=tcp,ferry --windows=1,32 --duration_s=2 --warmup_s=0 \
  --out="$dir/dying" | tr '\r' '\n' | tail -n 8 || true
wait $killer
/usr/bin/python3 - "$dir/dying/results.json" <<'PY' || fail "bad failed-run results"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 4, f"{len(rows)} rows: the matrix did not complete"
failed = [r for r in rows if r["error"]]
assert failed, "no failed row although the server agent died"
for r in failed:
    print(f"ok: failed row {r['transport']} w{r['window']}: {r['error']}")
PY
[[ -s $dir/dying/report.html ]] || fail "no report after a failed run"

deploy/testbed/two_hosts.sh down
leftover=$(ip netns list | grep -c "ferry-tb-" || true)
((leftover == 0)) || fail "namespaces left: $(ip netns list)"
! ip link show tb-a0 >/dev/null 2>&1 || fail "veth tb-a0 left behind"
! pgrep -f "/run/ferry-testbed/" >/dev/null || fail "processes left: $(pgrep -af /run/ferry-testbed/)"
[[ ! -e /run/ferry-testbed ]] || fail "/run/ferry-testbed left behind"
echo "ok: teardown left no namespace, link, process or file"
echo "PASS: orchestrator, agents, report and testbed"

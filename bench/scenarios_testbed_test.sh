#!/usr/bin/env bash
# Scenarios beyond a pair: a 4-host bridge testbed (n_hosts.sh: ferryd over
# net_af_packet and a bench agent with mutual TLS in each namespace), the
# orchestrator runs incast 3→1 (with its small-message probe, alone and
# beside the load) and all-to-all for Ferry and kernel TCP with every
# payload verified, and writes the report (rendered in headless Chromium
# with no console messages); the receiver's downlink takes a tbf shaper and
# gives it back; the teardown leaves no namespace, link or process. Then a
# 3-host testbed over net_af_xdp runs incast 2→1 the same way, with the
# kernel's ping beside it.
set -euo pipefail
export FERRYD=$(realpath "$1")
export MSG_GEN=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap 'deploy/testbed/n_hosts.sh down >/dev/null 2>&1 || true' EXIT
dir=${TEST_TMPDIR:-/tmp}/scenarios
rm -rf "$dir"
mkdir -p "$dir"
tls=/run/ferry-nhosts/tls
hosts=4
orchestrate() {  # over hosts 1..$hosts
  local agents=() ferry=() kernel=() i
  for ((i = 1; i <= hosts; i++)); do
    agents+=(10.71.1.$i:7100) ferry+=(10.71.0.$i) kernel+=(10.71.1.$i)
  done
  /usr/bin/python3 bench/orchestrator.py \
    --agents="$(IFS=,; echo "${agents[*]}")" \
    --ferry_addresses="$(IFS=,; echo "${ferry[*]}")" \
    --kernel_addresses="$(IFS=,; echo "${kernel[*]}")" \
    --tls_ca=$tls/ca.pem --tls_cert=$tls/orchestrator.pem \
    --tls_key=$tls/orchestrator.key --transports=ferry,tcp --duration_s=1 \
    --warmup_s=0.2 --verify "$@" | tr '\r' '\n' | tail -n 14
}

deploy/testbed/n_hosts.sh up --hosts=$hosts
orchestrate --scenario=incast --sizes=16384 --response_size=64 --windows=4 \
  --probe --out="$dir/incast"
orchestrate --scenario=all_to_all --size_dist=64:50,1024:30,16384:20 \
  --response_size=64 --windows=4 --out="$dir/all"
/usr/bin/python3 - "$dir/incast/results.json" "$dir/all/results.json" <<'PY' ||
import json, sys
incast, everyone = (json.load(open(p)) for p in sys.argv[1:])
assert len(incast) == 6 and len(everyone) == 4, (len(incast), len(everyone))
for r in incast + everyone:
    assert not r["error"], r["error"]
    assert r["verify_failures"] == 0 and r["rpc_per_s"] > 0, r
    assert r["latency_cdf_us"] and r["rpc_per_s_series"], r["scenario"]
    assert r["p50_us"] <= r["p99_us"] <= r["p999_us"], r
load = [r for r in incast if r["scenario"] == "incast 3→1"]
assert {r["transport"] for r in load} == {"ferry", "tcp"}, load
for r in load:
    assert r["clients"] == 3 and r["request_size"] == 16384, r
    assert r["response_size"] == 64 and r["goodput_gbps"] > 0, r
    assert r["slowest_client_rpc_per_s"] > 0, r
ferry = next(r for r in load if r["transport"] == "ferry")
assert ferry["ferryd_counters"]["segments_tx"] > 0, ferry
assert 0 <= ferry["retransmit_fraction"] < 1, ferry
probes = sorted(r["scenario"] for r in incast if r["scenario"].startswith("probe"))
assert probes == ["probe, idle"] * 2 + ["probe, under incast"] * 2, probes
sizes = [64, 1024, 16384]
for r in everyone:
    assert [e["size"] for e in r["by_size"]] == sizes, r["by_size"]
    assert all(e["round_trips"] > 0 for e in r["by_size"]), r["by_size"]
loaded = [r for r in everyone if r["scenario"] == "all-to-all 4"]
assert {r["transport"] for r in loaded} == {"ferry", "tcp"}, loaded
for r in loaded:
    assert r["clients"] == 4 and r["flows"] == 3, r  # a flow per peer
    assert [e["size"] for e in r["slowdown"]] == sizes, r["slowdown"]
    assert all(e["p99"] >= e["p50"] > 0 for e in r["slowdown"]), r["slowdown"]
references = [r for r in everyone
              if r["scenario"] == "all-to-all reference, unloaded"]
assert len(references) == 2 and all(r["window"] == 1 for r in references)
print("ok: incast 3→1 with its probe, and all-to-all over 4 hosts with a "
      "size mix and its slowdown per size; Ferry and TCP, every payload "
      "verified")
PY
  fail "bad scenario results"
for run in incast all; do
  for f in report.html report.md results.json results.csv; do
    [[ -s $dir/$run/$f ]] || fail "no $f in the $run run folder"
  done
done
grep -q "| incast 3→1 | ferry |" "$dir/incast/report.md" ||
  fail "report.md has no incast line"
grep -q "all-to-all 4: 16384 B" "$dir/all/report.html" ||
  fail "report.html has no all-to-all section"
grep -q 'aria-label="slowdown by request size"' "$dir/all/report.html" ||
  fail "report.html has no slowdown plot"
grep -q '>16 KiB</text>' "$dir/all/report.html" ||
  fail "the slowdown plot's ticks are not the sizes"
grep -q "10.71.1.4:7100" "$dir/incast/report.md" || fail "report.md names no agent"

source bench/report/headless_render.sh
render_report "$dir/incast/report.html" "$dir"
((REPORT_SVGS >= 4)) || fail "$REPORT_SVGS plots in the incast report"
render_report "$dir/all/report.html" "$dir"
((REPORT_SVGS == 5)) || fail "$REPORT_SVGS plots in the all-to-all report, not 5"
echo "ok: the reports are written and render"

deploy/testbed/n_hosts.sh shape 1 100mbit
qdisc=$(tc qdisc show dev nh-v1)
[[ $qdisc == *"tbf"*"rate 100Mbit"* ]] || fail "no tbf on host 1's downlink: $qdisc"
deploy/testbed/n_hosts.sh shape 1 off
qdisc=$(tc qdisc show dev nh-v1)
[[ $qdisc != *tbf* ]] || fail "the shaper stayed: $qdisc"
echo "ok: host 1's downlink shaped and unshaped"

check_down() {
  deploy/testbed/n_hosts.sh down
  ip netns list | grep -q ferry-nh && fail "a testbed namespace is left"
  ip -br link | grep -qE "^nh-(br|v)" && fail "a testbed link is left"
  pgrep -f "bench_agent.py|--role=server" >/dev/null && fail "a process is left"
  return 0
}
check_down

# The same over net_af_xdp: Ferry's XDP program on each host's eth0 takes
# Ferry's frames, and the kernel's TCP and ping pass it on the same wire.
hosts=3
deploy/testbed/n_hosts.sh up --hosts=$hosts --wire=af_xdp
link=$(ip -n ferry-nh-1 link show eth0)
[[ $link == *"prog/xdp"*"ferry_xdp"* ]] || fail "no Ferry XDP program on eth0: $link"
orchestrate --scenario=incast --sizes=16384 --response_size=64 --windows=4 \
  --out="$dir/xdp"
/usr/bin/python3 - "$dir/xdp/results.json" <<'PY' || fail "bad af_xdp results"
import json, sys
rows = json.load(open(sys.argv[1]))
assert {r["transport"] for r in rows} == {"ferry", "tcp"}, rows
for r in rows:
    assert not r["error"] and r["verify_failures"] == 0, r
    assert r["scenario"] == "incast 2→1" and r["rpc_per_s"] > 0, r
ferry = next(r for r in rows if r["transport"] == "ferry")
assert ferry["ferryd_counters"]["segments_tx"] > 0, ferry
print("ok: incast 2→1 over af_xdp for Ferry and TCP on the same wires, "
      "verified")
PY
ip netns exec ferry-nh-1 ping -c 2 -W 2 10.71.1.3 >/dev/null ||
  fail "kernel ping across the af_xdp hosts failed"
echo "ok: kernel ping through eth0 beside Ferry's XDP program"
check_down
echo "PASS: incast and all-to-all on a 4-host bridge testbed, incast over af_xdp"

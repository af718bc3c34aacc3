#!/usr/bin/env bash
# Incast through a real bottleneck: the N-host testbed (n_hosts.sh), host
# 1's downlink shaped by tbf to a rate below what the senders offer, N-1
# senders of large requests to host 1 at once, and a 64 B window-1 probe
# from the last host, alone and then beside the incast. Ferry and kernel
# TCP take turns on the same hosts. Prints, per transport (medians over the
# repetitions): goodput as a share of the shaped rate, retransmitted
# segments (Ferry's, from the senders' ferryd), and the probe's P99 under
# incast against its P99 alone.
#
#   sudo bench/incast_shaped.sh [--hosts=4] [--rate=200mbit] [--size=65536]
#       [--window=4] [--duration_s=5] [--repetitions=3] [--out=DIR]
# Binaries: $FERRYD and $MSG_GEN (default: bazel-bin, build them first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hosts=4 rate=200mbit size=65536 window=4 duration=5 reps=3
out=ferry-incast-$(date +%Y%m%d-%H%M%S)
for arg in "$@"; do
  case $arg in
    --hosts=*) hosts=${arg#*=} ;;
    --rate=*) rate=${arg#*=} ;;
    --size=*) size=${arg#*=} ;;
    --window=*) window=${arg#*=} ;;
    --duration_s=*) duration=${arg#*=} ;;
    --repetitions=*) reps=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
trap 'deploy/testbed/n_hosts.sh down >/dev/null 2>&1 || true' EXIT
deploy/testbed/n_hosts.sh up --hosts="$hosts"
deploy/testbed/n_hosts.sh shape 1 "$rate"
agents=() ferry=() kernel=()
for ((i = 1; i <= hosts; i++)); do
  agents+=("10.71.1.$i:7100") ferry+=("10.71.0.$i") kernel+=("10.71.1.$i")
done
join() { local IFS=,; echo "$*"; }
tls=/run/ferry-nhosts/tls
/usr/bin/python3 bench/orchestrator.py --scenario=incast --probe \
  --agents="$(join "${agents[@]}")" --ferry_addresses="$(join "${ferry[@]}")" \
  --kernel_addresses="$(join "${kernel[@]}")" --tls_ca=$tls/ca.pem \
  --tls_cert=$tls/orchestrator.pem --tls_key=$tls/orchestrator.key \
  --transports=ferry,tcp --sizes="$size" --response_size=64 --windows="$window" \
  --duration_s="$duration" --warmup_s=1 --repetitions="$reps" --verify \
  --out="$out" | tr '\r' '\n' | grep -v '^\[' || true
/usr/bin/python3 - "$out/results.json" "$rate" <<'PY'
import json, re, statistics, sys
rows = json.load(open(sys.argv[1]))
number, unit = re.fullmatch(r"(\d+)([kmg])bit", sys.argv[2]).groups()
rate_gbps = int(number) * {"k": 1e-6, "m": 1e-3, "g": 1}[unit]
def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")
print(f"\nshaped incast, host 1's downlink at {sys.argv[2]}; medians of "
      f"{max(r.get('repetition', 0) for r in rows) + 1} repetition(s)")
for t in ("ferry", "tcp"):
    of = lambda s: [r for r in rows if r["transport"] == t and
                    r["scenario"].startswith(s) and not r["error"]]
    load, idle, busy = of("incast"), of("probe, idle"), of("probe, under")
    failed = [r["error"] for r in rows if r["transport"] == t and r["error"]]
    if failed:
        print(f"{t}: {len(failed)} failed run(s): {failed[0]}")
    if not (load and idle and busy):
        continue
    goodput = med([r["goodput_gbps"] for r in load])
    retrans = med([r.get("retransmit_fraction") for r in load])
    p99_idle = med([r["p99_us"] for r in idle])
    p99_busy = med([r["p99_us"] for r in busy])
    retrans_text = ("n/a (kernel)" if retrans != retrans else
                    f"{100 * retrans:.2f}% of segments")
    print(f"{t}: goodput {goodput * 1e3:.1f} Mbit/s = "
          f"{100 * goodput / rate_gbps:.1f}% of the shaped rate; "
          f"retransmitted {retrans_text}; probe P99 {p99_idle:.0f} us alone, "
          f"{p99_busy:.0f} us beside the incast ({p99_busy / p99_idle:.2f}x)")
PY
echo "run folder: $out"

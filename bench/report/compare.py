#!/usr/bin/python3
"""Compares two benchmark runs (results.json of the orchestrator) and flags
regressions beyond the run-to-run spread.

  orchestrator.py compare OLD/results.json NEW/results.json
  (or bench/report/compare.py OLD NEW)

For each configuration (transport, sizes, window, flows) found in both, the
median of its repetitions in OLD and NEW, the change, and a verdict. A
metric regressed when NEW is worse than OLD by more than the tolerance:
the larger of 5% and the spread of either run's repetitions ((max - min) /
median), so that a change the machine's own noise could make is not called
one. RPC/s is better higher, latencies lower.

Exit status: 0 no regression, 1 a regression flagged, 2 bad input.
"""
import json
import statistics
import sys

METRICS = (("rpc_per_s", "RPC/s", True), ("p50_us", "P50", False),
           ("p99_us", "P99", False))
FLOOR = 0.05


def _key(row):
    scenario = row.get("scenario") or "pairs"
    transport = row["transport"] + (f" ({scenario})" if scenario != "pairs"
                                    else "")
    return (transport, row["request_size"], row["response_size"],
            row["window"], row["flows"])


def load(path):
    with open(path) as f:
        rows = json.load(f)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: not a list of runs (results.json)")
    groups = {}
    for row in rows:
        if not row.get("error"):
            groups.setdefault(_key(row), []).append(row)
    return groups


def summarize(runs, metric):
    values = [r[metric] for r in runs]
    median = statistics.median(values)
    spread = (max(values) - min(values)) / median if median else 0.0
    return median, spread


def compare(old, new):
    """Returns (lines, regressions)."""
    lines = [f"{'configuration':34} {'metric':6} {'old':>12} {'new':>12} "
             f"{'change':>8} {'tolerance':>9}  verdict"]
    regressions = 0
    for key in sorted(set(old) & set(new)):
        transport, req, resp, window, flows = key
        name = (f"{transport} {req}/{resp} B w{window} x{flows}")
        for metric, label, higher_better in METRICS:
            o, o_spread = summarize(old[key], metric)
            n, n_spread = summarize(new[key], metric)
            if o == 0:
                continue
            change = n / o - 1
            tolerance = max(FLOOR, o_spread, n_spread)
            worse = -change if higher_better else change
            if worse > tolerance:
                verdict = "REGRESSION"
                regressions += 1
            elif -worse > tolerance:
                verdict = "better"
            else:
                verdict = "same (within noise)"
            lines.append(f"{name:34} {label:6} {o:12.1f} {n:12.1f} "
                         f"{change:+8.1%} {tolerance:9.1%}  {verdict}")
    only = sorted(set(old) ^ set(new))
    for key in only:
        side = "old" if key in old else "new"
        lines.append(f"{' '.join(map(str, key))}: only in the {side} run")
    return lines, regressions


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        old, new = load(argv[0]), load(argv[1])
    except (OSError, ValueError, KeyError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    lines, regressions = compare(old, new)
    print("\n".join(lines))
    print(f"\n{regressions} regression(s) beyond the run-to-run spread")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

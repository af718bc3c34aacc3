#!/usr/bin/python3
"""Collects msg_gen JSON results into a run folder's results.json,
results.csv and a Markdown table that puts Ferry and kernel TCP side by
side with their ratios.

  summarize_runs.py RUN_DIR RESULT.json...

Each RESULT.json is what `msg_gen --json_out` wrote. Prints the table.
"""
import csv
import json
import os
import sys

COLUMNS = ["scenario", "transport", "request_size", "response_size",
           "window", "flows", "round_trips", "seconds", "rpc_per_s", "gbps",
           "p50_us", "p99_us", "p999_us", "max_us", "verify_failures",
           "goodput_gbps", "retransmit_fraction", "error"]


def load(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        row = dict(doc["parameters"])
        row.update(doc["results"])
        row["source"] = os.path.basename(path)
        row["latency_cdf_us"] = doc.get("latency_cdf_us", [])
        rows.append(row)
    return rows


def scenario_of(row):
    """"pairs" for one client and one server host, else what ran
    ("incast 3→1", "probe, idle", ...: bench/scenarios.py)."""
    return row.get("scenario") or "pairs"


def key(row):
    return (scenario_of(row), row["request_size"], row["response_size"],
            row["window"], row["flows"])


METRICS = ("p50_us", "p99_us", "p999_us", "rpc_per_s")


def aggregate(runs):
    """One row for several repetitions of a configuration: the median of
    each metric over the runs that succeeded (this machine drifts between
    runs; one run's tail says little), with how many there were. All
    failed: the last failure."""
    ok = [r for r in runs if not r.get("error")]
    if not ok:
        row = dict(runs[-1])
        row["runs"], row["runs_ok"] = len(runs), 0
        return row
    row = dict(ok[0])
    for metric in METRICS:
        values = sorted(r[metric] for r in ok)
        middle = len(values) // 2
        row[metric] = (values[middle] if len(values) % 2 else
                       (values[middle - 1] + values[middle]) / 2)
    row["runs"], row["runs_ok"] = len(runs), len(ok)
    return row


def table(rows):
    """Markdown: one line per configuration and transport (the median of
    its repetitions), plus the Ferry/TCP ratio where both ran."""
    lines = [
        "| transport | size (B) | window | flows | runs | P50 (us) | P99 (us) "
        "| P99.9 (us) | RPC/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_config = {}
    for row in rows:
        by_config.setdefault(key(row), {}).setdefault(
            row["transport"], []).append(row)
    for config in sorted(by_config):
        runs = {t: aggregate(rs) for t, rs in by_config[config].items()}
        for transport in ("ferry", "tcp", "udp"):
            if transport not in runs:
                continue
            r = runs[transport]
            label = (transport if config[0] == "pairs" else
                     f"{transport}, {config[0]}")
            size = (str(r["request_size"]) if r["request_size"] ==
                    r["response_size"] else
                    "%d/%d" % (r["request_size"], r["response_size"]))
            note = (" (failed: %s)" % r["error"] if r["runs_ok"] == 0 else
                    "")
            count = ("%d" % r["runs"] if r["runs_ok"] == r["runs"] else
                     "%d of %d" % (r["runs_ok"], r["runs"]))
            lines.append(
                "| %s%s | %s | %d | %d | %s | %.1f | %.1f | %.1f | %.0f |" % (
                    label, note, size, r["window"], r["flows"], count,
                    r["p50_us"], r["p99_us"], r["p999_us"], r["rpc_per_s"]))
        if "ferry" in runs and "tcp" in runs:
            f, t = runs["ferry"], runs["tcp"]

            def ratio(a, b):
                return "%.2fx" % (a / b) if b else "n/a"
            lines.append(
                "| *ferry / tcp* | | | | | %s | %s | %s | %s |" % (
                    ratio(f["p50_us"], t["p50_us"]),
                    ratio(f["p99_us"], t["p99_us"]),
                    ratio(f["p999_us"], t["p999_us"]),
                    ratio(f["rpc_per_s"], t["rpc_per_s"])))
    extra = scenario_table(rows)
    return "\n".join(lines) + ("\n\n" + extra if extra else "")


def scenario_table(rows):
    """Markdown for rows of several clients at once (incast, all-to-all):
    goodput, fairness between clients and Ferry's retransmissions, the
    median over repetitions; "" when there are none."""
    groups = {}
    for row in rows:
        if scenario_of(row) != "pairs" and row.get("clients"):
            groups.setdefault((key(row), row["transport"]), []).append(row)
    if not groups:
        return ""
    lines = ["| scenario | transport | size (B) | window | clients | "
             "goodput (Gbit/s) | slowest / fastest client (RPC/s) | "
             "retransmitted | dropped at a full TX queue | queueing per "
             "round trip (us) | window cuts (delay / loss) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (config, transport), runs in sorted(groups.items()):
        ok = [r for r in runs if not r.get("error")] or runs
        r = ok[len(ok) // 2] if len(ok) % 2 else sorted(
            ok, key=lambda x: x["rpc_per_s"])[len(ok) // 2]
        counters = r.get("ferryd_counters") or {}
        retrans = ("%.2f%% of %d segments" % (
            100 * r.get("retransmit_fraction", 0),
            counters.get("segments_tx", 0)) if counters else "n/a")
        if counters.get("timeouts_spurious"):
            retrans += " (%d timeouts spurious)" % (
                counters["timeouts_spurious"])
        drops = "%d" % counters.get("tx_drop_full", 0) if counters else "n/a"
        samples = counters.get("rtt_samples", 0)
        queueing = ("%.1f" % (counters.get("queueing_s", 0) / samples * 1e6)
                    if samples else "n/a")
        cuts = ("%d / %d" % (counters.get("cc_cuts_delay", 0),
                             counters.get("cc_cuts_loss", 0))
                if counters else "n/a")
        size = (str(r["request_size"]) if r["request_size"] ==
                r["response_size"] else
                "%d/%d" % (r["request_size"], r["response_size"]))
        lines.append("| %s | %s | %s | %d | %d | %.3f | %.0f / %.0f | %s | "
                     "%s | %s | %s |" % (
                         config[0], transport, size, r["window"],
                         r["clients"], r.get("goodput_gbps", 0),
                         r.get("slowest_client_rpc_per_s", 0),
                         r.get("fastest_client_rpc_per_s", 0), retrans,
                         drops, queueing, cuts))
    return "\n".join(lines)


def write(run_dir, rows):
    """results.json, results.csv and table.md in run_dir; returns the
    table."""
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(run_dir, "results.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.get(c, "") for c in COLUMNS])
    text = table(rows)
    with open(os.path.join(run_dir, "table.md"), "w") as f:
        f.write(text + "\n")
    return text


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    print(write(sys.argv[1], load(sys.argv[2:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

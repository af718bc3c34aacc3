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

COLUMNS = ["transport", "request_size", "response_size", "window", "flows",
           "round_trips", "seconds", "rpc_per_s", "gbps", "p50_us", "p99_us",
           "p999_us", "max_us", "verify_failures", "error"]


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


def key(row):
    return (row["request_size"], row["response_size"], row["window"],
            row["flows"])


def table(rows):
    """Markdown: one line per configuration and transport, plus the
    Ferry/TCP ratio where both ran."""
    lines = [
        "| transport | size (B) | window | flows | P50 (us) | P99 (us) "
        "| P99.9 (us) | RPC/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_config = {}
    for row in rows:
        by_config.setdefault(key(row), {})[row["transport"]] = row
    for config in sorted(by_config):
        runs = by_config[config]
        for transport in ("ferry", "tcp", "udp"):
            if transport not in runs:
                continue
            r = runs[transport]
            size = (str(r["request_size"]) if r["request_size"] ==
                    r["response_size"] else
                    "%d/%d" % (r["request_size"], r["response_size"]))
            note = " (failed: %s)" % r["error"] if r.get("error") else ""
            lines.append("| %s%s | %s | %d | %d | %.1f | %.1f | %.1f | %.0f |" % (
                transport, note, size, r["window"], r["flows"], r["p50_us"],
                r["p99_us"], r["p999_us"], r["rpc_per_s"]))
        if "ferry" in runs and "tcp" in runs:
            f, t = runs["ferry"], runs["tcp"]

            def ratio(a, b):
                return "%.2fx" % (a / b) if b else "n/a"
            lines.append(
                "| *ferry / tcp* | | | | %s | %s | %s | %s |" % (
                    ratio(f["p50_us"], t["p50_us"]),
                    ratio(f["p99_us"], t["p99_us"]),
                    ratio(f["p999_us"], t["p999_us"]),
                    ratio(f["rpc_per_s"], t["rpc_per_s"])))
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

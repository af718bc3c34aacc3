"""summarize_runs: repetitions become one row each (the median), failures
are counted, and the Ferry/TCP ratio uses the medians."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
from bench.report import summarize_runs  # noqa: E402


def run(transport, p50, p999, rate, error=""):
    return {"transport": transport, "request_size": 1024,
            "response_size": 1024, "window": 1, "flows": 1, "p50_us": p50,
            "p99_us": p50 * 2, "p999_us": p999, "rpc_per_s": rate,
            "error": error}


def main():
    rows = [run("ferry", 10, 50, 90000), run("ferry", 30, 900, 10000),
            run("ferry", 12, 60, 80000), run("tcp", 40, 100, 20000),
            run("tcp", 0, 0, 0, error="agent died"),
            run("tcp", 60, 140, 18000)]
    text = summarize_runs.table(rows)
    print(text)
    lines = text.splitlines()
    ferry = next(l for l in lines if l.startswith("| ferry "))
    tcp = next(l for l in lines if l.startswith("| tcp "))
    ratio = next(l for l in lines if l.startswith("| *ferry / tcp*"))
    # Medians of three: P50 12, P99.9 60, 80000 RPC/s; the slow run is out.
    assert "| 3 | 12.0 | 24.0 | 60.0 | 80000 |" in ferry, ferry
    # Two of three TCP runs worked: their means of the middle pair.
    assert "| 2 of 3 | 50.0 | 100.0 | 120.0 | 19000 |" in tcp, tcp
    assert "| 0.24x | 0.24x | 0.50x | 4.21x |" in ratio, ratio
    failed = summarize_runs.table([run("udp", 0, 0, 0, error="refused")])
    assert "udp (failed: refused)" in failed and "| 0 of 1 |" in failed, failed
    print("PASS: repetitions are summarized by their medians")


if __name__ == "__main__":
    main()

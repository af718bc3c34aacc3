"""The report people read, checked on synthetic runs:
  - report.html: every tick label in human units (asserted on the SVG
    text: no 8.84e+04, µs/ms/s on latency and time axes, K/M on rates),
    legends under the plots (clear of the curves), the environment block
    and a summary line per configuration; rendered by headless Chromium
    with no console message, and a screenshot made;
  - compare: two results.json files, one configuration made 30% slower
    beyond its spread, another changed within its noise, a third better:
    exactly the slow one is flagged and the exit status says so.

  report_test.py OUT_DIR
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
from bench.report import compare, html_report, summarize_runs  # noqa: E402


def run(transport, size, window, rpc, p50, rep, rnd):
    # A latency CDF from p50/4 to 40 x p50, and a rate series over 5 s.
    cdf, x = [], p50 / 4
    while x < p50 * 40:
        cdf.append([round(x, 3), min(1.0, (x / (p50 * 40)) ** 0.3)])
        x *= 1.3
    series = [[t + 1.0, rpc * (0.9 + 0.2 * rnd.random())] for t in range(5)]
    return {"transport": transport, "request_size": size,
            "response_size": size, "window": window, "flows": 1,
            "round_trips": int(rpc * 5), "seconds": 5.0, "rpc_per_s": rpc,
            "gbps": rpc * size * 8 / 1e9, "p50_us": p50, "p99_us": p50 * 3,
            "p999_us": p50 * 9, "max_us": p50 * 40, "verify_failures": 0,
            "error": "", "latency_cdf_us": cdf, "rpc_per_s_series": series,
            "repetition": rep}


def check_report(out):
    rnd = random.Random(3)
    rows = []
    for rep in range(2):
        rows += [run("ferry", 1024, 1, 88400, 11.2, rep, rnd),
                 run("tcp", 1024, 1, 21300, 46.9, rep, rnd),
                 run("ferry", 1024, 32, 1123000, 28.4, rep, rnd),
                 run("tcp", 1024, 32, 312000, 102.0, rep, rnd)]
    table = summarize_runs.write(out, rows)
    hosts = {"client host": {"host": "a", "cpu": "AMD EPYC", "cores": 2,
                             "kernel": "6.1", "nic": "net_memif0",
                             "polling": "adaptive", "pinning": "core 1",
                             "encryption": "required (aes-128-gcm)"}}
    environment = {"date": "2026-12-05 21:00 UTC", "commit": "abc1234",
                   "parameters": "sizes 1024 B; windows 1,32"}
    path = os.path.join(out, "report.html")
    html_report.write(path, rows, table, hosts, environment)
    text = open(path).read()
    ticks = re.findall(r'<text class="tick (x|y)"[^>]*>([^<]*)</text>', text)
    assert len(ticks) > 20, ticks
    human = re.compile(r"^(0|\d+(\.\d+)?)( ?[KMG]| (µs|ms|s))?$")
    for axis, label in ticks:
        assert "e+" not in label and "e-" not in label, label
        assert human.match(label), f"not human: {label!r}"
    labels = [l for _, l in ticks]
    assert any(l.endswith("µs") for l in labels), labels
    assert any(l.endswith("K") for l in labels), labels
    assert any(l.endswith("M") for l in labels), labels
    # Legends sit under the plot's frame, not over the curves.
    for svg in re.findall(r"<svg.*?</svg>", text, re.S):
        frame = re.search(r'<rect x="\d+" y="(\d+)" width="\d+" '
                          r'height="(\d+(\.\d+)?)"', svg)
        bottom = float(frame.group(1)) + float(frame.group(2))
        for y in re.findall(r'<text class="legend" x="[\d.]+" y="([\d.]+)"',
                            svg):
            assert float(y) > bottom + 20, (y, bottom)
    assert '<section id="environment">' in text
    for fact in ("abc1234", "2026-12-05", "AMD EPYC", "adaptive", "core 1",
                 "required (aes-128-gcm)", "net_memif0"):
        assert fact in text, fact
    summaries = re.findall(r'<p class="summary">([^<]*)</p>', text)
    assert len(summaries) == 2, summaries
    assert "ferry/tcp: 3.60x RPC/s" in summaries[1], summaries[1]
    print("ok: report.html ticks in human units, legends clear, "
          "environment and summaries present")
    print("   e.g.", summaries[1])
    return path


def check_chromium(path, out):
    browser = shutil.which("chromium")
    assert browser, "chromium missing (deploy/install-deps.sh)"
    shot = os.path.join(out, "report.png")
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={os.path.join(out, 'chromium')}",
         "--proxy-server=127.0.0.1:9", "--enable-logging=stderr", "--v=0",
         f"--screenshot={shot}", "--window-size=1200,2000",
         "file://" + os.path.abspath(path)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-500:]
    assert os.path.getsize(shot) > 10000, "empty screenshot"
    console = [l for l in result.stderr.splitlines() if "CONSOLE" in l]
    assert not console, console
    print("ok: headless Chromium rendered it with no console message")


def check_compare(out):
    rnd = random.Random(5)
    old, new = [], []
    for rep in range(3):
        jitter = 1 + 0.02 * (rep - 1)
        old += [run("ferry", 1024, 32, 1000000 * jitter, 30.0, rep, rnd),
                run("tcp", 1024, 32, 300000 * jitter, 100.0, rep, rnd),
                run("ferry", 1024, 1, 80000 * jitter, 12.0, rep, rnd)]
        new += [run("ferry", 1024, 32, 700000 * jitter, 30.0, rep, rnd),
                run("tcp", 1024, 32, 303000 * jitter, 100.0, rep, rnd),
                run("ferry", 1024, 1, 80000 * jitter, 9.0, rep, rnd)]
    paths = []
    for name, rows in (("old", old), ("new", new)):
        p = os.path.join(out, f"{name}.json")
        with open(p, "w") as f:
            json.dump(rows, f)
        paths.append(p)
    orchestrator = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "orchestrator.py")
    result = subprocess.run([orchestrator, "compare"] + paths,
                            capture_output=True, text=True, timeout=60)
    print(result.stdout)
    assert result.returncode == 1, result
    flagged = [l for l in result.stdout.splitlines() if "REGRESSION" in l]
    assert len(flagged) == 1 and flagged[0].startswith("ferry 1024/1024 B w32"),\
        flagged
    assert "RPC/s" in flagged[0] and "-30.0%" in flagged[0], flagged
    assert re.search(r"tcp 1024/1024 B w32 .*RPC/s .*same \(within noise\)",
                     result.stdout), result.stdout
    assert re.search(r"ferry 1024/1024 B w1 .*P50 .*better", result.stdout)
    same = subprocess.run([orchestrator, "compare", paths[0], paths[0]],
                          capture_output=True, text=True, timeout=60)
    assert same.returncode == 0 and "0 regression(s)" in same.stdout, same
    bad = subprocess.run([orchestrator, "compare", paths[0]],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2, bad
    print("ok: compare flags exactly the regression beyond the spread")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    path = check_report(out)
    check_chromium(path, out)
    check_compare(out)
    print("PASS: the report reads at a glance and compare finds the "
          "regression")


if __name__ == "__main__":
    main()

"""report.html: the environment that produced it, the results table, and
per configuration a summary line, the latency distribution (CDF) and RPC/s
over time of each transport, as inline SVG with axes in human units (us,
ms, K, M) and legends below the plots, clear of the curves.
Self-contained: no scripts, no external resources."""
import html
import math

try:
    from bench.report import summarize_runs, units
except ImportError:  # run from bench/report itself
    import summarize_runs
    import units

COLORS = {"ferry": "#1f77b4", "tcp": "#d62728", "udp": "#2ca02c"}
WIDTH, PLOT_HEIGHT = 560, 255
LEFT, RIGHT, TOP = 64, 30, 20
LEGEND_ROW = 15


def _svg(title, series, x_label, y_label, log_x, y_max=None,
         x_fmt=units.count, y_fmt=units.count, x_ticks=None):
    """series: [(name, [(x, y), ...])]. Returns an <svg> element whose
    ticks sit at round values (or at x_ticks), labelled by x_fmt/y_fmt,
    and whose legend is under the x axis."""
    points = [p for _, pts in series for p in pts]
    xs = [p[0] for p in points if not log_x or p[0] > 0]
    if not xs:
        return f"<p>{html.escape(title)}: no data</p>"
    ys = [p[1] for p in points]
    lo, hi = min(xs), max(xs)
    if hi <= lo:
        hi = lo * 10 if log_x else lo + 1
    if log_x:
        x_ticks = x_ticks or units.log_ticks(lo, hi)
        fx = (lambda x: math.log10(max(x, 1e-9)))
    else:
        x_ticks = x_ticks or units.linear_ticks(lo, hi)
        fx = (lambda x: x)
    x0, x1 = fx(lo), fx(hi)
    top = y_max if y_max is not None else (max(ys) * 1.1 or 1.0)
    y_ticks = units.linear_ticks(0.0, top)
    if len(y_ticks) > 1 and y_ticks[-1] < top:
        y_ticks.append(y_ticks[-1] + (y_ticks[1] - y_ticks[0]))
    y0, y1 = 0.0, max(top, y_ticks[-1])
    w, h = WIDTH - LEFT - RIGHT, PLOT_HEIGHT - TOP - 40
    height = PLOT_HEIGHT + LEGEND_ROW * len(series) + 5

    def px(x):
        return LEFT + (fx(x) - x0) / (x1 - x0) * w

    def py(y):
        return TOP + h - (y - y0) / (y1 - y0) * h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
           f'height="{height}" role="img" aria-label="{html.escape(title)}">',
           f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" '
           'fill="none" stroke="#999"/>']
    for xv in x_ticks:
        xp = px(xv)
        out.append(f'<line x1="{xp:.1f}" y1="{TOP + h}" x2="{xp:.1f}" '
                   f'y2="{TOP + h + 4}" stroke="#999"/>')
        out.append(f'<text class="tick x" x="{xp:.1f}" y="{TOP + h + 15}" '
                   f'font-size="10" text-anchor="middle">'
                   f'{html.escape(x_fmt(xv))}</text>')
    for yv in y_ticks:
        yp = py(yv)
        out.append(f'<line x1="{LEFT - 4}" y1="{yp:.1f}" x2="{LEFT}" '
                   f'y2="{yp:.1f}" stroke="#999"/>')
        out.append(f'<text class="tick y" x="{LEFT - 6}" y="{yp + 3:.1f}" '
                   f'font-size="10" text-anchor="end">'
                   f'{html.escape(y_fmt(yv))}</text>')
    out.append(f'<text x="{LEFT + w / 2}" y="{TOP + h + 32}" font-size="11" '
               f'text-anchor="middle">{html.escape(x_label)}</text>')
    out.append(f'<text x="12" y="{TOP + h / 2}" font-size="11" '
               f'transform="rotate(-90 12 {TOP + h / 2})" '
               f'text-anchor="middle">{html.escape(y_label)}</text>')
    for n, (name, pts) in enumerate(series):
        pts = [p for p in pts if not log_x or p[0] > 0]
        color = COLORS.get(name.split(" ")[0], "#555")  # "ferry run 2"
        # A transport's median next to its tail: dashed ("ferry p50").
        dash = ' stroke-dasharray="6 3"' if name.endswith(" p50") else ""
        if pts:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.append(f'<polyline fill="none" stroke="{color}"{dash} '
                       f'stroke-width="2" points="{path}"/>')
        # The legend: under the axis label, one row per series.
        ly = PLOT_HEIGHT + LEGEND_ROW * n
        out.append(f'<line x1="{LEFT}" y1="{ly - 4}" x2="{LEFT + 18}" '
                   f'y2="{ly - 4}" stroke="{color}"{dash} stroke-width="3"/>')
        out.append(f'<text class="legend" x="{LEFT + 24}" y="{ly}" '
                   f'font-size="12" fill="{color}">{html.escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _summary(runs):
    """One line: each transport's median P50, P99 and RPC/s (over its
    successful repetitions, as the table takes them), and Ferry against TCP
    where both ran."""
    by = {}
    for r in runs:
        by.setdefault(r["transport"], []).append(r)
    med = {t: summarize_runs.aggregate(rs) for t, rs in by.items()}
    med = {t: m for t, m in med.items() if m["runs_ok"]}
    facts = [f"{t}: P50 {units.micros(med[t]['p50_us'])}, "
             f"P99 {units.micros(med[t]['p99_us'])}, "
             f"{units.count(med[t]['rpc_per_s'])} RPC/s"
             for t in ("ferry", "tcp", "udp") if t in med]
    if "ferry" in med and "tcp" in med and med["tcp"]["rpc_per_s"] and \
            med["tcp"]["p50_us"]:
        f, t = med["ferry"], med["tcp"]
        facts.append(f"ferry/tcp: {f['rpc_per_s'] / t['rpc_per_s']:.2f}x "
                     f"RPC/s, {f['p50_us'] / t['p50_us']:.2f}x P50")
    failed = sum(1 for r in runs if r.get("error"))
    if failed:
        facts.append(f"{failed} run(s) failed")
    return "; ".join(facts) or "no successful run"


def _environment(environment, hosts):
    rows = list((environment or {}).items())
    for role, facts in hosts.items():
        rows.append((role, ", ".join(f"{k}: {v}" for k, v in facts.items()
                                     if v not in ("", None))))
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th>"
                    f"<td class=\"env\">{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    return (f'<section id="environment"><h2>Environment</h2>'
            f"<table>{cells}</table></section>")


def write(path, rows, table_md, hosts, environment=None):
    """rows: msg_gen results (dicts with latency_cdf_us, rpc_per_s_series);
    table_md: the Markdown table; hosts: {role: host facts dict};
    environment: {name: value} about the run (date, commit, parameters)."""
    configs = {}
    for row in rows:
        key = (summarize_runs.scenario_of(row), row.get("request_size"),
               row.get("response_size"), row.get("window"), row.get("flows"))
        configs.setdefault(key, []).append(row)
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             "<title>Ferry benchmark report</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:4px 8px;text-align:right}th{background:#eee}"
             "td.env{text-align:left}.summary{font-weight:bold}"
             ".plots{display:flex;flex-wrap:wrap;gap:1em}</style>",
             "</head><body>", "<h1>Ferry benchmark report</h1>",
             _environment(environment, hosts), "<h2>Results</h2>",
             _table_html(table_md)]
    for key in sorted(configs, key=lambda k: tuple(x or 0 for x in k)):
        scenario, req, resp, window, flows = key
        runs = configs[key]
        where = "" if scenario == "pairs" else f"{html.escape(scenario)}: "
        parts.append(f"<h2>{where}{req} B / {resp} B, window {window}, "
                     f"{flows} flow(s)</h2>")
        parts.append(f'<p class="summary">{html.escape(_summary(runs))}</p>'
                     '<div class="plots">')
        # Repetitions of a transport are told apart by their run number.
        repeated = len(runs) > len({r["transport"] for r in runs})

        def name(r):
            return (f"{r['transport']} run {r.get('repetition', 0) + 1}"
                    if repeated else r["transport"])
        cdf = [(name(r), [(x, y) for x, y in r.get("latency_cdf_us", [])])
               for r in runs]
        parts.append(_svg("latency CDF", cdf, "round-trip latency (log)",
                          "fraction of round trips", True, 1.0,
                          x_fmt=units.micros, y_fmt=units.fraction))
        rate = [(name(r), [(t, v) for t, v in r.get("rpc_per_s_series", [])])
                for r in runs]
        parts.append(_svg("RPC/s over time", rate, "time", "RPC/s", False,
                          x_fmt=units.seconds, y_fmt=units.count))
        # Mixed request sizes under load: each size's slowdown against
        # its unloaded latency (bench/scenarios.py).
        slow = [(f"{name(r)} {which}", [(e["size"], e[which])
                                        for e in r["slowdown"]])
                for r in runs if r.get("slowdown") for which in ("p50", "p99")]
        if slow:
            parts.append(_svg("slowdown by request size", slow,
                              "request size (log)",
                              "latency / unloaded P50", True,
                              x_fmt=units.size, y_fmt=units.times,
                              x_ticks=sorted({x for _, pts in slow
                                              for x, _ in pts})))
        parts.append("</div>")
    parts.append("</body></html>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def _table_html(table_md):
    """Each Markdown table of table_md (blank-line separated) as HTML."""
    return "".join(_one_table_html(block)
                   for block in table_md.split("\n\n"))


def _one_table_html(table_md):
    lines = [l for l in table_md.splitlines() if l.startswith("|")]
    if len(lines) < 2:
        return ""
    out = ["<table>"]
    for i, line in enumerate(lines):
        if i == 1:
            continue  # the Markdown separator
        cells = [c.strip() for c in line.strip("|").split("|")]
        tag = "th" if i == 0 else "td"
        out.append("<tr>" + "".join(
            f"<{tag}>{html.escape(c.strip('*'))}</{tag}>" for c in cells) +
            "</tr>")
    out.append("</table>")
    return "\n".join(out)

"""report.html: the results table and, per configuration, the latency
distribution (CDF) and RPC/s over time of each transport, as inline SVG.
Self-contained: no scripts, no external resources."""
import html
import math

COLORS = {"ferry": "#1f77b4", "tcp": "#d62728", "udp": "#2ca02c"}
WIDTH, HEIGHT = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 60, 40, 20, 45


def _svg(title, series, x_label, y_label, log_x, y_max=None):
    """series: [(name, [(x, y), ...])]. Returns an <svg> element."""
    points = [p for _, pts in series for p in pts]
    if not points:
        return f"<p>{html.escape(title)}: no data</p>"
    xs = [p[0] for p in points if not log_x or p[0] > 0]
    ys = [p[1] for p in points]
    if not xs:
        return f"<p>{html.escape(title)}: no data</p>"
    fx = (lambda x: math.log10(max(x, 1e-9))) if log_x else (lambda x: x)
    x0, x1 = fx(min(xs)), fx(max(xs))
    if x1 - x0 < 1e-9:
        x1 = x0 + 1
    y0, y1 = 0.0, y_max if y_max is not None else max(ys) * 1.1 or 1.0
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + (fx(x) - x0) / (x1 - x0) * w

    def py(y):
        return TOP + h - (y - y0) / (y1 - y0) * h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
           f'height="{HEIGHT}" role="img" aria-label="{html.escape(title)}">',
           f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" '
           'fill="none" stroke="#999"/>']
    for i in range(5):  # ticks
        xv = x0 + (x1 - x0) * i / 4
        label = f"{10 ** xv:.3g}" if log_x else f"{xv:.3g}"
        xp = LEFT + w * i / 4
        out.append(f'<text x="{xp:.1f}" y="{TOP + h + 15}" font-size="10" '
                   f'text-anchor="middle">{label}</text>')
        yv = y0 + (y1 - y0) * i / 4
        yp = TOP + h - h * i / 4
        out.append(f'<text x="{LEFT - 5}" y="{yp + 3:.1f}" font-size="10" '
                   f'text-anchor="end">{yv:.3g}</text>')
    out.append(f'<text x="{LEFT + w / 2}" y="{HEIGHT - 5}" font-size="11" '
               f'text-anchor="middle">{html.escape(x_label)}</text>')
    out.append(f'<text x="12" y="{TOP + h / 2}" font-size="11" '
               f'transform="rotate(-90 12 {TOP + h / 2})" '
               f'text-anchor="middle">{html.escape(y_label)}</text>')
    for n, (name, pts) in enumerate(series):
        pts = [p for p in pts if not log_x or p[0] > 0]
        if not pts:
            continue
        color = COLORS.get(name.split(" ")[0], "#555")  # "ferry run 2"
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                   f'points="{path}"/>')
        out.append(f'<text x="{LEFT + 10}" y="{TOP + 15 + 14 * n}" '
                   f'font-size="12" fill="{color}">{html.escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def write(path, rows, table_md, hosts):
    """rows: msg_gen results (dicts with latency_cdf_us, rpc_per_s_series);
    table_md: the Markdown table; hosts: {role: host facts dict}."""
    configs = {}
    for row in rows:
        key = (row.get("request_size"), row.get("response_size"),
               row.get("window"), row.get("flows"))
        configs.setdefault(key, []).append(row)
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             "<title>Ferry benchmark report</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:4px 8px;text-align:right}th{background:#eee}"
             ".plots{display:flex;flex-wrap:wrap;gap:1em}</style>",
             "</head><body>", "<h1>Ferry benchmark report</h1>"]
    for role, facts in hosts.items():
        desc = ", ".join(f"{k}: {v}" for k, v in facts.items() if v)
        parts.append(f"<p><b>{html.escape(role)}</b>: {html.escape(desc)}</p>")
    parts.append(_table_html(table_md))
    for key in sorted(configs, key=lambda k: tuple(x or 0 for x in k)):
        req, resp, window, flows = key
        runs = configs[key]
        parts.append(f"<h2>{req} B / {resp} B, window {window}, "
                     f"{flows} flow(s)</h2><div class=\"plots\">")
        # Repetitions of a transport are told apart by their run number.
        repeated = len(runs) > len({r["transport"] for r in runs})

        def name(r):
            return (f"{r['transport']} run {r.get('repetition', 0) + 1}"
                    if repeated else r["transport"])
        cdf = [(name(r), [(x, y) for x, y in r.get("latency_cdf_us", [])])
               for r in runs]
        parts.append(_svg("latency CDF", cdf, "round-trip latency (us, log)",
                          "fraction of round trips", True, 1.0))
        rate = [(name(r), [(t, v) for t, v in r.get("rpc_per_s_series", [])])
                for r in runs]
        parts.append(_svg("RPC/s over time", rate, "seconds", "RPC/s", False))
        parts.append("</div>")
    parts.append("</body></html>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def _table_html(table_md):
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

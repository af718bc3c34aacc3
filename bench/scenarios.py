"""Scenarios on more than two hosts, for the orchestrator.

  incast:     host 1 runs the servers; every other host runs a client to it,
              all at once. With probe, a small-message client (64 B, window
              1) runs from the last host alone first and then beside the
              load: how much the incast delays a latency-sensitive request.
  all_to_all: every host runs the servers and a client whose flows go to
              every other host in turn (flows per peer x peers). With a
              request size distribution (--size_dist), a reference run
              first (host 2 to host 1, window 1, unloaded), and each
              size's slowdown: its P50 and P99 under all-to-all over its
              unloaded P50.

Each transport runs on the same hosts in turn. A configuration gives one
row: the clients' rates summed, their latency distributions merged
(weighted by round trips), the slowest and fastest client's rate
(fairness), the request goodput, and for Ferry the senders' ferryd
counters (segments sent, retransmitted, dropped at a full queue).
"""
import concurrent.futures
import json

import grpc

PROBE_SIZE = 64


class Host:
    """An agent and the host's addresses (Ferry's and the kernel's)."""

    def __init__(self, label, stub, facts, ferry_ip, kernel_ip):
        self.label, self.stub, self.facts = label, stub, facts
        self.ferry_ip, self.kernel_ip = ferry_ip, kernel_ip

    def ip(self, transport):
        return self.ferry_ip if transport == "ferry" else self.kernel_ip


def merge_cdfs(parts):
    """[(weight, [[x, F(x)], ...]), ...] -> one CDF over the union of the
    points: F(x) = sum of weight_i * F_i(x) / sum of weights."""
    parts = [(w, cdf) for w, cdf in parts if w > 0 and cdf]
    total = sum(w for w, _ in parts)
    if not total:
        return []
    xs = sorted({x for _, cdf in parts for x, _ in cdf})
    merged, cursors = [], [0] * len(parts)
    for x in xs:
        value = 0.0
        for i, (w, cdf) in enumerate(parts):
            while cursors[i] < len(cdf) and cdf[cursors[i]][0] <= x:
                cursors[i] += 1
            if cursors[i]:
                value += w * cdf[cursors[i] - 1][1]
        merged.append([x, value / total])
    return merged


def percentile(cdf, fraction):
    for x, f in cdf:
        if f >= fraction - 1e-9:
            return x
    return cdf[-1][0] if cdf else 0.0


def sum_series(series_list):
    """Interval rates of clients that ran together, added interval by
    interval (the time of the first client's)."""
    longest = max(series_list, key=len, default=[])
    return [[t, sum(s[i][1] for s in series_list if i < len(s))]
            for i, (t, _) in enumerate(longest)]


def combine(rows, scenario, senders):
    """One row for clients that ran together."""
    ok = [r for r in rows if not r.get("error")]
    first = rows[0]
    row = {k: first[k] for k in ("transport", "request_size",
                                 "response_size", "window", "flows")}
    row.update(scenario=scenario, senders=senders, clients=len(rows))
    errors = [r["error"] for r in rows if r.get("error")]
    row["error"] = "; ".join(dict.fromkeys(errors))
    row["round_trips"] = sum(r.get("round_trips", 0) for r in ok)
    row["seconds"] = max((r.get("seconds", 0) for r in ok), default=0)
    row["rpc_per_s"] = sum(r.get("rpc_per_s", 0) for r in ok)
    row["gbps"] = sum(r.get("gbps", 0) for r in ok)
    by_size = combine_by_size(ok)
    measured = sum(e["round_trips"] for e in by_size)
    mean_request = (sum(e["round_trips"] * e["size"] for e in by_size) /
                    measured if measured else row["request_size"])
    row["goodput_gbps"] = row["rpc_per_s"] * mean_request * 8 / 1e9
    row["verify_failures"] = sum(r.get("verify_failures", 0) for r in rows)
    rates = [r.get("rpc_per_s", 0) for r in ok]
    row["slowest_client_rpc_per_s"] = min(rates, default=0)
    row["fastest_client_rpc_per_s"] = max(rates, default=0)
    cdf = merge_cdfs([(r.get("round_trips", 0), r.get("latency_cdf_us", []))
                      for r in ok])
    row["latency_cdf_us"] = cdf
    for name, fraction in (("p50_us", 0.5), ("p99_us", 0.99),
                           ("p999_us", 0.999)):
        row[name] = percentile(cdf, fraction)
    row["max_us"] = max((r.get("max_us", 0) for r in ok), default=0)
    row["rpc_per_s_series"] = sum_series(
        [r.get("rpc_per_s_series", []) for r in ok])
    counters = {}
    for r in ok:
        for name, value in r.get("ferryd_counters", {}).items():
            counters[name] = counters.get(name, 0) + value
    if counters:
        row["ferryd_counters"] = counters
        sent = counters.get("segments_tx", 0)
        row["retransmit_fraction"] = (counters.get("retransmits", 0) / sent
                                      if sent else 0.0)
    row["client_cpu_seconds"] = sum(r.get("client_cpu_seconds", 0)
                                    for r in ok)
    row["by_size"] = by_size
    return row


def combine_by_size(rows):
    """Per request size (mixed sizes): the clients' distributions merged."""
    by = {}
    for r in rows:
        for entry in r.get("by_size", []):
            by.setdefault(entry["size"], []).append(entry)
    out = []
    for size in sorted(by):
        cdf = merge_cdfs([(e["round_trips"], e.get("latency_cdf_us", []))
                          for e in by[size]])
        out.append({"size": size,
                    "round_trips": sum(e["round_trips"] for e in by[size]),
                    "p50_us": percentile(cdf, 0.5),
                    "p99_us": percentile(cdf, 0.99),
                    "latency_cdf_us": cdf})
    return out


def slowdown(loaded, reference):
    """Each size's P50 and P99 under load over its unloaded P50."""
    ideal = {e["size"]: e["p50_us"] for e in reference.get("by_size", [])
             if e["p50_us"] > 0}
    return [{"size": e["size"], "p50": e["p50_us"] / ideal[e["size"]],
             "p99": e["p99_us"] / ideal[e["size"]]}
            for e in loaded.get("by_size", []) if e["size"] in ideal]


def run_client(host, spec, metadata):
    """One client to completion: its result row, or one with the error."""
    result = None
    try:
        for message in host.stub.RunClient(
                spec, timeout=spec.duration_s + spec.warmup_s + 120,
                metadata=metadata):
            if message.done:
                result = message
    except grpc.RpcError as e:
        return {"error": f"{host.label}: {e.code().name}: {e.details()}"}
    if result is None:
        return {"error": f"{host.label}: the agent ended the run without a "
                         "result"}
    if result.error:
        return {"error": f"{host.label}: {result.error}"}
    return result_row(result)


def result_row(result):
    """A result row from a client run's final RunProgress message."""
    doc = json.loads(result.result_json)
    row = dict(doc["parameters"])
    row.update(doc["results"])
    row["latency_cdf_us"] = doc.get("latency_cdf_us", [])
    row["rpc_per_s_series"] = doc.get("rpc_per_s_series", [])
    row["client_cpu_seconds"] = result.client_cpu_seconds
    row["ferryd_cpu_seconds"] = result.ferryd_cpu_seconds
    row["by_size"] = doc.get("by_size", [])
    if result.ferryd_counters:
        row["ferryd_counters"] = dict(result.ferryd_counters)
    return row


def run_together(jobs, metadata):
    """[(host, spec), ...] started at once; their rows in that order (a
    failed one with its parameters and the reason)."""
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(run_client, host, spec, metadata)
                   for host, spec in jobs]
        rows = [f.result() for f in futures]
    for row, (_, spec) in zip(rows, jobs):
        if "transport" not in row:
            row.update(failed(spec, row["error"]))
    return rows


def failed_row(transport, request_size, response_size, window, flows,
               reason):
    """A run that did not happen or ended early: its parameters, zero
    results and the reason."""
    return {"transport": transport, "request_size": request_size,
            "response_size": response_size, "window": window, "flows": flows,
            "round_trips": 0, "seconds": 0, "rpc_per_s": 0, "gbps": 0,
            "p50_us": 0, "p99_us": 0, "p999_us": 0, "max_us": 0,
            "verify_failures": 0, "error": reason, "latency_cdf_us": [],
            "rpc_per_s_series": []}


def failed(spec, reason):
    return failed_row(spec.transport, spec.request_size, spec.response_size,
                      spec.window, spec.flows, reason)


def ferryd_down(labelled_facts):
    """Why Ferry runs cannot run ("" when every host's ferryd answers):
    labelled_facts is [(label, host facts), ...]."""
    return "; ".join(f"{label}: {facts['ferryd']}"
                     for label, facts in labelled_facts if facts.get("ferryd"))


class Runner:
    """Runs one scenario's matrix on `hosts` (Host objects, in host order;
    host 1 is the incast receiver)."""

    def __init__(self, pb, hosts, args, metadata, ports, progress):
        self.pb, self.hosts, self.args = pb, hosts, args
        self.metadata, self.ports, self.progress = metadata, ports, progress

    def start_servers(self, servers_on, transport, response_size):
        """A server on each of servers_on; returns ([(host, handle)],
        error)."""
        started = []
        for host in servers_on:
            try:
                handle = host.stub.StartServer(self.pb.ServerSpec(
                    transport=transport, port=self.ports[transport],
                    response_size=response_size, verify=self.args.verify,
                    bind_ip="" if transport == "ferry" else host.kernel_ip),
                    timeout=30, metadata=self.metadata)
                started.append((host, handle))
            except grpc.RpcError as e:
                self.stop_servers(started)
                return [], f"server on {host.label}: {e.code().name}: " \
                           f"{e.details()}"
        return started, ""

    def stop_servers(self, started):
        for host, handle in started:
            try:
                host.stub.StopServer(handle, timeout=30,
                                     metadata=self.metadata)
            except grpc.RpcError:
                pass

    def spec(self, transport, client, servers, size, response_size, window,
             flows):
        port = self.ports[transport]
        return self.pb.ClientSpec(
            request_size_dist=self.args.size_dist,
            transport=transport,
            remote=",".join(f"{s.ip(transport)}:{port}" for s in servers),
            request_size=size, response_size=response_size, window=window,
            flows=flows, duration_s=self.args.duration_s,
            warmup_s=self.args.warmup_s, verify=self.args.verify,
            bind_ip="" if transport == "ferry" else client.kernel_ip)

    def run(self, scenario, transports, sizes, windows, repetitions):
        hosts = self.hosts
        n = len(hosts)
        rows = []
        probe = scenario == "incast" and self.args.probe
        per_config = 1 + (2 if probe else 0)
        total = len(transports) * len(sizes) * len(windows) * repetitions \
            * per_config
        done = 0
        for size in sizes:
            response_size = self.args.response_size or size
            for rep in range(repetitions):
                for window in windows:
                    for transport in transports:
                        label = f"{scenario} {transport} {size} B w{window}"
                        self.progress(done, total, label)
                        servers_on = hosts[:1] if scenario == "incast" \
                            else hosts
                        started, error = self.start_servers(
                            servers_on, transport, response_size)
                        results = []
                        if scenario == "incast":
                            name = f"incast {n - 1}→1"
                            jobs = [(h, self.spec(transport, h, hosts[:1],
                                                  size, response_size,
                                                  window, self.args.flows))
                                    for h in hosts[1:]]
                        else:
                            name = f"all-to-all {n}"
                            jobs = [(h, self.spec(
                                transport, h, [o for o in hosts if o is not h],
                                size, response_size, window,
                                self.args.flows * (n - 1))) for h in hosts]
                        probe_spec = self.spec(
                            transport, hosts[-1], hosts[:1], PROBE_SIZE,
                            response_size, 1, 1) if probe else None
                        if probe_spec:
                            probe_spec.request_size_dist = ""
                        reference = None
                        if scenario == "all_to_all" and self.args.size_dist \
                                and not error:
                            # The mix unloaded: each size's ideal latency.
                            reference = combine(run_together(
                                [(hosts[1], self.spec(
                                    transport, hosts[1], hosts[:1], size,
                                    response_size, 1, 1))], self.metadata),
                                "all-to-all reference, unloaded", 1)
                            reference["repetition"] = rep
                            rows.append(reference)
                        if error:
                            results = [failed(spec, error) for _, spec in jobs]
                            probe_rows = [failed(probe_spec, error)] * 2 \
                                if probe else []
                        else:
                            probe_rows = []
                            if probe:
                                probe_rows.append(run_together(
                                    [(hosts[-1], probe_spec)],
                                    self.metadata)[0])
                                done += 1
                                self.progress(done, total, label, "idle probe")
                            if probe:
                                jobs.append((hosts[-1], probe_spec))
                            results = run_together(jobs, self.metadata)
                            if probe:
                                probe_rows.append(results.pop())
                                done += 1
                        self.stop_servers(started)
                        row = combine(results, name, len(jobs))
                        row["repetition"] = rep
                        if reference is not None and not reference["error"]:
                            row["slowdown"] = slowdown(row, reference)
                        rows.append(row)
                        for probe_row, when in zip(probe_rows,
                                                   ("idle", "under incast")):
                            # ferryd's counters are the host's: under
                            # incast they hold the sender's traffic too.
                            probe_row.pop("ferryd_counters", None)
                            p = combine([probe_row], f"probe, {when}", 1)
                            p["repetition"] = rep
                            rows.append(p)
                        done += 1
                        self.progress(
                            done, total, label,
                            "failed: " + row["error"] if row["error"] else
                            f"{row['rpc_per_s']:.0f} RPC/s, "
                            f"{row['goodput_gbps']:.3f} Gbit/s")
        return rows

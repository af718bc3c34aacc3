#!/usr/bin/python3
"""Drives two bench agents through a matrix of msg_gen runs and writes a
run folder: results.json, results.csv, report.md and report.html.

  orchestrator.py --client_agent=unix:/run/ferry-testbed/a/agent.sock \\
      --server_agent=unix:/run/ferry-testbed/b/agent.sock \\
      --ferry_remote=10.70.0.2 --tcp_remote=10.70.1.2 --tcp_bind=10.70.1.1 \\
      --transports=ferry,tcp --sizes=1024 --windows=1,32 --duration_s=5 \\
      --out=RUN_DIR
  Agents over TCP: HOST:PORT with --tls_ca (and --tls_cert/--tls_key when
  the agent checks clients, as agents of a fleet should: mutual TLS;
  bench/agent/make_test_ca.sh makes a test CA). A matrix file
  (--matrix=FILE, JSON with the same keys as the flags) overrides the flags
  it names.

Before the first run it asks each agent what it is: an agent it cannot
reach, whose certificate does not verify or that refuses this
orchestrator's, or that speaks another bench API version stops it with
the reason (exit status 2); an agent whose ferryd does not answer gives
failed Ferry rows with that reason while the other transports run.

A run that fails (an agent dies, msg_gen fails) becomes a failed row with
its reason; the rest of the matrix goes on.

  orchestrator.py compare OLD/results.json NEW/results.json
  prints each configuration's change and flags regressions beyond the
  run-to-run spread (bench/report/compare.py; exit status 1 when one is).
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# gRPC's core logs a failed TLS handshake itself; this tool says why in one
# line of its own (GRPC_VERBOSITY set by the user still wins).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
import grpc  # noqa: E402

from bench import api_version, pyproto, scenarios  # noqa: E402
from bench.report import compare, html_report, summarize_runs  # noqa: E402

pb, pb_grpc = pyproto.load("bench")

SERVER_PORTS = {"ferry": 7000, "tcp": 7001, "udp": 7002}


# Every call but GetHostInfo states this orchestrator's bench API version.
VERSION_METADATA = ((api_version.METADATA_KEY,
                     str(api_version.BENCH_API_VERSION)),)


class AgentError(Exception):
    """An agent this orchestrator cannot drive, and why."""


def read_pem(path, flag):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise AgentError(f"{flag}={path}: {e.strerror}")


def channel_to(target, args):
    if target.startswith("unix:"):
        return grpc.insecure_channel(target)
    if not args.tls_ca:
        raise AgentError("a TCP agent needs --tls_ca (agents speak TLS only)")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise AgentError("--tls_cert and --tls_key go together")
    ca = read_pem(args.tls_ca, "--tls_ca")
    key = cert = None
    if args.tls_cert:
        key = read_pem(args.tls_key, "--tls_key")
        cert = read_pem(args.tls_cert, "--tls_cert")
    options = []
    if args.tls_server_name:
        options.append(("grpc.ssl_target_name_override", args.tls_server_name))
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(
        ca, private_key=key, certificate_chain=cert), options=options)


def why_unreachable(target, error):
    """A sentence for a failed first call to an agent, from gRPC's status
    (its details keep the transport's own words, appended)."""
    details = error.details() or ""
    lowered = details.lower()
    if "certificate_verify_failed" in lowered or \
            "certificate verify failed" in lowered:
        reason = ("its certificate does not verify against --tls_ca (another "
                  "CA, expired, or not issued for this address: see "
                  "--tls_server_name)")
    elif "peer name" in lowered or "hostname" in lowered:
        reason = ("its certificate is not issued for this address (see "
                  "--tls_server_name)")
    elif any(w in lowered for w in ("alert", "handshake", "socket closed",
                                     "connection reset", "end of file",
                                     "ssl")):
        reason = ("the TLS handshake failed: the agent refused this "
                  "orchestrator (no client certificate, or one from a CA it "
                  "does not trust: --tls_cert/--tls_key), or it does not "
                  "speak TLS")
    elif "connection refused" in lowered or "no such file" in lowered:
        reason = "nothing listens there (is the agent running?)"
    elif error.code() == grpc.StatusCode.DEADLINE_EXCEEDED or \
            "timed out" in lowered or "no route" in lowered or \
            "unreachable" in lowered:
        reason = "no answer (host unreachable, or a firewall drops it)"
    else:
        reason = "it did not answer"
    return f"{reason} [{error.code().name}: {details}]"


def connect_agent(role, target, args):
    """The agent's stub and its host facts, once it has answered, speaks
    this orchestrator's bench API version; AgentError otherwise."""
    stub = pb_grpc.BenchAgentStub(channel_to(target, args))
    try:
        info = stub.GetHostInfo(pb.GetHostInfoRequest(),
                                timeout=args.connect_timeout_s)
    except grpc.RpcError as e:
        raise AgentError(why_unreachable(target, e))
    if info.bench_api_version != api_version.BENCH_API_VERSION:
        theirs = (f"v{info.bench_api_version}" if info.bench_api_version
                  else "a version from before v2")
        raise AgentError(
            f"version skew: the agent speaks bench API {theirs}, this "
            f"orchestrator v{api_version.BENCH_API_VERSION}; run the "
            f"orchestrator and agents of one Ferry release")
    facts = {"host": info.hostname, "cpu": info.cpu_model,
             "cores": info.cores, "kernel": info.kernel,
             "ferry": info.ferry_version, "nic": info.nic,
             "driver": info.driver, "polling": info.polling,
             "pinning": info.pinning, "encryption": info.encryption,
             "agent": target}
    if info.ferryd_status:
        facts["ferryd"] = info.ferryd_status
    return stub, facts


def warn_ferryd_down(reason, transports):
    if reason and "ferry" in transports:
        print(f"orchestrator: Ferry runs will fail: {reason}",
              file=sys.stderr)


def progress(done, total, label, line=""):
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    text = f"\r[{bar}] {done}/{total} {label} {line}"[:150]
    sys.stdout.write(text.ljust(150))
    sys.stdout.flush()


def run_one(client, spec, label, done, total):
    """One client run; returns a result row (failed rows carry the
    reason)."""
    result = None
    try:
        for message in client.RunClient(spec, timeout=spec.duration_s +
                                        spec.warmup_s + 120,
                                        metadata=VERSION_METADATA):
            if message.done:
                result = message
            elif message.line:
                progress(done, total, label, message.line.strip()[:60])
    except grpc.RpcError as e:
        return None, f"{e.code().name}: {e.details()}"
    if result is None:
        return None, "the agent ended the run without a result"
    if result.error:
        return None, result.error
    return scenarios.result_row(result), ""


def build_parser():
    """The command line, with a sentence for every flag (--help)."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--client_agent", default="",
        help="pairs: the agent that runs msg_gen clients: unix:PATH, or "
             "HOST:PORT over TLS.")
    add("--server_agent", default="",
        help="pairs: the agent that runs msg_gen servers, the same way.")
    add("--scenario", default="pairs",
        choices=("pairs", "incast", "all_to_all"),
        help="pairs: --client_agent to --server_agent; incast: every host "
             "of --agents but the first to the first, at once; all_to_all: "
             "every host of --agents to every other (default %(default)s).")
    add("--agents", default="",
        help="incast and all_to_all: comma-separated agents, one per host, "
             "in host order (the first is the incast receiver).")
    add("--ferry_addresses", default="",
        help="incast and all_to_all: each host's Ferry address, in the "
             "order of --agents.")
    add("--kernel_addresses", default="",
        help="incast and all_to_all: each host's kernel address (the TCP "
             "and UDP baselines), in the order of --agents.")
    add("--response_size", type=int, default=0,
        help="Response bytes (default: the request's size; incast tests "
             "use small responses so that requests carry the load).")
    add("--size_dist", default="",
        help="Request sizes drawn from SIZE:WEIGHT,... (e.g. "
             "64:50,1024:30,65536:15,1048576:5; ferry and tcp) instead of "
             "--sizes; latency is reported per size, and all_to_all gives "
             "each size's slowdown against an unloaded reference run.")
    add("--probe", action="store_true",
        help="incast: also run a 64 B window-1 client from the last host, "
             "alone and then beside the incast.")
    add("--ferry_remote", default="",
        help="The server host's Ferry address (its NIC's IPv4) that clients "
             "connect to.")
    add("--tcp_remote", default="",
        help="The server host's kernel address for the TCP and UDP "
             "baselines.")
    add("--tcp_bind", default="",
        help="The client host's kernel address that baseline clients bind "
             "to (default: any).")
    add("--transports", default="ferry,tcp",
        help="Comma-separated transports to measure: ferry, tcp, udp "
             "(default %(default)s).")
    add("--sizes", default="1024",
        help="Comma-separated request and response sizes in bytes "
             "(default %(default)s).")
    add("--windows", default="1,32",
        help="Comma-separated windows (requests in flight per flow): 1 "
             "measures latency, 32 throughput (default %(default)s).")
    add("--flows", type=int, default=1,
        help="Flows (connections) each client opens (default %(default)s).")
    add("--duration_s", type=float, default=5,
        help="Measured seconds of each run, after its warm-up "
             "(default %(default)s).")
    add("--warmup_s", type=float, default=1,
        help="Seconds of each run before measuring starts "
             "(default %(default)s).")
    add("--repetitions", type=int, default=1,
        help="How many times the whole matrix runs; the report shows the "
             "spread (default %(default)s).")
    add("--verify", action="store_true",
        help="Have msg_gen check every payload byte on both sides.")
    add("--matrix",
        help="A JSON file whose keys (named like these flags) override "
             "them; lists become comma-separated values.")
    add("--out", default="",
        help="The run folder to write (default: ferry-bench-DATE-TIME in "
             "the current directory).")
    add("--tls_ca",
        help="PEM CA certificate that TCP agents' certificates must chain "
             "to (needed for HOST:PORT agents).")
    add("--tls_cert",
        help="PEM client certificate, for agents that check their clients.")
    add("--tls_key", help="PEM private key of --tls_cert.")
    add("--tls_server_name", default="",
        help="The name the agents' certificates must carry, when it is not "
             "the address dialled (default: the address).")
    add("--connect_timeout_s", type=float, default=10,
        help="How long each agent has to answer the first call "
             "(default %(default)s).")
    return parser


def scenario_text(args):
    n = len([a for a in args.agents.split(",") if a])
    text = {"pairs": "pairs (one client host, one server host)",
            "incast": f"incast: {n - 1} client hosts to host 1",
            "all_to_all": f"all-to-all over {n} hosts"}[args.scenario]
    if args.response_size:
        text += f", {args.response_size} B responses"
    if args.size_dist:
        text += f", request sizes drawn from {args.size_dist} (size:weight)"
    if args.scenario == "incast" and args.probe:
        text += f", a {scenarios.PROBE_SIZE} B probe alone and beside it"
    return text


def source_commit():
    """The commit of the checkout this orchestrator runs from, if any."""
    try:
        out = subprocess.run(
            ["git", "-C", os.path.dirname(os.path.abspath(__file__)),
             "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def main():
    if sys.argv[1:2] == ["compare"]:
        return compare.main(sys.argv[2:])
    parser = build_parser()
    args = parser.parse_args()
    if args.matrix:
        with open(args.matrix) as f:
            for key, value in json.load(f).items():
                if not hasattr(args, key):
                    parser.error(f"{args.matrix}: unknown key '{key}'")
                setattr(args, key, ",".join(map(str, value))
                        if isinstance(value, list) else value)
    transports = [t for t in args.transports.split(",") if t]
    sizes = [int(s) for s in str(args.sizes).split(",") if s]
    windows = [int(w) for w in str(args.windows).split(",") if w]
    if args.size_dist:
        if not re.fullmatch(r"\d+:\d+(,\d+:\d+)*", args.size_dist):
            parser.error(f"--size_dist={args.size_dist} is not "
                         "SIZE:WEIGHT,...")
        # One configuration: its request_size is the mix's largest.
        sizes = [max(int(e.split(":")[0]) for e in args.size_dist.split(","))]
    run_dir = args.out or datetime.datetime.now().strftime(
        "ferry-bench-%Y%m%d-%H%M%S")
    if args.scenario != "pairs":
        outcome = run_scenario(args, transports, sizes, windows, run_dir)
    else:
        outcome = run_pairs(args, transports, sizes, windows, run_dir)
    if isinstance(outcome, int):
        return outcome
    rows, hosts = outcome
    return write_report(args, run_dir, rows, hosts, transports, sizes,
                        windows)


def run_pairs(args, transports, sizes, windows, run_dir):
    """One client host and one server host: (rows, hosts), or the exit
    status when an agent cannot be driven."""
    if not (args.client_agent and args.server_agent):
        print("orchestrator: pairs needs --client_agent and --server_agent "
              "(or --scenario with --agents)", file=sys.stderr)
        return 2
    agents = {}
    for role, target in (("client", args.client_agent),
                         ("server", args.server_agent)):
        try:
            agents[role] = connect_agent(role, target, args)
        except AgentError as e:
            print(f"orchestrator: the {role} agent {target}: {e}",
                  file=sys.stderr)
            return 2
    (client, client_facts), (server, server_facts) = (agents["client"],
                                                      agents["server"])
    hosts = {"client host": client_facts, "server host": server_facts}
    os.makedirs(os.path.join(run_dir, "raw"), exist_ok=True)
    # Ferry runs need ferryd on both hosts: say why they cannot run, once.
    ferryd_down = scenarios.ferryd_down(hosts.items())
    warn_ferryd_down(ferryd_down, transports)
    total = len(transports) * len(sizes) * len(windows) * args.repetitions
    done = 0
    rows = []
    for size in sizes:
        # Every transport's server first; then each repetition runs every
        # window and transport in turn, so that the machine's drift over a
        # matrix falls on all transports alike.
        servers = {}
        for transport in transports:
            port = SERVER_PORTS.get(transport, 7003)
            if transport == "ferry" and ferryd_down:
                servers[transport] = (port, None, ferryd_down)
                continue
            try:
                handle = server.StartServer(pb.ServerSpec(
                    transport=transport, port=port,
                    response_size=args.response_size or size,
                    verify=args.verify,
                    bind_ip="" if transport == "ferry" else args.tcp_remote),
                    timeout=30, metadata=VERSION_METADATA)
                servers[transport] = (port, handle, "")
            except grpc.RpcError as e:
                servers[transport] = (port, None,
                                      f"server: {e.code().name}: "
                                      f"{e.details()}")
        for rep in range(args.repetitions):
            for window in windows:
                for transport in transports:
                    port, _, reason = servers[transport]
                    remote_ip = args.ferry_remote if transport == "ferry" \
                        else args.tcp_remote
                    label = f"{transport} {size} B w{window}"
                    progress(done, total, label)
                    if reason:
                        row, error = None, reason
                    else:
                        row, error = run_one(client, pb.ClientSpec(
                            transport=transport,
                            remote=f"{remote_ip}:{port}",
                            request_size=size,
                            response_size=args.response_size or size,
                            window=window, flows=args.flows,
                            request_size_dist=args.size_dist,
                            duration_s=args.duration_s,
                            warmup_s=args.warmup_s, verify=args.verify,
                            bind_ip="" if transport == "ferry"
                            else args.tcp_bind), label, done, total)
                    if row is None:
                        row = scenarios.failed_row(
                            transport, size, args.response_size or size,
                            window, args.flows, error)
                    row["repetition"] = rep
                    rows.append(row)
                    with open(os.path.join(
                            run_dir, "raw",
                            f"{transport}-{size}-w{window}-r{rep}.json"),
                            "w") as f:
                        json.dump(row, f)
                    done += 1
                    progress(done, total, label,
                             "failed: " + error if error else
                             f"{row['rpc_per_s']:.0f} RPC/s")
        for transport, (_, handle, _) in servers.items():
            if handle is None:
                continue
            try:
                server.StopServer(handle, timeout=30,
                                  metadata=VERSION_METADATA)
            except grpc.RpcError:
                pass
    print()
    return rows, hosts


def run_scenario(args, transports, sizes, windows, run_dir):
    """Incast or all-to-all over --agents: (rows, hosts), or the exit
    status when an agent cannot be driven."""
    targets = [a for a in args.agents.split(",") if a]
    ferry_ips = [a for a in args.ferry_addresses.split(",") if a]
    kernel_ips = [a for a in args.kernel_addresses.split(",") if a]
    if len(targets) < 2 or not (len(targets) == len(ferry_ips) ==
                                len(kernel_ips)):
        print("orchestrator: --scenario needs --agents, --ferry_addresses "
              "and --kernel_addresses, one per host, at least two",
              file=sys.stderr)
        return 2
    hosts = []
    for i, target in enumerate(targets):
        label = f"host {i + 1}"
        try:
            stub, facts = connect_agent(label, target, args)
        except AgentError as e:
            print(f"orchestrator: the agent of {label}, {target}: {e}",
                  file=sys.stderr)
            return 2
        hosts.append(scenarios.Host(label, stub, facts, ferry_ips[i],
                                    kernel_ips[i]))
    warn_ferryd_down(scenarios.ferryd_down((h.label, h.facts) for h in hosts),
                     transports)
    os.makedirs(run_dir, exist_ok=True)
    rows = scenarios.Runner(pb, hosts, args, VERSION_METADATA, SERVER_PORTS,
                            progress).run(args.scenario, transports, sizes,
                                          windows, args.repetitions)
    print()
    return rows, {h.label: h.facts for h in hosts}


def write_report(args, run_dir, rows, hosts, transports, sizes, windows):
    """results.json and .csv, report.md and report.html; the exit status
    (1 when every run failed)."""
    table = summarize_runs.write(run_dir, rows)
    environment = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "commit": source_commit() or "(not a git checkout)",
        "parameters": (f"{scenario_text(args)}; "
                       f"transports {','.join(transports)}; sizes "
                       f"{','.join(map(str, sizes))} B; windows "
                       f"{','.join(map(str, windows))}; {args.flows} flow(s); "
                       f"{args.duration_s} s measured after {args.warmup_s} s "
                       f"warm-up; {args.repetitions} repetition(s)"
                       + ("; payloads verified" if args.verify else "")),
    }
    html_report.write(os.path.join(run_dir, "report.html"), rows, table, hosts,
                      environment)
    with open(os.path.join(run_dir, "report.md"), "w") as f:
        f.write("# Ferry benchmark report\n\n")
        for name, value in environment.items():
            f.write(f"- {name}: {value}\n")
        for role, facts in hosts.items():
            f.write(f"- {role}: " + ", ".join(
                f"{k}: {v}" for k, v in facts.items() if v) + "\n")
        f.write(f"\n{args.duration_s} s measured after {args.warmup_s} s "
                f"of warm-up per run, {args.repetitions} run(s) of each "
                f"configuration (transports taking turns); the table shows "
                f"each configuration's median.\n\n{table}\n")
    print(table)
    print(f"\nrun folder: {os.path.abspath(run_dir)}")
    failed = sum(1 for r in rows if r.get("error"))
    return 1 if failed == len(rows) else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The bench agent (proto/ferry/v1/bench.proto): runs msg_gen roles on this
host for an orchestrator. It never runs anything but msg_gen, checks every
parameter, and bounds every run in time.

  bench_agent.py --listen=unix:/run/ferry/agent.sock --msg_gen=PATH
      --ferryd_socket=PATH [--ferryd_pidfile=PATH]
      [--ferryd_metrics=http://127.0.0.1:10960/metrics] [--max_duration_s=600]
  Over TCP: --listen=HOST:PORT --tls_cert=PEM --tls_key=PEM
      [--tls_client_ca=PEM]  (plaintext TCP is refused; with
      --tls_client_ca, so is a client without a certificate from that CA)
  --listen may be given more than once (a Unix socket and a TCP address).
  bench/agent/make_test_ca.sh makes a test CA and the certificates.
"""
import argparse
import ipaddress
import itertools
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
import grpc  # noqa: E402

from bench import api_version, pyproto  # noqa: E402

pb, pb_grpc = pyproto.load("bench")

MAX_MESSAGE = 8 << 20
TRANSPORTS = ("ferry", "tcp", "udp")


class BadRequest(Exception):
    pass


def check_common(transport, response_size, bind_ip):
    if transport not in TRANSPORTS:
        raise BadRequest(f"transport: '{transport}' is not ferry, tcp or udp")
    if response_size > MAX_MESSAGE:
        raise BadRequest(f"response_size: {response_size} is over 8 MiB")
    if bind_ip:
        try:
            ipaddress.IPv4Address(bind_ip)
        except ValueError:
            raise BadRequest(f"bind_ip: '{bind_ip}' is not an IPv4 address")


MAX_REMOTES = 64

# ferryd's counters a client run reports the growth of: the name in the
# result, and the metric (summed over its labels: engines, reasons).
FERRYD_COUNTERS = {
    "segments_tx": "ferry_engine_transport_segments_tx_total",
    "retransmits": "ferry_transport_retransmits_total",
    "timeouts_spurious": "ferry_engine_transport_timeouts_spurious_total",
    "bytes_tx": "ferry_engine_transport_bytes_tx_total",
    "tx_drop_full": "ferry_engine_tx_drop_full_total",
    "queueing_s": "ferry_engine_transport_queueing_seconds_total",
    "rtt_samples": "ferry_transport_rtt_seconds_count",
    "cc_cuts_delay": "ferry_engine_transport_cc_cuts_delay_total",
    "cc_cuts_loss": "ferry_engine_transport_cc_cuts_loss_total",
}


def check_size_dist(spec):
    """A request size distribution, SIZE:WEIGHT,... (what msg_gen takes)."""
    entries = spec.split(",")
    if len(entries) > 16:
        raise BadRequest(f"request_size_dist: {len(entries)} sizes, at most 16")
    sizes = set()
    for entry in entries:
        match = re.fullmatch(r"(\d{1,8}):(\d{1,7})", entry)
        if not match:
            raise BadRequest(f"request_size_dist: '{entry}' is not SIZE:WEIGHT")
        size, weight = int(match.group(1)), int(match.group(2))
        if not 8 <= size <= MAX_MESSAGE or size in sizes:
            raise BadRequest(f"request_size_dist: size {size} is repeated or "
                             f"not 8..{MAX_MESSAGE}")
        if not 1 <= weight <= 1 << 20:
            raise BadRequest(f"request_size_dist: weight {weight} is not "
                             f"1..1048576")
        sizes.add(size)


def check_remote(remote):
    remotes = remote.split(",")
    if len(remotes) > MAX_REMOTES:
        raise BadRequest(f"remote: {len(remotes)} servers, at most "
                         f"{MAX_REMOTES}")
    for one in remotes:
        match = re.fullmatch(r"(\d+\.\d+\.\d+\.\d+):(\d+)", one)
        if not match:
            raise BadRequest(f"remote: '{one}' is not IPv4:port")
        try:
            ipaddress.IPv4Address(match.group(1))
        except ValueError:
            raise BadRequest(
                f"remote: '{match.group(1)}' is not an IPv4 address")
        if not 0 < int(match.group(2)) < 65536:
            raise BadRequest(f"remote: port {match.group(2)} is out of range")


def cpu_seconds_of(pid):
    """utime + stime of a process, from /proc (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, IndexError, ValueError):
        return 0.0


class Agent(pb_grpc.BenchAgentServicer):
    def __init__(self, args):
        self.args = args
        self.servers = {}  # id -> (Popen, (transport, port))
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    # -- helpers
    def ferryd_pid(self):
        try:
            with open(self.args.ferryd_pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError, TypeError):
            return None

    def metrics_page(self):
        """ferryd's Prometheus page, or "" when it does not answer."""
        if not self.args.ferryd_metrics:
            return ""
        try:
            return urllib.request.urlopen(self.args.ferryd_metrics,
                                          timeout=2).read().decode()
        except OSError:
            return ""

    def ferryd_counters(self):
        """FERRYD_COUNTERS' values now ({} when ferryd does not answer)."""
        page = self.metrics_page()
        if not page:
            return {}
        values = {}
        for name, metric in FERRYD_COUNTERS.items():
            values[name] = sum(
                float(v) for v in re.findall(
                    rf"^{metric}(?:{{[^}}]*}})? (\S+)$", page, re.M))
        return values

    def ferryd_status(self):
        """Empty when ferryd's API socket accepts a connection, else why
        not."""
        path = self.args.ferryd_socket
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(path)
        except OSError as e:
            return f"ferryd does not answer at {path}: {e.strerror or e}"
        return ""

    def check_version(self, context):
        """Aborts a call from an orchestrator of another bench API
        version."""
        theirs = dict(context.invocation_metadata()).get(
            api_version.METADATA_KEY, "")
        if theirs != str(self.args.api_version):
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"version skew: this agent speaks bench API "
                f"v{self.args.api_version}, the caller "
                f"{'v' + theirs if theirs else 'states none (older than v2)'}"
                f"; run the orchestrator and agents of one Ferry release")

    def check_ferryd(self, context, transport):
        """Aborts a Ferry run while ferryd does not answer."""
        if transport == "ferry":
            status = self.ferryd_status()
            if status:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, status)

    def transport_args(self, transport):
        if transport == "ferry":
            return ["--transport=ferry",
                    f"--socket={self.args.ferryd_socket}"]
        return [f"--transport={transport}"]

    # -- RPCs
    def GetHostInfo(self, request, context):
        info = pb.HostInfo(hostname=socket.gethostname(),
                           cores=os.cpu_count() or 0,
                           kernel=platform.release(),
                           bench_api_version=self.args.api_version,
                           ferryd_status=self.ferryd_status())
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        info.cpu_model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        page = self.metrics_page()
        if page:
            version = re.search(r'ferry_build_info\{[^}]*version="([^"]+)"',
                                page)
            info.ferry_version = version.group(1) if version else ""
            port = re.search(r'ferry_port_link_up\{port="([^"]+)"', page)
            info.nic = port.group(1) if port else ""
            info.driver = re.sub(r"\d+$", "", info.nic)
            engines = re.findall(
                r'ferry_engine_info\{[^}]*core="(-?\d+)",'
                r'polling="([^"]+)"', page)
            info.polling = ",".join(sorted({p for _, p in engines}))
            info.pinning = ",".join(
                "core " + c if c != "-1" else "none" for c, _ in engines)
            mode = re.search(r'ferry_port_encryption_info\{[^}]*'
                             r'mode="([^"]+)",cipher="([^"]+)"', page)
            if mode:
                info.encryption = mode.group(1) + (
                    f" ({mode.group(2)})" if mode.group(1) != "off"
                    else "")
        return info

    def StartServer(self, request, context):
        self.check_version(context)
        try:
            check_common(request.transport, request.response_size,
                         request.bind_ip)
            if not 0 < request.port < 65536:
                raise BadRequest(f"port: {request.port} is out of range")
        except BadRequest as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        self.check_ferryd(context, request.transport)
        key = (request.transport, request.port)
        with self.lock:
            if any(k == key and p.poll() is None
                   for p, k in self.servers.values()):
                context.abort(grpc.StatusCode.ALREADY_EXISTS,
                              f"a {key[0]} server already listens on {key[1]}")
        cmd = [self.args.msg_gen, "--role=server",
               f"--port={request.port}",
               f"--response_size={request.response_size}"]
        cmd += self.transport_args(request.transport)
        if request.verify:
            cmd.append("--verify")
        if request.bind_ip:
            cmd.append(f"--bind={request.bind_ip}")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        first = proc.stdout.readline()
        if "listening" not in first:
            rest = proc.stdout.read() if proc.poll() is not None else ""
            proc.kill()
            context.abort(grpc.StatusCode.UNAVAILABLE,
                          f"msg_gen server did not start: {first}{rest}".strip())
        # Keep draining its output so that it never blocks on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        with self.lock:
            server_id = next(self.ids)
            self.servers[server_id] = (proc, key)
        return pb.ServerHandle(id=server_id)

    def StopServer(self, request, context):
        self.check_version(context)
        with self.lock:
            entry = self.servers.pop(request.id, None)
        if entry is None:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"no server {request.id} on this agent")
        proc = entry[0]
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return pb.StopServerResponse()

    def RunClient(self, request, context):
        self.check_version(context)
        flows = request.flows or 1
        try:
            check_common(request.transport, request.response_size,
                         request.bind_ip)
            check_remote(request.remote)
            if request.request_size_dist:
                if request.transport == "udp":
                    raise BadRequest("request_size_dist: not for udp")
                check_size_dist(request.request_size_dist)
            if request.request_size > MAX_MESSAGE:
                raise BadRequest(
                    f"request_size: {request.request_size} is over 8 MiB")
            if not 1 <= request.window <= 4096:
                raise BadRequest(f"window: {request.window} is not 1..4096")
            if not 1 <= flows <= 10000:
                raise BadRequest(f"flows: {flows} is not 1..10000")
            total = request.duration_s + request.warmup_s
            if request.duration_s <= 0 or request.warmup_s < 0 or \
                    total > self.args.max_duration_s:
                raise BadRequest(
                    f"duration_s + warmup_s must be in (0, "
                    f"{self.args.max_duration_s}] s, not {total}")
        except BadRequest as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        self.check_ferryd(context, request.transport)
        out = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
        out.close()
        cmd = [self.args.msg_gen, "--role=client", f"--remote={request.remote}",
               f"--request_size={request.request_size}",
               f"--response_size={request.response_size}",
               f"--window={request.window}", f"--flows={flows}",
               f"--duration_s={request.duration_s}",
               f"--warmup_s={request.warmup_s}", f"--json_out={out.name}"]
        cmd += self.transport_args(request.transport)
        if request.request_size_dist:
            cmd.append(f"--request_size_dist={request.request_size_dist}")
        if request.verify:
            cmd.append("--verify")
        if request.bind_ip:
            cmd.append(f"--bind={request.bind_ip}")
        pid = self.ferryd_pid()
        ferryd_before = cpu_seconds_of(pid) if pid else 0.0
        counters_before = self.ferryd_counters() \
            if request.transport == "ferry" else {}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        limit = time.monotonic() + total + 30  # connect and teardown slack
        timer = threading.Timer(max(1.0, limit - time.monotonic()), proc.kill)
        timer.start()
        error = ""
        last = ""
        try:
            for line in proc.stdout:
                if not context.is_active():
                    proc.kill()
                    break
                last = line.strip() or last
                yield pb.RunProgress(line=line.rstrip("\n"))
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
        ferryd_cpu = (cpu_seconds_of(pid) - ferryd_before) if pid else 0.0
        counters_after = self.ferryd_counters() if counters_before else {}
        counters = {name: counters_after[name] - before for name, before in
                    counters_before.items() if name in counters_after}
        if proc.returncode != 0:
            error = (f"msg_gen exited with {proc.returncode}: {last}"
                     if proc.returncode > 0 else
                     "msg_gen was stopped at the agent's time limit")
        result = ""
        try:
            with open(out.name) as f:
                result = f.read()
        except OSError:
            pass
        os.unlink(out.name)
        if not result and not error:
            error = "msg_gen wrote no result"
        yield pb.RunProgress(done=True, result_json=result, error=error,
                             client_cpu_seconds=usage.ru_utime + usage.ru_stime,
                             ferryd_cpu_seconds=ferryd_cpu,
                             ferryd_counters=counters)

    def stop_all(self):
        with self.lock:
            for proc, _ in self.servers.values():
                proc.terminate()
            self.servers.clear()


def build_parser():
    """The command line, with a sentence for every flag (--help)."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--listen", required=True, action="append",
        help="Where to serve: unix:PATH, or HOST:PORT over TLS (plaintext "
             "TCP is refused); give it again to serve at several places.")
    add("--msg_gen", required=True,
        help="The msg_gen binary to run (ferry-msg-gen when installed).")
    add("--ferryd_socket", default="/run/ferry/ferryd.sock",
        help="ferryd's API socket, where msg_gen opens its session "
             "(default %(default)s).")
    add("--ferryd_pidfile",
        help="A file with ferryd's pid, to report ferryd's CPU time per "
             "run (default: not reported).")
    add("--ferryd_metrics", default="http://127.0.0.1:10960/metrics",
        help="ferryd's Prometheus endpoint, read for host facts "
             "(default %(default)s).")
    add("--max_duration_s", type=float, default=600,
        help="The longest run the agent accepts, in seconds "
             "(default %(default)s).")
    add("--tls_cert", help="PEM server certificate for a TCP listener.")
    add("--tls_key", help="PEM private key of --tls_cert.")
    add("--tls_client_ca",
        help="PEM CA that clients' certificates must chain to; given, "
             "clients without one are refused (mutual TLS).")
    add("--api_version", type=int, default=api_version.BENCH_API_VERSION,
        help="The bench API version this agent speaks (default "
             "%(default)s, this source's); another value only to test an "
             "orchestrator's version check.")
    return parser


def tls_credentials(args):
    """The server's TLS credentials; with --tls_client_ca, mutual TLS."""
    try:
        with open(args.tls_key, "rb") as f:
            key = f.read()
        with open(args.tls_cert, "rb") as f:
            cert = f.read()
        ca = None
        if args.tls_client_ca:
            with open(args.tls_client_ca, "rb") as f:
                ca = f.read()
    except OSError as e:
        raise SystemExit(f"bench agent: {e.filename}: {e.strerror}")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca,
        require_client_auth=ca is not None)


def main():
    parser = build_parser()
    args = parser.parse_args()
    agent = Agent(args)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_BenchAgentServicer_to_server(agent, server)
    credentials = None
    for address in args.listen:
        if address.startswith("unix:"):
            try:
                bound = server.add_insecure_port(address)
            except RuntimeError:
                bound = 0
        else:
            if not (args.tls_cert and args.tls_key):
                parser.error(f"--listen={address}: a TCP listener needs "
                             "--tls_cert and --tls_key")
            credentials = credentials or tls_credentials(args)
            try:
                bound = server.add_secure_port(address, credentials)
            except RuntimeError:
                bound = 0
        if not bound:
            parser.error(f"--listen={address}: cannot listen there")
    server.start()
    print(f"bench agent on {' and '.join(args.listen)}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    agent.stop_all()
    server.stop(2).wait()


if __name__ == "__main__":
    main()

"""Drives ferryd's gRPC API from Python (Debian's python3-grpcio), with
stubs generated from proto/ at test time by grpc_tools.

Usage: api_python_test.py FERRYD TEST_CLIENT PROTO_DIR
"""
import os
import random
import subprocess
import sys
import tempfile
import time

from grpc_tools import protoc


def main():
    ferryd, test_client, proto_root = sys.argv[1], sys.argv[2], sys.argv[3]
    out = tempfile.mkdtemp()
    rc = protoc.main([
        "protoc", f"-I{proto_root}", f"--python_out={out}",
        f"--grpc_python_out={out}", "proto/ferry/v1/ferry.proto",
        "proto/google/rpc/status.proto",
        "proto/grpc/health/v1/health.proto",
        "proto/grpc/reflection/v1alpha/reflection.proto"])
    assert rc == 0, "stub generation failed"
    sys.path.insert(0, out)
    import grpc
    from proto.ferry.v1 import ferry_pb2, ferry_pb2_grpc
    from proto.grpc.health.v1 import health_pb2, health_pb2_grpc

    tag = f"{os.getpid()}-{random.randrange(1 << 30)}"
    log = open(os.path.join(out, "ferryd.log"), "w+")
    daemon = subprocess.Popen(
        [ferryd, "--device=net_ring0", "--ip=10.0.0.1/24",
         f"--channel_socket=@ferry-py-ch-{tag}",
         f"--grpc_socket=@ferry-py-{tag}", "--metrics_address=",
         "--memory_mb=256", "--max_sessions=3",
         "--max_channels_per_session=2", "--max_flows_per_channel=1"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        channel = grpc.insecure_channel(f"unix-abstract:ferry-py-{tag}")
        grpc.channel_ready_future(channel).result(timeout=60)
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING

        reflection(channel)
        # The application socket refuses every administrator's call.
        admin = grpc.insecure_channel(f"unix-abstract:ferry-py-{tag}.admin")
        grpc.channel_ready_future(admin).result(timeout=60)
        app_only(grpc, ferry_pb2, ferry_pb2_grpc, channel)

        nics = ferry_pb2_grpc.NicServiceStub(admin)
        listed = nics.ListNics(ferry_pb2.ListNicsRequest(), timeout=10)
        assert [n.name for n in listed.nics] == ["net_ring0"], listed
        nic = nics.GetNic(ferry_pb2.GetNicRequest(name="net_ring0"),
                          timeout=10)
        assert nic.ip == "10.0.0.1/24" and nic.link.up, nic
        assert "rx_packets" in nic.engines[0].counters, nic
        try:
            nics.GetNic(ferry_pb2.GetNicRequest(name="nope"), timeout=10)
            raise AssertionError("GetNic(nope) succeeded")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error

        stats = ferry_pb2_grpc.StatsServiceStub(admin)
        snapshots = list(stats.WatchStats(
            ferry_pb2.WatchStatsRequest(interval_ms=100, count=3),
            timeout=30))
        assert len(snapshots) == 3, snapshots
        assert snapshots[0].unix_time_ms <= snapshots[2].unix_time_ms
        flows = ferry_pb2_grpc.FlowServiceStub(admin)
        assert not flows.ListFlows(ferry_pb2.ListFlowsRequest(),
                                   timeout=10).flows
        bad_requests(grpc, ferry_pb2, nics, stats)
        bad_flow_requests(grpc, ferry_pb2, flows)
        sessions_and_listening(grpc, ferry_pb2, ferry_pb2_grpc, channel, admin)
        session_churn(ferry_pb2, ferry_pb2_grpc, channel, admin, stats,
                      daemon.pid)
        silent_clients(ferry_pb2, ferry_pb2_grpc, channel)
        channel_blocks_detach(grpc, ferry_pb2, nics, stats, test_client, tag)
        print("PASS: ferryd's API from Python: health, NICs, stats stream, "
              "flows, sessions, listen/connect, bad requests")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.seek(0)
        if daemon.returncode != 0:
            print(log.read())
            sys.exit(1)


def app_only(grpc, pb, pb_grpc, channel):
    """Administrators' calls on the application socket: PERMISSION_DENIED."""
    denied = grpc.StatusCode.PERMISSION_DENIED
    nics = pb_grpc.NicServiceStub(channel)
    stats = pb_grpc.StatsServiceStub(channel)
    flows = pb_grpc.FlowServiceStub(channel)
    sessions = pb_grpc.SessionServiceStub(channel)
    for call, request in [
            (nics.ListNics, pb.ListNicsRequest()),
            (nics.GetNic, pb.GetNicRequest(name="net_ring0")),
            (nics.AttachNic, pb.AttachNicRequest(device="net_null9",
                                                 ip="10.9.0.1/24")),
            (nics.DetachNic, pb.DetachNicRequest(name="net_ring0")),
            (stats.GetStats, pb.GetStatsRequest()),
            (flows.ListFlows, pb.ListFlowsRequest()),
            (flows.GetFlow, pb.GetFlowRequest(nic="net_ring0", id=1)),
            (flows.CloseFlow, pb.CloseFlowRequest(nic="net_ring0", id=1)),
            (sessions.ListSessions, pb.ListSessionsRequest())]:
        details = expect_code(grpc, denied, call, request)
    try:
        list(stats.WatchStats(pb.WatchStatsRequest(interval_ms=100, count=1),
                              timeout=10))
        raise AssertionError("WatchStats served on the application socket")
    except grpc.RpcError as error:
        assert error.code() == denied, error
    print(f"ok: the application socket refuses admin calls: {details}")


def reflection(channel):
    """Server reflection lists ferryd's services and hands out the
    descriptor of the file that defines one."""
    from google.protobuf import descriptor_pb2
    from proto.grpc.reflection.v1alpha import reflection_pb2, \
        reflection_pb2_grpc
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(
                    file_containing_symbol="ferry.v1.SessionService")]
    listed, described = list(stub.ServerReflectionInfo(iter(requests),
                                                       timeout=10))
    names = {s.name for s in listed.list_services_response.service}
    for want in ("ferry.v1.NicService", "ferry.v1.SessionService",
                 "ferry.v1.FlowService", "ferry.v1.StatsService",
                 "grpc.health.v1.Health"):
        assert want in names, names
    files = [descriptor_pb2.FileDescriptorProto.FromString(raw) for raw in
             described.file_descriptor_response.file_descriptor_proto]
    services = {s.name for f in files for s in f.service}
    assert "SessionService" in services, services
    print(f"ok: reflection lists {len(names)} services and describes "
          f"ferry.v1.SessionService")


class Session:
    """A SessionService stream kept alive by heartbeats from a thread."""

    def __init__(self, pb, stub, heartbeat_timeout_ms=0, first=None):
        import queue
        import threading
        self.pb = pb
        self._requests = queue.Queue()
        self._requests.put(first or pb.SessionRequest(
            open=pb.OpenSession(name="api_python_test", pid=os.getpid(),
                                heartbeat_timeout_ms=heartbeat_timeout_ms)))
        self._events = stub.OpenSession(iter(self._requests.get, None))
        self._stop = threading.Event()
        opened = next(self._events).opened  # raises the stream's error
        self.ref = opened.session
        self.channel_socket = opened.channel_socket
        self._beats = threading.Thread(target=self._beat, daemon=True)
        self._beats.start()

    def _beat(self):
        while not self._stop.wait(0.2):
            self._requests.put(self.pb.SessionRequest(
                heartbeat=self.pb.Heartbeat()))

    def close(self):
        self._stop.set()
        self._requests.put(None)  # ends the request stream
        for _ in self._events:
            pass


def channel_abi_version():
    """FERRY_CHANNEL_ABI_VERSION, read from the header itself."""
    import re
    with open("client/abi/ferry_channel_abi.h") as header:
        match = re.search(r"#define FERRY_CHANNEL_ABI_VERSION (\d+)u",
                          header.read())
    return int(match.group(1))


def attach(ticket, path, buffer_count=0):
    """Redeems a ticket on the channel socket (client/abi/ferry_attach_abi.h):
    the channel id, or the negative errno ferryd answered. The socket is
    kept open in the returned tuple: closing it ends the channel."""
    import array
    import socket
    import struct
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect("\0" + path[1:] if path.startswith("@") else path)
    sock.sendall(struct.pack("<IIIIII16s", 0x54544146, channel_abi_version(),
                             buffer_count, 0, 0, 0, ticket))
    fds = array.array("i")
    data, ancillary, _, _ = sock.recvmsg(128, socket.CMSG_LEN(3 * 4))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % 4])
    for fd in fds:
        os.close(fd)
    magic, error, channel_id = struct.unpack_from("<IiQ", data)
    assert magic == 0x54544146, data
    return (channel_id if error == 0 else -error), sock


def sessions_and_listening(grpc, pb, pb_grpc, channel, admin):
    """Sessions, channels by ticket, listen and connect, and every bad
    request of the kind with its exact code; nothing left behind. Listing
    everything is the admin socket's."""
    sessions = pb_grpc.SessionServiceStub(channel)
    flows = pb_grpc.FlowServiceStub(channel)
    all_sessions = pb_grpc.SessionServiceStub(admin)
    all_flows = pb_grpc.FlowServiceStub(admin)
    code = grpc.StatusCode
    a = Session(pb, sessions)
    b = Session(pb, sessions)
    ticket = sessions.CreateChannel(
        pb.CreateChannelRequest(session=a.ref), timeout=10).ticket
    ch, sock = attach(ticket, a.channel_socket)
    assert ch > 0, ch
    again, _ = attach(ticket, a.channel_socket)
    assert again == -1, again  # EPERM: a ticket works once
    listed = all_sessions.ListSessions(pb.ListSessionsRequest(), timeout=10)
    mine = [x for x in listed.sessions if x.id == a.ref.id]
    assert len(mine) == 1 and list(mine[0].channels) == [ch], listed
    own = sessions.ListSessions(pb.ListSessionsRequest(session=b.ref),
                                timeout=10)
    assert [x.id for x in own.sessions] == [b.ref.id], own
    print(f"ok: session {a.ref.id} holds channel {ch}; a ticket works once")

    local = flows.Listen(pb.ListenRequest(session=a.ref, channel=ch,
                                          port=7000), timeout=10)
    assert local.local_ipv4 == ipv4("10.0.0.1"), local
    flows.StopListening(pb.StopListeningRequest(session=a.ref, channel=ch,
                                                port=7000), timeout=10)
    wrong = pb.SessionRef(id=a.ref.id, token=b"x" * 16)
    connect = pb.ConnectRequest
    cases = [
        (code.NOT_FOUND, flows.Listen,
         pb.ListenRequest(session=wrong, channel=ch, port=7000)),
        (code.NOT_FOUND, flows.Listen,  # another session's channel
         pb.ListenRequest(session=b.ref, channel=ch, port=7000)),
        (code.NOT_FOUND, flows.Listen,
         pb.ListenRequest(session=a.ref, channel=ch + 100, port=7000)),
        (code.INVALID_ARGUMENT, flows.Listen,
         pb.ListenRequest(session=a.ref, channel=ch, port=0)),
        (code.INVALID_ARGUMENT, flows.Listen,
         pb.ListenRequest(session=a.ref, channel=ch, port=70000)),
        (code.NOT_FOUND, flows.StopListening,
         pb.StopListeningRequest(session=a.ref, channel=ch, port=7001)),
        (code.INVALID_ARGUMENT, flows.Connect,  # no address at all
         connect(session=a.ref, channel=ch, remote_port=1)),
        (code.INVALID_ARGUMENT, flows.Connect,
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.2"))),
        (code.INVALID_ARGUMENT, flows.Connect,
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("224.0.0.1"),
                 remote_port=7)),
        (code.INVALID_ARGUMENT, flows.Connect,  # its own address
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.1"),
                 remote_port=7)),
        (code.INVALID_ARGUMENT, flows.Connect,  # the subnet's broadcast
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.255"),
                 remote_port=7)),
        (code.INVALID_ARGUMENT, flows.Connect,  # the subnet's network
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.0"),
                 remote_port=7)),
        (code.INVALID_ARGUMENT, flows.Connect,
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("127.0.0.1"),
                 remote_port=7)),
        (code.INVALID_ARGUMENT, flows.Connect,
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("255.255.255.255"),
                 remote_port=7)),
        (code.NOT_FOUND, flows.Connect,
         connect(session=wrong, channel=ch, remote_ipv4=ipv4("10.0.0.2"),
                 remote_port=7)),
        # net_ring0 loops frames back: nobody answers ARP for 10.0.0.2.
        (code.UNAVAILABLE, flows.Connect,
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.2"),
                 remote_port=7)),
        # Given up on before the handshake ends (its flow is reset then).
        (code.DEADLINE_EXCEEDED, flows.Connect,
         connect(session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.2"),
                 remote_port=7, timeout_ms=1)),
        (code.NOT_FOUND, sessions.CreateChannel,
         pb.CreateChannelRequest(session=wrong)),
        (code.NOT_FOUND, sessions.DestroyChannel,
         pb.DestroyChannelRequest(session=b.ref, channel=ch)),
    ]
    flows.Listen(pb.ListenRequest(session=a.ref, channel=ch, port=7000),
                 timeout=10)
    cases.append((code.ALREADY_EXISTS, flows.Listen,
                  pb.ListenRequest(session=a.ref, channel=ch, port=7000)))
    # What an engine answered travels as a typed FlowError; a request
    # refused before any engine saw it carries none.
    engine_reasons = {code.UNAVAILABLE: "FERRY_STATUS_UNREACHABLE",
                      code.DEADLINE_EXCEEDED: "FERRY_STATUS_TIMED_OUT",
                      code.ALREADY_EXISTS: "FERRY_STATUS_ADDRESS_IN_USE"}
    for want, call, request in cases:
        error = expect_error(grpc, want, call, request)
        details = error.details()
        reason = flow_error(pb, error)
        print(f"ok: {want.name}: {details} ({reason})")
        expected = engine_reasons.get(want)
        if call == flows.StopListening:  # the engine: not this channel's
            expected = "FERRY_STATUS_BAD_REQUEST"
        assert reason == expected, (want, details, reason)
        if want == code.UNAVAILABLE:
            assert "never answered ARP" in details, details

    # Quotas: one flow per channel (the first connect waits for an ARP
    # answer that never comes, and meanwhile the second finds the quota
    # taken: a waiting connect holds up no other call), two channels per
    # session (one attached, one reserved here), three sessions.
    wait_for(lambda: not all_flows.ListFlows(pb.ListFlowsRequest(),
                                             timeout=10).flows)
    started = time.time()
    pending = flows.Connect.future(connect(
        session=a.ref, channel=ch, remote_ipv4=ipv4("10.0.0.3"), remote_port=7),
        timeout=30)
    wait_for(lambda: all_flows.ListFlows(pb.ListFlowsRequest(),
                                         timeout=10).flows)
    # The connecting flow is a's: b neither sees nor closes it.
    mine = flows.ListFlows(pb.ListFlowsRequest(session=a.ref), timeout=10)
    assert len(mine.flows) == 1, mine
    flow = mine.flows[0]
    assert not flows.ListFlows(pb.ListFlowsRequest(session=b.ref),
                               timeout=10).flows
    for call, request in [
            (flows.GetFlow, pb.GetFlowRequest(nic=flow.nic, id=flow.id,
                                              session=b.ref)),
            (flows.CloseFlow, pb.CloseFlowRequest(nic=flow.nic, id=flow.id,
                                                  reset=True, session=b.ref)),
            (flows.ListFlows, pb.ListFlowsRequest(session=wrong))]:
        expect_code(grpc, code.NOT_FOUND, call, request)
    got = flows.GetFlow(pb.GetFlowRequest(nic=flow.nic, id=flow.id,
                                          session=a.ref), timeout=10)
    assert got.id == flow.id, got
    print("ok: a session sees only its own flows; another's are NOT_FOUND")
    details = expect_code(grpc, code.RESOURCE_EXHAUSTED, flows.Connect,
                          connect(session=a.ref, channel=ch,
                                  remote_ipv4=ipv4("10.0.0.4"), remote_port=7))
    print(f"ok: RESOURCE_EXHAUSTED after {time.time() - started:.2f} s: "
          f"{details}")
    try:
        pending.result()
        raise AssertionError("a connect to nobody succeeded")
    except grpc.RpcError as error:
        assert error.code() == code.UNAVAILABLE, error
        print(f"ok: the first connect: {error.details()} after "
              f"{time.time() - started:.2f} s")
    sessions.CreateChannel(pb.CreateChannelRequest(session=a.ref), timeout=10)
    details = expect_code(grpc, code.RESOURCE_EXHAUSTED, sessions.CreateChannel,
                          pb.CreateChannelRequest(session=a.ref))
    print(f"ok: RESOURCE_EXHAUSTED: {details}")
    c = Session(pb, sessions)
    try:
        Session(pb, sessions)
        raise AssertionError("a fourth session opened")
    except grpc.RpcError as error:
        assert error.code() == code.RESOURCE_EXHAUSTED, error
        print(f"ok: RESOURCE_EXHAUSTED: {error.details()}")
    for bad in (pb.SessionRequest(heartbeat=pb.Heartbeat()),
                pb.SessionRequest(open=pb.OpenSession(heartbeat_timeout_ms=5))):
        c.close()
        try:
            Session(pb, sessions, first=bad)
            raise AssertionError(f"a session opened with {bad}")
        except grpc.RpcError as error:
            assert error.code() == code.INVALID_ARGUMENT, error
            print(f"ok: INVALID_ARGUMENT: {error.details()}")

    sessions.DestroyChannel(pb.DestroyChannelRequest(session=a.ref,
                                                     channel=ch), timeout=10)
    expect_code(grpc, code.NOT_FOUND, sessions.DestroyChannel,
                pb.DestroyChannelRequest(session=a.ref, channel=ch))
    sock.close()
    a.close()
    b.close()
    wait_for(lambda: not all_sessions.ListSessions(pb.ListSessionsRequest(),
                                               timeout=10).sessions)
    print("ok: sessions closed: none listed")


def silent_clients(pb, pb_grpc, channel):
    """Clients that connect to the channel socket and say nothing hold up
    nobody: another application's attach completes while they are still
    waiting (none has been answered yet), and each is then refused."""
    import select
    import socket
    import struct
    sessions = pb_grpc.SessionServiceStub(channel)
    s = Session(pb, sessions)
    ticket = sessions.CreateChannel(pb.CreateChannelRequest(session=s.ref),
                                    timeout=10).ticket
    path = s.channel_socket
    silent = []
    for _ in range(4):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect("\0" + path[1:] if path.startswith("@") else path)
        silent.append(sock)
    ch, held = attach(ticket, path)
    assert ch > 0, ch
    answered, _, _ = select.select(silent, [], [], 0)
    assert not answered, "a silent client was dealt with first"
    print("ok: an attach completed while 4 silent clients were waiting")
    for sock in silent:
        sock.settimeout(10)
        data = sock.recv(128)
        magic, error = struct.unpack_from("<Ii", data)
        assert magic == 0x54544146 and error != 0, data
        sock.close()
    print("ok: each silent client was then refused")
    held.close()
    s.close()


def session_churn(pb, pb_grpc, channel, admin, stats, ferryd_pid):
    """200 sessions, each with a channel, opened and ended one after
    another (half closed in order, half dropped with the channel socket
    left open, as a crash would): ferryd ends where it began, with no
    session, no live channel and no more open files."""
    sessions = pb_grpc.SessionServiceStub(channel)
    all_sessions = pb_grpc.SessionServiceStub(admin)

    def open_files():
        return len(os.listdir(f"/proc/{ferryd_pid}/fd"))
    before_files = open_files()
    before = stats.GetStats(pb.GetStatsRequest(), timeout=10).channels
    for i in range(200):
        s = Session(pb, sessions)
        ticket = sessions.CreateChannel(
            pb.CreateChannelRequest(session=s.ref), timeout=10).ticket
        ch, sock = attach(ticket, s.channel_socket)
        assert ch > 0, ch
        if i % 2 == 0:
            sock.close()
            s.close()
        else:
            s.close()  # the stream ends first; the socket closes after
            sock.close()
    wait_for(lambda: not all_sessions.ListSessions(pb.ListSessionsRequest(),
                                               timeout=10).sessions)
    # Live counts connections; reclaimed follows once each engine has let
    # go of its channel.
    wait_for(lambda: stats.GetStats(pb.GetStatsRequest(), timeout=10)
             .channels.reclaimed - before.reclaimed == 200)
    after = stats.GetStats(pb.GetStatsRequest(), timeout=10).channels
    assert after.live == 0, after
    # gRPC may keep a connection or two of its own a moment longer.
    wait_for(lambda: open_files() <= before_files + 2)
    print(f"ok: 200 sessions with a channel each came and went: "
          f"{after.reclaimed - before.reclaimed} channels reclaimed, "
          f"{open_files()} open files (before: {before_files})")


def ipv4(dotted):
    """An IPv4 address as the API carries it (fixed32, host byte order)."""
    import ipaddress
    return int(ipaddress.IPv4Address(dotted))


def flow_error(pb, error):
    """The engine's FerryStatus name in a failed call's status details (a
    google.rpc.Status holding a ferry.v1.FlowError), or None."""
    from proto.google.rpc import status_pb2
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                found = pb.FlowError()
                if detail.Unpack(found):
                    return pb.FerryStatus.Name(found.status)
    return None


def expect_error(grpc, code, call, *args, **kwargs):
    """The RpcError of a call that must fail with `code`."""
    try:
        call(*args, timeout=60, **kwargs)
    except grpc.RpcError as error:
        assert error.code() == code, (call, args, error.code(), error.details())
        return error
    raise AssertionError(f"{call} {args} succeeded, expected {code}")


def expect_code(grpc, code, call, *args, **kwargs):
    return expect_error(grpc, code, call, *args, **kwargs).details()


def bad_requests(grpc, pb, nics, stats):
    """Each bad request gets its exact code, and nothing is left behind."""
    attach = pb.AttachNicRequest
    invalid, exists = grpc.StatusCode.INVALID_ARGUMENT, \
        grpc.StatusCode.ALREADY_EXISTS
    # A huge or binary input comes back bounded and printable.
    details = expect_code(grpc, grpc.StatusCode.NOT_FOUND, nics.GetNic,
                          pb.GetNicRequest(name="\x1b[2J" + "x" * 1000000))
    assert len(details) <= 512 and "\x1b" not in details, len(details)
    print(f"ok: a 1 MB name comes back as {len(details)} printable bytes")
    cases = [
        (invalid, nics.AttachNic, attach(device="", ip="10.1.0.1/24")),
        (invalid, nics.AttachNic, attach(device="eth0", ip="10.1.0.1/24")),
        (invalid, nics.AttachNic,
         attach(device="net_bogus0", ip="10.1.0.1/24")),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.300/24")),
        (invalid, nics.AttachNic, attach(device="net_null5", ip="10.1.0.1")),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.1/24", gateway="10.2.0.1")),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.1/24", mac="01:00:5e:0:0:1")),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.1/24", mtu=20)),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.1/24", engines=100)),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.1/24", cores="0-99")),
        (invalid, nics.AttachNic,
         attach(device="net_null5", ip="10.1.0.1/24", polling="lazy")),
        (exists, nics.AttachNic, attach(device="net_ring0", ip="10.1.0.1/24")),
        (exists, nics.AttachNic, attach(device="net_null5", ip="10.0.0.1/24")),
        (invalid, nics.DetachNic, pb.DetachNicRequest(name="")),
        (grpc.StatusCode.NOT_FOUND, nics.DetachNic,
         pb.DetachNicRequest(name="nope")),
        (grpc.StatusCode.NOT_FOUND, nics.GetNic, pb.GetNicRequest(name="nope")),
        (invalid, nics.GetNic, pb.GetNicRequest(name="")),
    ]
    for code, call, request in cases:
        details = expect_code(grpc, code, call, request)
        print(f"ok: {code.name}: {details}")
    details = expect_code(grpc, invalid, lambda r, timeout: list(
        stats.WatchStats(r, timeout=timeout)),
        pb.WatchStatsRequest(interval_ms=1))
    print(f"ok: INVALID_ARGUMENT: {details}")
    listed = nics.ListNics(pb.ListNicsRequest(), timeout=10)
    assert [n.name for n in listed.nics] == ["net_ring0"], listed


def bad_flow_requests(grpc, pb, flows):
    """The Flow service's bad requests, each with its exact code."""
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    not_found = grpc.StatusCode.NOT_FOUND
    cases = [
        (invalid, flows.ListFlows, pb.ListFlowsRequest(state="asleep")),
        (invalid, flows.ListFlows, pb.ListFlowsRequest(remote_ip="1.2.3")),
        (invalid, flows.ListFlows, pb.ListFlowsRequest(page_size=1001)),
        (invalid, flows.ListFlows, pb.ListFlowsRequest(page_token="x")),
        (invalid, flows.ListFlows,
         pb.ListFlowsRequest(page_token="net_gone0/0/0")),
        (not_found, flows.ListFlows, pb.ListFlowsRequest(nic="nope")),
        (invalid, flows.GetFlow, pb.GetFlowRequest(id=1)),
        (not_found, flows.GetFlow, pb.GetFlowRequest(nic="nope", id=1)),
        (not_found, flows.GetFlow, pb.GetFlowRequest(nic="net_ring0", id=1)),
        (not_found, flows.CloseFlow,
         pb.CloseFlowRequest(nic="net_ring0", id=1, reset=True)),
    ]
    for code, call, request in cases:
        details = expect_code(grpc, code, call, request)
        print(f"ok: {code.name}: {details}")


def channel_blocks_detach(grpc, pb, nics, stats, test_client, tag):
    """A NIC serving a channel cannot be detached until the app is gone."""
    reclaimed = stats.GetStats(pb.GetStatsRequest(), timeout=10) \
        .channels.reclaimed
    client = subprocess.Popen(
        [test_client, f"--ferryd_socket=@ferry-py-{tag}", "--mode=hold",
         "--hold_ms=60000"], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().startswith("attached")
        wait_for(lambda: stats.GetStats(pb.GetStatsRequest(), timeout=10)
                 .channels.live == 1)
        details = expect_code(grpc, grpc.StatusCode.FAILED_PRECONDITION,
                              nics.DetachNic,
                              pb.DetachNicRequest(name="net_ring0"))
        print(f"ok: FAILED_PRECONDITION: {details}")
    finally:
        client.kill()
        client.wait()
    # The application is gone: its channel is reclaimed, then the NIC goes.
    # (Channels of earlier sessions may be reclaimed meanwhile too.)
    def gone():
        channels = stats.GetStats(pb.GetStatsRequest(), timeout=10).channels
        return channels.live == 0 and channels.reclaimed >= reclaimed + 1
    wait_for(gone)
    # The connection's end is seen before the engine hands the drained
    # channel back, and another session's channel may have made up the
    # reclaimed count: until then the NIC still counts the channel.
    def detached():
        try:
            nics.DetachNic(pb.DetachNicRequest(name="net_ring0"), timeout=30)
            return True
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return False
    wait_for(detached)
    assert not nics.ListNics(pb.ListNicsRequest(), timeout=10).nics
    print("ok: detached after the channel's application died")


def wait_for(condition, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


if __name__ == "__main__":
    main()

"""Both halves of unopened_streams_test.sh.

  flood SOCKET CHANNEL_SOCKET PROTO_DIR STATE: run as the unprivileged
    user. Holds 4 silent connections to the channel socket and opens 5,000
    session streams over 25 connections that never send `open`; writes
    "holding" to STATE once every stream has started, then, when every
    stream has ended, "done" and a JSON count of how they ended.
  check GRPC_SOCKET FERRYD_PID PROTO_DIR STATE: run as root while the
    flood holds. Another application's session, channel attach and RPCs
    complete (and the flood is still holding when they have); ferryd's
    thread count stays bounded; then every flood stream has ended, the
    ones ferryd admitted at their `open` deadline (CANCELLED) and the rest
    at once (RESOURCE_EXHAUSTED).
"""
import asyncio
import json
import os
import socket
import sys
import time

import ferry_stubs

STREAMS = 5000
CONNECTIONS = 25
SILENT = 4


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def write_state(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def read_state(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


async def flood_streams(grpc_socket, state):
    import grpc
    from proto.ferry.v1 import ferry_pb2_grpc as pb_grpc
    channels = [grpc.aio.insecure_channel(
        f"unix:{grpc_socket}",
        options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(CONNECTIONS)]
    calls = []
    for i in range(STREAMS):
        stub = pb_grpc.SessionServiceStub(channels[i % CONNECTIONS])
        calls.append(stub.OpenSession(timeout=120))  # nothing is ever sent
    # Started: each call's headers are out once the channel is ready.
    await asyncio.gather(*(c.channel_ready() for c in channels))
    await asyncio.sleep(1)
    write_state(state, "holding")
    codes = {}
    for call in calls:
        code = (await call.code()).name
        codes[code] = codes.get(code, 0) + 1
    write_state(state, "done " + json.dumps(codes))
    for c in channels:
        await c.close()


def flood(grpc_socket, channel_socket, proto_root, state):
    ferry_stubs.load(proto_root)
    silent = []
    for _ in range(SILENT):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(channel_socket)
        silent.append(s)
    asyncio.run(flood_streams(grpc_socket, state))
    for s in silent:
        s.close()


def check(grpc_socket, ferryd_pid, proto_root, state):
    ferry_stubs.load(proto_root)
    import grpc
    from proto.ferry.v1 import ferry_pb2 as pb, ferry_pb2_grpc as pb_grpc
    from api_python_test import Session, attach
    end = time.time() + 60
    while read_state(state) != "holding":
        assert time.time() < end, f"the flood never held: {read_state(state)}"
        time.sleep(0.1)
    held_threads = threads_of(ferryd_pid)
    print(f"ok: while {STREAMS} unopened streams and {SILENT} silent channel "
          f"connections are held, ferryd runs {held_threads} threads")
    # The synchronous pool (64) and gRPC's own pollers and executors; one
    # thread per stream would be over 5,000.
    assert held_threads <= 128, held_threads

    channel = grpc.insecure_channel(f"unix:{grpc_socket}")
    grpc.channel_ready_future(channel).result(timeout=30)
    sessions = pb_grpc.SessionServiceStub(channel)
    flows = pb_grpc.FlowServiceStub(channel)
    timings = {}
    start = time.time()
    s = Session(pb, sessions)
    timings["session"] = time.time() - start
    start = time.time()
    ticket = sessions.CreateChannel(pb.CreateChannelRequest(session=s.ref),
                                    timeout=10).ticket
    ch, held = attach(ticket, s.channel_socket)
    assert ch > 0, ch
    timings["attach"] = time.time() - start
    start = time.time()
    flows.Listen(pb.ListenRequest(session=s.ref, channel=ch, port=7100),
                 timeout=10)
    own = sessions.ListSessions(pb.ListSessionsRequest(session=s.ref),
                                timeout=10)
    assert [x.id for x in own.sessions] == [s.ref.id], own
    assert own.sessions[0].peer.uid == os.getuid(), own
    assert own.sessions[0].peer.pid == os.getpid(), own
    timings["rpc"] = time.time() - start
    assert read_state(state) == "holding", \
        "the flood ended before the application was done"
    print("ok: another application's session, attach, Listen and "
          "ListSessions completed while the flood was held: " + ", ".join(
              f"{k} {v * 1000:.1f} ms" for k, v in timings.items()))
    print(f"ok: its session records the kernel's credentials: uid "
          f"{own.sessions[0].peer.uid}, pid {own.sessions[0].peer.pid}")
    held.close()
    s.close()

    end = time.time() + 60
    while not read_state(state).startswith("done"):
        assert time.time() < end, "the flood's streams did not all end"
        time.sleep(0.2)
    codes = json.loads(read_state(state)[len("done "):])
    print(f"ok: every flood stream ended: {codes}")
    assert sum(codes.values()) == STREAMS, codes
    assert set(codes) <= {"CANCELLED", "RESOURCE_EXHAUSTED"}, codes
    assert codes.get("CANCELLED", 0) >= 1, codes
    after = threads_of(ferryd_pid)
    print(f"ok: ferryd runs {after} threads afterwards")
    assert after <= 128, after


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "flood":
        flood(*args)
    else:
        check(args[0], int(args[1]), args[2], args[3])
        print("PASS: a flood of unopened session streams and silent channel "
              "connections delays no other application and holds no thread")

"""Per-session flow quotas leave room in an engine's flow table: with a
table of 64 flows (--max_flows_per_engine) and a session quota of 48
(--max_flows_per_session), on two ferryd joined by memif:
  - session X, with two channels, connects until refused: it holds 48
    flows across both (RESOURCE_EXHAUSTED after, naming the quota), though
    each channel alone may hold 64;
  - session Y on the same host still connects, to another listener: it
    gets the 16 slots left, then RESOURCE_EXHAUSTED (the table is full);
  - on the listening host the accepted flows count against the
    listeners' sessions the same way;
  - when X closes its flows, Y connects again.

Usage: flow_quota_test.py FERRYD PROTO_DIR
"""
import ipaddress
import sys
import time

import ferry_stubs
from memif_pair import MemifPair

TABLE, QUOTA = 64, 48


def main():
    ferryd, proto_root = sys.argv[1], sys.argv[2]
    out = ferry_stubs.load(proto_root)
    held = []
    with MemifPair(ferryd, "fq", "10.72.0", out,
                   [f"--max_flows_per_engine={TABLE}",
                    f"--max_flows_per_session={QUOTA}",
                    f"--max_flows_per_channel={TABLE}"]) as pair:
        try:
            check(pair, held)
        finally:
            for h in held:
                h.close()


def check(pair, held):
    import grpc
    from proto.ferry.v1 import ferry_pb2 as pb, ferry_pb2_grpc as pb_grpc
    from api_python_test import Session, attach

    hosts = []
    for h in (1, 2):
        channel = grpc.insecure_channel(pair.targets[h - 1])
        hosts.append((pb_grpc.SessionServiceStub(channel),
                      pb_grpc.FlowServiceStub(channel)))

    def session(h, channels):
        sessions, _ = hosts[h]
        s = Session(pb, sessions)
        ids = []
        for _ in range(channels):
            ticket = sessions.CreateChannel(
                pb.CreateChannelRequest(session=s.ref), timeout=10).ticket
            ch, sock = attach(ticket, s.channel_socket)
            assert ch > 0, ch
            held.append(sock)
            ids.append(ch)
        held.append(s)
        return s, ids

    flows_a, flows_b = hosts[0][1], hosts[1][1]
    listeners = {}
    for port in (7000, 7001):
        s, (ch,) = session(1, 1)
        flows_b.Listen(pb.ListenRequest(session=s.ref, channel=ch,
                                        port=port), timeout=10)
        listeners[port] = s

    def connect_until_refused(s, channels, port):
        opened, i = [], 0
        while True:
            try:
                r = flows_a.Connect(pb.ConnectRequest(
                    session=s.ref, channel=channels[i % len(channels)],
                    remote_ipv4=int(ipaddress.IPv4Address("10.72.0.2")), remote_port=port,
                    timeout_ms=5000), timeout=10)
                opened.append(r)
                i += 1
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, \
                    error
                return opened, error.details()
            assert len(opened) <= TABLE, "no quota stopped it"

    def count(stub, s):
        return len(stub.ListFlows(pb.ListFlowsRequest(
            session=s.ref, page_size=1000), timeout=10).flows)

    x, x_channels = session(0, 2)
    x_flows, why = connect_until_refused(x, x_channels, 7000)
    print(f"ok: session X (2 channels) holds {len(x_flows)} flows, then "
          f"RESOURCE_EXHAUSTED: {why}")
    assert len(x_flows) == QUOTA, len(x_flows)
    assert "--max_flows_per_session" in why, why
    assert {f.nic for f in x_flows} == {"net_memif0"}

    y, y_channels = session(0, 1)
    y_flows, why = connect_until_refused(y, y_channels, 7001)
    print(f"ok: session Y still connects: {len(y_flows)} flows, then "
          f"RESOURCE_EXHAUSTED (the table of {TABLE} is full)")
    assert len(y_flows) == TABLE - QUOTA, len(y_flows)
    assert count(flows_a, x) == QUOTA and \
        count(flows_a, y) == TABLE - QUOTA
    assert count(flows_b, listeners[7000]) == QUOTA, \
        count(flows_b, listeners[7000])
    assert count(flows_b, listeners[7001]) == TABLE - QUOTA
    print(f"ok: the listeners hold {QUOTA} and {TABLE - QUOTA} accepted "
          "flows on the other host")

    for f in x_flows:
        flows_a.CloseFlow(pb.CloseFlowRequest(nic=f.nic, id=f.flow,
                                              session=x.ref), timeout=10)
    end = time.time() + 20
    while count(flows_a, x) and time.time() < end:
        time.sleep(0.2)
    assert count(flows_a, x) == 0, count(flows_a, x)
    more, _ = connect_until_refused(y, y_channels, 7001)
    print(f"ok: once X closed its flows, Y connected {len(more)} more")
    assert len(more) == QUOTA - (TABLE - QUOTA), len(more)
    print("PASS: one session cannot take an engine's whole flow table")


if __name__ == "__main__":
    main()

"""One application session against another, both on the application
socket as the same unprivileged user (run by app_user_test.sh): a session
reaches its own flows and nobody else's.

Usage: app_user_test.py WORK_DIR SOCKET_A SOCKET_B REMOTE_IP
WORK_DIR holds proto/ and api_python_test.py (its Session and attach).
"""
import ipaddress
import os
import sys
import tempfile
import time

from grpc_tools import protoc


def main():
    work, socket_a, socket_b, remote_ip = sys.argv[1:5]
    out = tempfile.mkdtemp()
    rc = protoc.main([
        "protoc", f"-I{work}", f"--python_out={out}",
        f"--grpc_python_out={out}", "proto/ferry/v1/ferry.proto"])
    assert rc == 0, "stub generation failed"
    sys.path.insert(0, out)
    sys.path.insert(0, work)
    import grpc
    from proto.ferry.v1 import ferry_pb2 as pb, ferry_pb2_grpc as pb_grpc
    from api_python_test import Session, attach, expect_code
    code = grpc.StatusCode

    host_a = grpc.insecure_channel(f"unix:{socket_a}")
    host_b = grpc.insecure_channel(f"unix:{socket_b}")
    sessions_a = pb_grpc.SessionServiceStub(host_a)
    flows_a = pb_grpc.FlowServiceStub(host_a)
    sessions_b = pb_grpc.SessionServiceStub(host_b)
    flows_b = pb_grpc.FlowServiceStub(host_b)

    held = []  # a channel lives while its socket is open

    def session_with_channel(sessions):
        s = Session(pb, sessions)
        ticket = sessions.CreateChannel(
            pb.CreateChannelRequest(session=s.ref), timeout=10).ticket
        ch, sock = attach(ticket, s.channel_socket)
        assert ch > 0, ch
        held.append(sock)
        return s, ch, sock

    # L listens on host B; X (host A) connects to it; Y (host A) and M
    # (host B) are the other applications.
    lsn, lsn_ch, _ = session_with_channel(sessions_b)
    flows_b.Listen(pb.ListenRequest(session=lsn.ref, channel=lsn_ch,
                                    port=7100), timeout=10)
    x, x_ch, _ = session_with_channel(sessions_a)
    conn = flows_a.Connect(pb.ConnectRequest(
        session=x.ref, channel=x_ch, remote_ipv4=int(ipaddress.IPv4Address(remote_ip)), remote_port=7100),
        timeout=10)
    y, y_ch, _ = session_with_channel(sessions_a)
    m, m_ch, _ = session_with_channel(sessions_b)
    print(f"ok: sessions X {x.ref.id} (flow {conn.flow}), Y {y.ref.id} on "
          f"A; L {lsn.ref.id} (port 7100), M {m.ref.id} on B")

    mine = flows_a.ListFlows(pb.ListFlowsRequest(session=x.ref), timeout=10)
    assert [f.id for f in mine.flows] == [conn.flow], mine
    flow = mine.flows[0]
    assert flow.channel == x_ch, flow
    others = flows_a.ListFlows(pb.ListFlowsRequest(session=y.ref), timeout=10)
    assert not others.flows, others
    expect_code(grpc, code.PERMISSION_DENIED, flows_a.ListFlows,
                pb.ListFlowsRequest())
    stolen = pb.SessionRef(id=x.ref.id, token=y.ref.token)
    for call, request in [
            (flows_a.GetFlow, pb.GetFlowRequest(nic=flow.nic, id=flow.id,
                                                session=y.ref)),
            (flows_a.CloseFlow, pb.CloseFlowRequest(
                nic=flow.nic, id=flow.id, session=y.ref)),
            (flows_a.CloseFlow, pb.CloseFlowRequest(
                nic=flow.nic, id=flow.id, reset=True, session=y.ref)),
            (flows_a.ListFlows, pb.ListFlowsRequest(session=stolen)),
            (sessions_a.DestroyChannel, pb.DestroyChannelRequest(
                session=y.ref, channel=x_ch, abort=True)),
            (flows_a.Connect, pb.ConnectRequest(
                session=y.ref, channel=x_ch, remote_ipv4=int(ipaddress.IPv4Address(remote_ip)),
                remote_port=7100)),
            (flows_b.StopListening, pb.StopListeningRequest(
                session=m.ref, channel=lsn_ch, port=7100)),
            (flows_b.StopListening, pb.StopListeningRequest(
                session=m.ref, channel=m_ch, port=7100)),
            (sessions_a.ListSessions, pb.ListSessionsRequest(session=stolen))]:
        details = expect_code(grpc, code.NOT_FOUND, call, request)
        print(f"ok: NOT_FOUND: {type(request).__name__}: {details}")
    for port in (7100, 7000):  # L's, and the ferryctl listener's
        details = expect_code(grpc, code.ALREADY_EXISTS, flows_b.Listen,
                              pb.ListenRequest(session=m.ref, channel=m_ch,
                                               port=port))
        print(f"ok: ALREADY_EXISTS: {details}")
    listed = sessions_a.ListSessions(pb.ListSessionsRequest(session=y.ref),
                                     timeout=10)
    assert [s.id for s in listed.sessions] == [y.ref.id], listed
    rc, _ = attach(os.urandom(16), y.channel_socket)
    assert rc == -1, rc  # EPERM
    print("ok: a forged ticket is refused; ListSessions shows only the caller")

    # A real ticket of this user's session, leaked to another user (root,
    # in app_user_test.sh), is refused there and still works here.
    ticket = sessions_a.CreateChannel(
        pb.CreateChannelRequest(session=y.ref), timeout=10).ticket
    with open(os.path.join(work, "leaked.tmp"), "w") as f:
        f.write(ticket.hex() + " " + y.channel_socket)
    os.rename(os.path.join(work, "leaked.tmp"), os.path.join(work, "leaked"))
    tried = os.path.join(work, "leaked.tried")
    for _ in range(300):
        if os.path.exists(tried):
            break
        time.sleep(0.1)
    with open(tried) as f:
        other = int(f.read())
    assert other == -1, other  # EPERM
    rc, sock = attach(ticket, y.channel_socket)
    assert rc > 0, rc
    held.append(sock)
    print("ok: this session's ticket is refused to another user (EPERM) and "
          "still redeemed by its own")

    # X's flow survived all of it, and X itself may close it.
    after = flows_a.GetFlow(pb.GetFlowRequest(nic=flow.nic, id=flow.id,
                                              session=x.ref), timeout=10)
    assert after.state == "established", after
    flows_a.CloseFlow(pb.CloseFlowRequest(nic=flow.nic, id=flow.id,
                                          session=x.ref), timeout=10)
    print("ok: X's flow stayed established until X closed it")
    for s in (x, y, lsn, m):
        s.close()
    print("PASS: sessions reach only their own flows, channels and ports")


if __name__ == "__main__":
    main()

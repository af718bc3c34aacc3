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
        "proto/grpc/health/v1/health.proto"])
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
         "--memory_mb=256"], stdout=log, stderr=subprocess.STDOUT)
    try:
        channel = grpc.insecure_channel(f"unix-abstract:ferry-py-{tag}")
        grpc.channel_ready_future(channel).result(timeout=60)
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING

        nics = ferry_pb2_grpc.NicServiceStub(channel)
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

        stats = ferry_pb2_grpc.StatsServiceStub(channel)
        snapshots = list(stats.WatchStats(
            ferry_pb2.WatchStatsRequest(interval_ms=100, count=3),
            timeout=30))
        assert len(snapshots) == 3, snapshots
        assert snapshots[0].unix_time_ms <= snapshots[2].unix_time_ms
        flows = ferry_pb2_grpc.FlowServiceStub(channel)
        assert not flows.ListFlows(ferry_pb2.ListFlowsRequest(),
                                   timeout=10).flows
        bad_requests(grpc, ferry_pb2, nics, stats)
        bad_flow_requests(grpc, ferry_pb2, flows)
        channel_blocks_detach(grpc, ferry_pb2, nics, stats, test_client, tag)
        print("PASS: ferryd's API from Python: health, NICs, stats stream, "
              "flows, bad requests")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.seek(0)
        if daemon.returncode != 0:
            print(log.read())
            sys.exit(1)


def expect_code(grpc, code, call, *args, **kwargs):
    try:
        call(*args, timeout=60, **kwargs)
    except grpc.RpcError as error:
        assert error.code() == code, (call, args, error.code(), error.details())
        return error.details()
    raise AssertionError(f"{call} {args} succeeded, expected {code}")


def bad_requests(grpc, pb, nics, stats):
    """Each bad request gets its exact code, and nothing is left behind."""
    attach = pb.AttachNicRequest
    invalid, exists = grpc.StatusCode.INVALID_ARGUMENT, \
        grpc.StatusCode.ALREADY_EXISTS
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
    client = subprocess.Popen(
        [test_client, f"--ferryd_socket=@ferry-py-{tag}", "--mode=hold",
         "--hold_ms=60000"], stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "attached"
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
    wait_for(lambda: stats.GetStats(pb.GetStatsRequest(), timeout=10)
             .channels.reclaimed == 1)
    nics.DetachNic(pb.DetachNicRequest(name="net_ring0"), timeout=30)
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

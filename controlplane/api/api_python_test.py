"""Drives ferryd's gRPC API from Python (Debian's python3-grpcio), with
stubs generated from proto/ at test time by grpc_tools.

Usage: api_python_test.py FERRYD PROTO_DIR
"""
import os
import random
import subprocess
import sys
import tempfile
import time

from grpc_tools import protoc


def main():
    ferryd, proto_root = sys.argv[1], sys.argv[2]
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
        print("PASS: ferryd's API from Python: health, NICs, stats stream")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.seek(0)
        if daemon.returncode != 0:
            print(log.read())
            sys.exit(1)


if __name__ == "__main__":
    main()

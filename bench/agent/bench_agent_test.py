#!/usr/bin/python3
"""The bench agent refuses bad parameters with clear errors, refuses
callers of another bench API version and Ferry runs while ferryd does not
answer, runs a kernel UDP client and server pair on loopback, and ends a
run at its time limit.

Usage: bench_agent_test.py MSG_GEN"""
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())
import grpc  # noqa: E402

from bench import api_version, pyproto  # noqa: E402

pb, pb_grpc = pyproto.load("bench")
MD = ((api_version.METADATA_KEY, str(api_version.BENCH_API_VERSION)),)


def main():
    msg_gen = os.path.realpath(sys.argv[1])
    work = tempfile.mkdtemp()
    sock = f"unix:{work}/agent.sock"
    log = open(os.path.join(work, "agent.log"), "w+")
    agent = subprocess.Popen(
        ["/usr/bin/python3", "bench/agent/bench_agent.py", f"--listen={sock}",
         f"--msg_gen={msg_gen}", "--max_duration_s=20",
         f"--ferryd_socket={work}/no-ferryd.sock", "--ferryd_metrics="], stdout=log, stderr=subprocess.STDOUT)
    try:
        channel = grpc.insecure_channel(sock)
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = pb_grpc.BenchAgentStub(channel)
        info = stub.GetHostInfo(pb.GetHostInfoRequest(), timeout=10)
        assert info.cores >= 1 and info.kernel, info
        assert info.bench_api_version == api_version.BENCH_API_VERSION, info
        assert "ferryd does not answer" in info.ferryd_status, info
        print(f"ok: host {info.hostname}, {info.cores} cores, {info.kernel}; "
              f"{info.ferryd_status}")

        # Calls from an orchestrator of another version, or of none.
        for metadata in ((), ((api_version.METADATA_KEY, "1"),)):
            try:
                stub.StartServer(pb.ServerSpec(transport="udp", port=7000),
                                 timeout=10, metadata=metadata)
                raise AssertionError(f"accepted a call with {metadata}")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e
                assert "version skew" in e.details(), e.details()
                print(f"ok: FAILED_PRECONDITION: {e.details()}")
        # A Ferry run while ferryd does not answer.
        try:
            stub.StartServer(pb.ServerSpec(transport="ferry", port=7000),
                             timeout=10, metadata=MD)
            raise AssertionError("a Ferry server without ferryd")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e
            assert "ferryd does not answer" in e.details(), e.details()
            print(f"ok: FAILED_PRECONDITION: {e.details()}")

        good = dict(transport="udp", remote="127.0.0.1:7", request_size=64,
                    response_size=64, window=1, flows=1, duration_s=1)
        bad_clients = [
            (dict(request_size=(8 << 20) + 1), "request_size"),
            (dict(response_size=(8 << 20) + 1), "response_size"),
            (dict(window=0), "window"),
            (dict(window=5000), "window"),
            (dict(flows=20000), "flows"),
            (dict(transport="sctp"), "transport"),
            (dict(duration_s=3600), "duration_s"),
            (dict(duration_s=0), "duration_s"),
            (dict(remote="localhost:7"), "remote"),
            (dict(remote="127.0.0.1:70000"), "remote"),
            (dict(bind_ip="not-an-ip"), "bind_ip"),
            (dict(transport="tcp", request_size_dist="64"), "request_size_dist"),
            (dict(transport="tcp", request_size_dist="4:1"), "request_size_dist"),
            (dict(transport="tcp", request_size_dist="64:1,64:2"), "request_size_dist"),
            (dict(transport="tcp", request_size_dist="64:0"), "request_size_dist"),
            (dict(transport="tcp",
                  request_size_dist=",".join(f"{8 + i}:1" for i in range(17))),
             "request_size_dist"),
            (dict(transport="tcp", request_size_dist="64:1;rm -rf /"), "request_size_dist"),
            (dict(request_size_dist="64:1"), "not for udp"),
        ]
        for change, field in bad_clients:
            spec = pb.ClientSpec(**{**good, **change})
            try:
                list(stub.RunClient(spec, timeout=10, metadata=MD))
                raise AssertionError(f"accepted {change}")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (change, e)
                assert field in e.details(), (field, e.details())
                print(f"ok: INVALID_ARGUMENT: {e.details()}")
        for spec, field in [
                (pb.ServerSpec(transport="quic", port=7000), "transport"),
                (pb.ServerSpec(transport="udp", port=0), "port"),
                (pb.ServerSpec(transport="udp", port=7000,
                               response_size=9 << 20), "response_size")]:
            try:
                stub.StartServer(spec, timeout=10, metadata=MD)
                raise AssertionError(f"accepted {spec}")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
                assert field in e.details(), e.details()
                print(f"ok: INVALID_ARGUMENT: {e.details()}")

        # A real run: server and client through the agent, over loopback.
        port = random.randrange(20000, 40000)
        handle = stub.StartServer(pb.ServerSpec(
            transport="udp", port=port, response_size=64, verify=True,
            bind_ip="127.0.0.1"), timeout=10, metadata=MD)
        try:
            stub.StartServer(pb.ServerSpec(transport="udp", port=port),
                             timeout=10, metadata=MD)
            raise AssertionError("a second server on the same port")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.ALREADY_EXISTS, e
            print(f"ok: ALREADY_EXISTS: {e.details()}")
        lines, final = [], None
        for message in stub.RunClient(pb.ClientSpec(
                **{**good, "remote": f"127.0.0.1:{port}", "verify": True,
                   "warmup_s": 0}), timeout=60, metadata=MD):
            if message.done:
                final = message
            else:
                lines.append(message.line)
        assert final is not None and not final.error, final
        assert '"round_trips"' in final.result_json
        assert final.client_cpu_seconds > 0, final
        assert any("RPC/s" in line for line in lines), lines
        print(f"ok: a run streamed {len(lines)} lines and returned its "
              f"result ({final.client_cpu_seconds:.2f} s of CPU)")
        stub.StopServer(handle, timeout=10, metadata=MD)
        try:
            stub.StopServer(handle, timeout=10, metadata=MD)
            raise AssertionError("stopped twice")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e
        print("PASS: the bench agent checks its parameters and runs msg_gen")
    finally:
        agent.terminate()
        agent.wait(10)
        log.seek(0)
        if agent.returncode not in (0, -15):
            print(log.read())


if __name__ == "__main__":
    main()

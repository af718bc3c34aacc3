"""Shared memory quotas (--session_memory_mb, --max_channel_mb): a channel
past either is RESOURCE_EXHAUSTED when its ticket is asked for, an attach
cannot ask for more than its ticket reserved, and 100 sessions each at its
quota leave ferryd's RSS under the configured total.

Usage: session_memory_test.py FERRYD PROTO_DIR
"""
import os
import random
import subprocess
import sys
import time

import ferry_stubs

QUOTA_MB = 20     # one 16 MiB channel (4096 x 4 KiB) fits, a second not
SESSIONS = 100


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def hugepages_used_mb():
    """Hugepage memory in use on the machine (channel segments live there
    when hugepages are free, and VmRSS does not count it)."""
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            info[key] = int(value.split()[0])
    return (info["HugePages_Total"] - info["HugePages_Free"]) * \
        info["Hugepagesize"] / 1024


def wait_for_free_hugepages(mb, seconds=60):
    """The channels are only seen when they land on hugepages (on ordinary
    pages they stay untouched, outside every count), so the pool must hold
    them. A test before this one may still be letting its ferryd and
    applications go: wait for their pages, then say what is missing."""
    def free_mb():
        info = {}
        with open("/proc/meminfo") as f:
            for line in f:
                key, value = line.split(":")
                info[key] = int(value.split()[0])
        return info["HugePages_Free"] * info["Hugepagesize"] / 1024
    end = time.time() + seconds
    while free_mb() < mb and time.time() < end:
        time.sleep(0.5)
    assert free_mb() >= mb, (
        f"only {free_mb():.0f} MiB of hugepages free after {seconds} s; "
        f"this test needs {mb} MiB (deploy/setup-hugepages.sh; something "
        f"else holds them)")


def main():
    ferryd, proto_root = sys.argv[1], sys.argv[2]
    # ferryd's own --memory_mb and the sessions' channels.
    wait_for_free_hugepages(256 + SESSIONS * 16)
    out = ferry_stubs.load(proto_root)
    import grpc
    from proto.ferry.v1 import ferry_pb2 as pb, ferry_pb2_grpc as pb_grpc
    from api_python_test import Session, attach, expect_code

    tag = f"{os.getpid()}-{random.randrange(1 << 30)}"
    log = open(os.path.join(out, "ferryd.log"), "w+")
    daemon = subprocess.Popen(
        [ferryd, "--device=net_ring0", "--ip=10.0.0.1/24",
         f"--channel_socket=@ferry-mem-ch-{tag}",
         f"--grpc_socket=@ferry-mem-{tag}", "--metrics_address=",
         "--memory_mb=256", f"--max_sessions={SESSIONS + 2}",
         f"--session_memory_mb={QUOTA_MB}", "--max_channel_mb=64"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        channel = grpc.insecure_channel(f"unix-abstract:ferry-mem-{tag}")
        grpc.channel_ready_future(channel).result(timeout=60)
        sessions = pb_grpc.SessionServiceStub(channel)
        code = grpc.StatusCode
        small = pb.ChannelSizes(buffer_count=4096)

        s = Session(pb, sessions)
        for sizes, why in [
                (pb.ChannelSizes(), "the default 32 MiB channel"),
                (pb.ChannelSizes(buffer_count=1 << 22, buffer_size=1 << 20),
                 "a 4 TiB channel"),
                (pb.ChannelSizes(buffer_count=1 << 15, buffer_size=4096),
                 "a 128 MiB channel")]:
            details = expect_code(grpc, code.RESOURCE_EXHAUSTED,
                                  sessions.CreateChannel,
                                  pb.CreateChannelRequest(session=s.ref,
                                                          sizes=sizes))
            print(f"ok: {why}: RESOURCE_EXHAUSTED: {details}")
        details = expect_code(grpc, code.INVALID_ARGUMENT,
                              sessions.CreateChannel,
                              pb.CreateChannelRequest(
                                  session=s.ref,
                                  sizes=pb.ChannelSizes(buffer_count=3)))
        print(f"ok: INVALID_ARGUMENT: {details}")
        # An attach may not ask for more than its ticket reserved.
        ticket = sessions.CreateChannel(pb.CreateChannelRequest(
            session=s.ref, sizes=small), timeout=10).ticket
        rc, _ = attach(ticket, s.channel_socket, buffer_count=1 << 16)
        assert rc == -1, rc  # EPERM
        print("ok: an attach asking for more than its ticket is refused")
        s.close()

        before = rss_mb(daemon.pid)
        huge_before = hugepages_used_mb()
        held = []
        for i in range(SESSIONS):
            s = Session(pb, sessions)
            ticket = sessions.CreateChannel(pb.CreateChannelRequest(
                session=s.ref, sizes=small), timeout=10).ticket
            ch, sock = attach(ticket, s.channel_socket)
            assert ch > 0, ch
            expect_code(grpc, code.RESOURCE_EXHAUSTED, sessions.CreateChannel,
                        pb.CreateChannelRequest(session=s.ref, sizes=small))
            held.append((s, sock))
        own = sessions.ListSessions(pb.ListSessionsRequest(session=s.ref),
                                    timeout=10).sessions[0]
        assert 16 << 20 <= own.memory_bytes <= QUOTA_MB << 20, own
        after = rss_mb(daemon.pid)
        huge = hugepages_used_mb() - huge_before
        total = SESSIONS * QUOTA_MB
        used = after - before + huge
        print(f"ok: {SESSIONS} sessions at their quota ({own.memory_bytes} "
              f"bytes each, a second channel refused): ferryd RSS "
              f"{before:.0f} -> {after:.0f} MiB, hugepages +{huge:.0f} MiB: "
              f"{used:.0f} MiB for applications; configured total "
              f"{total} MiB ({SESSIONS} x --session_memory_mb={QUOTA_MB})")
        assert used >= SESSIONS * 16, "the channels' memory was not seen"
        assert used <= total, (before, after, huge, total)
        for s, sock in held:
            sock.close()
            s.close()
        print("PASS: shared memory quotas hold")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.seek(0)
        if daemon.returncode != 0:
            print(log.read())
            sys.exit(1)


if __name__ == "__main__":
    main()

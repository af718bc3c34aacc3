"""Two ferryd joined by memif for the Python tests here: host 1 (memif
server) at SUBNET.1, host 2 at SUBNET.2, each with abstract gRPC and
channel sockets. Each host has its own node key and trusts the other's,
as two real hosts set up for ferryd's default --encryption=required;
extra_args naming other keys, trust or mode win. Used as a context
manager: on exit both are stopped, and a ferryd that did not exit cleanly
has its log printed and fails the test.
"""
import os
import random
import subprocess
import sys


def mutual_trust(ferryd, directory, tag="pair"):
    """A node key for hosts 1 and 2 and a trust list of the other's, in
    `directory` (names carry `tag`), as two real hosts set up for ferryd's
    default --encryption=required: each host's ferryd flags for them."""
    public = {}
    for h in (1, 2):
        key = os.path.join(directory, f"node-{tag}-{h}.key")
        public[h] = subprocess.run(
            [ferryd, f"--node_key_file={key}", "--print_node_key"],
            check=True, capture_output=True, text=True).stdout.strip()
    flags = {}
    for h, other in ((1, 2), (2, 1)):
        trusted = os.path.join(directory, f"trusted-{tag}-{h}")
        with open(trusted, "w") as f:
            f.write(f"{public[other]} host-{other}\n")
        flags[h] = [
            f"--node_key_file={os.path.join(directory, f'node-{tag}-{h}.key')}",
            f"--trusted_peers_file={trusted}"]
    return flags


class MemifPair:
    def __init__(self, ferryd, name, subnet, log_dir, extra_args=()):
        self.ferryd, self.subnet, self.log_dir = ferryd, subnet, log_dir
        self.extra_args = list(extra_args)
        self.tag = f"{name}-{os.getpid()}-{random.randrange(1 << 30)}"
        self.targets = [f"unix-abstract:ferry-{self.tag}-{h}" for h in (1, 2)]
        self.daemons = []

    def __enter__(self):
        import grpc
        key_args = mutual_trust(self.ferryd, self.log_dir, self.tag)
        for h, role in ((1, "server"), (2, "client")):
            log = open(os.path.join(self.log_dir, f"ferryd-{h}.log"), "w+")
            self.daemons.append((subprocess.Popen(
                [self.ferryd,
                 f"--device=net_memif0,role={role},id=0,"
                 f"socket=/ferry-{self.tag}",
                 f"--ip={self.subnet}.{h}/24",
                 f"--channel_socket=@ferry-{self.tag}-ch-{h}",
                 f"--grpc_socket=@ferry-{self.tag}-{h}",
                 "--metrics_address=", "--memory_mb=256"] + key_args[h] +
                self.extra_args,
                stdout=log, stderr=subprocess.STDOUT), log))
            # The memif client needs the server's socket to exist.
            grpc.channel_ready_future(grpc.insecure_channel(
                self.targets[h - 1])).result(timeout=60)
        return self

    def __exit__(self, *exc):
        failed = False
        for proc, log in self.daemons:
            proc.terminate()
            proc.wait(timeout=30)
            if proc.returncode != 0:
                log.seek(0)
                print(log.read())
                failed = True
        if failed:
            sys.exit(1)
        return False

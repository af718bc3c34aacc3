"""Python stubs of ferryd's API, generated from proto/ at test time with
grpc_tools (Debian's python3-grpc-tools), for the Python tests here."""
import os
import sys
import tempfile

from grpc_tools import protoc


def load(proto_root):
    """Generates the Ferry stubs under a temporary folder and puts it, and
    this folder (for api_python_test's helpers), on sys.path."""
    out = tempfile.mkdtemp()
    rc = protoc.main(["protoc", f"-I{proto_root}", f"--python_out={out}",
                      f"--grpc_python_out={out}",
                      "proto/ferry/v1/ferry.proto"])
    assert rc == 0, "stub generation failed"
    sys.path.insert(0, out)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    return out

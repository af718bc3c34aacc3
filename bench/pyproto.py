"""Python modules for Ferry's protos, generated when first needed with
Debian's grpc_tools (no generated code in the repository)."""
import importlib
import os
import sys
import tempfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OUT = None


def load(name):
    """Returns (pb2, pb2_grpc) for proto/ferry/v1/<name>.proto."""
    global _OUT
    if _OUT is None:
        from grpc_tools import protoc
        _OUT = tempfile.mkdtemp(prefix="ferry-proto-")
        rc = protoc.main([
            "protoc", f"-I{_ROOT}", f"--python_out={_OUT}",
            f"--grpc_python_out={_OUT}", "proto/ferry/v1/ferry.proto",
            "proto/ferry/v1/bench.proto"])
        if rc != 0:
            raise RuntimeError("protoc failed on proto/ferry/v1")
        sys.path.insert(0, _OUT)
    return (importlib.import_module(f"proto.ferry.v1.{name}_pb2"),
            importlib.import_module(f"proto.ferry.v1.{name}_pb2_grpc"))

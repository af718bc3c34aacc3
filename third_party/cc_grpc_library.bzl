"""C++ code generation for .proto files with Debian's protoc and grpc_cpp_plugin.

Bazel 4.2.3's native cc_proto_library would fetch protobuf's sources; this
macro runs the installed compilers instead, so the build stays offline.
"""

def cc_grpc_library(name, srcs, deps = [], grpc = True, **kwargs):
    """Generates and compiles C++ for `srcs` (paths from the workspace root).

    Args:
      name: the cc_library to define.
      srcs: .proto files in this package.
      deps: other cc_grpc_library targets whose protos these import.
      grpc: also generate gRPC service stubs (*.grpc.pb.{h,cc}).
      **kwargs: passed to the cc_library (visibility, testonly, ...).
    """
    pkg = native.package_name()
    hdrs = []
    cc_srcs = []
    for src in srcs:
        base = src[:-len(".proto")]
        hdrs.append(base + ".pb.h")
        cc_srcs.append(base + ".pb.cc")
        if grpc:
            hdrs.append(base + ".grpc.pb.h")
            cc_srcs.append(base + ".grpc.pb.cc")
    grpc_flags = ("--grpc_out=$(GENDIR) " +
                  "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) ") if grpc else ""
    native.genrule(
        name = name + "_codegen",
        srcs = srcs + [d + "_protos" for d in deps],
        outs = hdrs + cc_srcs,
        cmd = "protoc -I. --cpp_out=$(GENDIR) " + grpc_flags +
              " ".join(["%s/%s" % (pkg, s) if pkg else s for s in srcs]),
    )
    native.filegroup(
        name = name + "_protos",
        srcs = srcs,
        visibility = kwargs.get("visibility"),
        testonly = kwargs.get("testonly"),
    )
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        deps = deps + ["@grpc//:lib"],
        **kwargs
    )

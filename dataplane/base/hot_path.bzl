"""Compiler options for the code every message runs through."""

# -O3 in optimised builds (-c opt: ferryd, the client library, the
# benchmarks, the package) for the libraries on the message path: the
# engine, transport, channel, wire formats and the client. Measured with
# transport_lockstep_bench (1 KiB, window 32), builds side by side:
# 0.96-0.98x the CPU per RPC of -O2 (docs/TRANSPORT.md). Test and
# sanitizer builds keep their own levels.
HOT_PATH_COPTS = select({
    "//dataplane/base:optimized_build": ["-O3"],
    "//conditions:default": [],
})

"""The bench API's version: the orchestrator and the agents it drives must
speak the same one. Raise it whenever the meaning of a message of
proto/ferry/v1/bench.proto or of the agent's checks changes."""

BENCH_API_VERSION = 2

# The gRPC metadata key in which the orchestrator states its version on
# every call; an agent refuses runs from an orchestrator of another.
METADATA_KEY = "ferry-bench-api-version"

#!/usr/bin/env bash
# The Python binding's pytest suite over two ferryd joined by memif, and
# the example echo client against the example echo server.
set -euo pipefail
FERRYD=$(realpath "$1")
export FERRY_LIBRARY=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
preload_sanitizer_runtime "$FERRY_LIBRARY"
trap testbed_cleanup EXIT
/usr/bin/python3 -c "import pytest" 2>/dev/null ||
  fail "pytest missing (deploy/install-deps.sh installs python3-pytest)"

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair py 10.94.0 --stats_interval_s=1 --memory_mb=512 --metrics_address=

export PYTHONPATH=$PWD/client/python
export FERRY_SOCKET_A=$PAIR_GRPC_A FERRY_SOCKET_B=$PAIR_GRPC_B
export FERRY_HOST_B=10.94.0.2
/usr/bin/python3 -m pytest -q -p no:cacheprovider client/python/tests ||
  fail "pytest failed"

FERRY_SOCKET=$FERRY_SOCKET_B start_bg "$dir/echo_server.log" \
  /usr/bin/python3 client/python/examples/echo_server.py 7200
wait_for_line "$dir/echo_server.log" "echo server on" 30
out=$(FERRY_SOCKET=$FERRY_SOCKET_A timeout 30 /usr/bin/python3 \
  client/python/examples/echo_client.py 10.94.0.2 7200)
echo "$out"
[[ $out == *"answered b'hello from python'"* ]] || fail "the example echo failed"
echo "PASS: the Python binding over two ferryd"

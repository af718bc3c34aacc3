#!/usr/bin/env bash
# A real Prometheus server (Debian's package) scrapes ferryd with the config
# in deploy/prometheus/, and its HTTP API then answers a query for a Ferry
# series.
set -euo pipefail
FERRYD=$(realpath "$1")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
command -v prometheus >/dev/null || fail "prometheus missing (deploy/install-deps.sh)"

id=$$-$RANDOM
log=${TEST_TMPDIR:-/tmp}/ferryd_prometheus.log
# The default metrics address, as deploy/prometheus/prometheus.yml expects.
start_bg "$log" "$FERRYD" --device=net_ring0 --ip=10.0.0.1/24 \
  --channel_socket=@ferry-prom-ch-$id --grpc_socket=@ferry-prom-$id \
  --memory_mb=256
wait_for_line "$log" "metrics at http://127.0.0.1:10960/metrics" 60

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
start_bg "$data/prometheus.log" prometheus \
  --config.file=deploy/prometheus/prometheus.yml \
  --storage.tsdb.path="$data" --web.listen-address=127.0.0.1:$port
query="http://127.0.0.1:$port/api/v1/query?query=ferry_build_info"
for _ in $(seq 120); do
  answer=$(/usr/bin/python3 -c 'import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())
except Exception:
    pass' "$query")
  if [[ $answer == *'"__name__":"ferry_build_info"'* ]]; then
    echo "$answer"
    echo "PASS: Prometheus scraped ferryd and answers for ferry_build_info"
    rm -rf "$data"
    exit 0
  fi
  sleep 0.5
done
cat "$data/prometheus.log" >&2
fail "Prometheus never returned ferry_build_info"

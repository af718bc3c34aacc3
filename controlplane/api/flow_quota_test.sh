#!/usr/bin/env bash
# Runs flow_quota_test.py with Debian's Python (python3-grpcio).
set -euo pipefail
exec /usr/bin/python3 controlplane/api/flow_quota_test.py "$(realpath "$1")" .

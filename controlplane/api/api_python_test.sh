#!/usr/bin/env bash
# Runs api_python_test.py with Debian's Python, which has python3-grpcio and
# python3-grpc-tools (another python3 earlier on PATH may not).
set -euo pipefail
exec /usr/bin/python3 controlplane/api/api_python_test.py "$(realpath "$1")" \
  "$(realpath "$2")" .

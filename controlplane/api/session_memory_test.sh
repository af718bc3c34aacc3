#!/usr/bin/env bash
# Runs session_memory_test.py with Debian's Python (python3-grpcio).
set -euo pipefail
exec /usr/bin/python3 controlplane/api/session_memory_test.py "$(realpath "$1")" .

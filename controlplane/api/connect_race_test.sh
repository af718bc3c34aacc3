#!/usr/bin/env bash
# Runs connect_race_test.py with Debian's Python (python3-grpcio).
set -euo pipefail
exec /usr/bin/python3 controlplane/api/connect_race_test.py "$(realpath "$1")" .

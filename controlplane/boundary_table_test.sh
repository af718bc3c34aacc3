#!/usr/bin/env bash
# Runs boundary_table_test.py with Debian's Python.
set -euo pipefail
exec /usr/bin/python3 controlplane/boundary_table_test.py "$(realpath "$1")" \
  "$(realpath "$2")"

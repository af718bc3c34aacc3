#!/usr/bin/env bash
# Runs a Google Benchmark binary briefly (a smoke test: it must run and
# report, the figures are not judged).
set -euo pipefail
"$1" --benchmark_min_time=0.05 "${@:2}"

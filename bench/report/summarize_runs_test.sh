#!/usr/bin/env bash
exec /usr/bin/python3 bench/report/summarize_runs_test.py "$@"

#!/usr/bin/env bash
exec /usr/bin/python3 bench/agent/bench_agent_test.py "$@"

#!/usr/bin/env bash
exec /usr/bin/python3 bench/report/report_test.py "${TEST_TMPDIR:-/tmp}/report_test"

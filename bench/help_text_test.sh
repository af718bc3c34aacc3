#!/usr/bin/env bash
exec /usr/bin/python3 bench/help_text_test.py "$@"

#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian 12
# machine, builds everything offline and runs every test.
#
#   sudo deploy/run-tests.sh [extra bazel test args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

deploy/install-deps.sh

status=0
# Tests run every time: a cached pass from an older tree proves nothing.
bazel test //... --nocache_test_results --test_output=errors "$@" 2>&1 |
  tee /tmp/ferry-test-output.txt || status=$?
# Then everything again under AddressSanitizer (ferryd included, facing the
# same malformed and hostile input), except measurements and the Debian
# package (its binaries would need the sanitizer's runtime in a bare root),
# the tests of the Python bench tools ("driver": the ferryd and msg_gen
# paths they take are the ones the other tests take under the sanitizer),
# and the soak ("plain_only": a minute whose faults msg_gen_faults_test
# takes under the sanitizer).
bazel test //... --config=asan \
  --test_tag_filters=-benchmark,-fuzz,-debootstrap,-driver,-plain_only \
  --nocache_test_results --test_output=errors "$@" 2>&1 | tee -a /tmp/ferry-test-output.txt ||
  status=$?
# And the untrusted-input tests under UndefinedBehaviorSanitizer (which
# aborts at the first report): the boundary values of every flag and
# AttachNic field, the raw-socket flood, the protocol tests of the endpoint
# and the fuzz targets as tests (libfuzzer_test runs them with UBSan too).
bazel test --config=ubsan --nocache_test_results --test_output=errors "$@" \
  //controlplane:boundary_table_test //controlplane:wire_flood_test \
  //dataplane/engine:transport_endpoint_test //dataplane/net:frame_parser_fuzz \
  //dataplane/transport:flow_fuzz //client/abi:channel_header_fuzz \
  //dataplane/channel:engine_channel_fuzz \
  //dataplane/channel:channel_attach_fuzz 2>&1 |
  tee -a /tmp/ferry-test-output.txt || status=$?

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' /tmp/ferry-test-output.txt || true)
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' \
  /tmp/ferry-test-output.txt || true)
if ((status != 0 && failed == 0)); then failed=1; fi
echo "Ferry tests: $passed passed, $failed failed"
exit "$status"

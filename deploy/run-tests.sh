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
# The tests that feed hostile input ("hostile_input") run in the second
# pass only, under the sanitizers, where what they provoke is caught.
bazel test //... --test_tag_filters=-hostile_input --nocache_test_results \
  --test_output=errors "$@" 2>&1 | tee /tmp/ferry-test-output.txt || status=$?
# Then everything again under AddressSanitizer and UndefinedBehaviorSanitizer
# (--config=asan carries both; ferryd included, facing the same malformed
# and hostile input), except measurements and the Debian package (its
# binaries would need the sanitizers' runtime in a bare root), the tests of
# the Python bench tools ("driver": the ferryd and msg_gen paths they take
# are the ones the other tests take under the sanitizers), and the tests
# tagged "plain_only": the soak (its faults msg_gen_faults_test takes under
# the sanitizers), and tests of rules, manifests and netem whose traffic
# other tests take there. libfuzzer_test builds its targets with both too.
# --build_tests_only: what no test of this pass needs (the Debian package,
# the benchmarks) is not built again.
bazel test //... --config=asan --build_tests_only \
  --test_tag_filters=-benchmark,-fuzz,-debootstrap,-driver,-plain_only \
  --nocache_test_results --test_output=errors "$@" 2>&1 | tee -a /tmp/ferry-test-output.txt ||
  status=$?

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' /tmp/ferry-test-output.txt || true)
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' \
  /tmp/ferry-test-output.txt || true)
if ((status != 0 && failed == 0)); then failed=1; fi
echo "Ferry tests: $passed passed, $failed failed"
exit "$status"

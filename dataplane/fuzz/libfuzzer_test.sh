#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (Debian's clang 14): each target is
# built with -fsanitize=fuzzer,address,undefined (and checksums not
# verified, FERRY_FUZZ_NO_CHECKSUMS, so that mutations reach the layers
# above them) and runs for FUZZ_SECONDS (10) from its seed corpus kept
# next to it in the repository. A crash fails the test and prints the
# input as hex: add it to the corpus as a regression input. Prints each
# target's executions per second and the coverage it reached.
#
#   dataplane/fuzz/libfuzzer_test.sh [--write-seeds] [TARGET...]
# --write-seeds rewrites the corpora from the targets' FerryFuzzSeeds()
# (the same seeds the fuzz_driver tests use).
set -euo pipefail
# Bazel runs this from its runfiles: the sources are in the workspace the
# script's link points into.
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
seconds=${FUZZ_SECONDS:-10}
write_seeds=0
targets=()
for arg in "$@"; do
  case $arg in
    --write-seeds) write_seeds=1 ;;
    *) targets+=("$arg") ;;
  esac
done
((${#targets[@]})) ||
  targets=(frame_parser flow channel_header engine_channel channel_attach)
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v clang++-14 >/dev/null || fail "clang++-14 missing (deploy/install-deps.sh)"

# TARGET -> its corpus and sources (the target file first, seeds last).
declare -A corpus sources
corpus[frame_parser]=dataplane/net/fuzz_corpus/frame_parser
sources[frame_parser]="dataplane/net/frame_parser_fuzz.cc dataplane/net/frame_parser.cc
  dataplane/net/ferry_header.cc dataplane/net/frame_builder.cc
  dataplane/net/checksum.cc dataplane/net/addresses.cc
  dataplane/net/frame_parser_fuzz_seeds.cc"
corpus[flow]=dataplane/transport/fuzz_corpus/flow
sources[flow]="dataplane/transport/flow_fuzz.cc dataplane/transport/flow.cc
  dataplane/transport/flow_profile.cc
  dataplane/transport/flow_receive.cc dataplane/transport/flow_send.cc
  dataplane/transport/handshake.cc dataplane/transport/send_tracker.cc
  dataplane/transport/receive_tracker.cc dataplane/transport/congestion_control.cc
  dataplane/transport/rtt_estimator.cc dataplane/transport/message_segments.cc
  dataplane/net/ferry_header.cc dataplane/transport/flow_fuzz_seeds.cc"
corpus[channel_header]=client/abi/fuzz_corpus/channel_header
sources[channel_header]="client/abi/channel_header_fuzz.cc client/abi/channel_layout.cc
  client/abi/channel_header_fuzz_seeds.cc"

corpus[engine_channel]=dataplane/channel/fuzz_corpus/engine_channel
sources[engine_channel]="dataplane/channel/engine_channel_fuzz.cc
  dataplane/channel/engine_channel.cc dataplane/channel/engine_channel_rx.cc
  dataplane/channel/channel_segment.cc client/abi/channel_layout.cc dataplane/base/logging.cc
  dataplane/net/checksum.cc dataplane/net/addresses.cc
  dataplane/channel/engine_channel_fuzz_seeds.cc"
corpus[channel_attach]=dataplane/channel/fuzz_corpus/channel_attach
sources[channel_attach]="dataplane/channel/channel_attach_fuzz.cc
  dataplane/channel/channel_listener.cc dataplane/channel/engine_channel.cc
  dataplane/channel/engine_channel_rx.cc dataplane/channel/channel_segment.cc client/abi/channel_layout.cc
  client/abi/fd_passing.cc dataplane/base/logging.cc
  dataplane/net/checksum.cc dataplane/net/addresses.cc
  dataplane/channel/channel_attach_fuzz_seeds.cc"

work=$(mktemp -d /tmp/ferry-libfuzzer.XXXXXX)
trap 'rm -rf "$work"' EXIT
read -r -a absl <<<"$(pkg-config --libs absl_status absl_statusor absl_str_format absl_strings)"
flags=(-std=c++17 -O1 -g -I. -DFERRY_FUZZ_NO_CHECKSUMS)

# Builds TARGET from FILES (the seeds file last) and fuzzes it; writes its
# result line to $work/TARGET.result, or prints the crash and fails.
fuzz_one() {
  local target=$1
  shift
  local files=("$@")
  # The seeds file defines FerryFuzzSeeds for fuzz_driver; libFuzzer has
  # its own main and reads the corpus instead.
  unset 'files[${#files[@]}-1]'
  clang++-14 "${flags[@]}" -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined "${files[@]}" "${absl[@]}" \
    -o "$work/$target" || { echo "FAIL: $target: does not build" >&2; return 1; }
  mkdir -p "$work/corpus-$target"
  cp "${corpus[$target]}"/* "$work/corpus-$target/"
  local log=$work/$target.log
  if ! "$work/$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/$target-" -max_len=4096 \
    "$work/corpus-$target" >"$log" 2>&1; then
    tail -40 "$log"
    for crash in "$work/$target"-*; do
      [[ -f $crash ]] || continue
      echo "crash input ($crash), as hex; add it to ${corpus[$target]}:"
      od -An -tx1 -v "$crash" | tr -d ' \n'
      echo
    done
    echo "FAIL: $target: libFuzzer found a crash" >&2
    return 1
  fi
  local runs speed cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  echo "ok: $target: ${runs:-?} runs in ${seconds} s, ${speed:-?} exec/s, $cov, corpus $(ls "$work/corpus-$target" | wc -l) inputs (from $(ls "${corpus[$target]}" | wc -l) seeds)" >"$work/$target.result"
}

jobs_max=2
failed=0
for target in "${targets[@]}"; do
  [[ -n ${sources[$target]:-} ]] || fail "no target '$target'"
  read -r -a files <<<"$(echo ${sources[$target]})"
  if ((write_seeds)); then
    # A main that writes each seed to a file, instead of libFuzzer's.
    cat >"$work/dump.cc" <<'CC'
#include <cstdint>
#include <cstdio>
#include <vector>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
std::vector<std::vector<uint8_t>> FerryFuzzSeeds();
int main(int, char** argv) {
  int i = 0;
  for (const auto& seed : FerryFuzzSeeds()) {
    char path[4096];
    std::snprintf(path, sizeof(path), "%s/seed-%02d", argv[1], i++);
    FILE* f = std::fopen(path, "wb");
    std::fwrite(seed.data(), 1, seed.size(), f);
    std::fclose(f);
  }
}
CC
    # Everything but the target itself (its LLVMFuzzerTestOneInput).
    clang++-14 "${flags[@]}" "${files[@]:1}" "$work/dump.cc" "${absl[@]}" \
      -o "$work/dump-$target"
    rm -rf "${corpus[$target]}"
    mkdir -p "${corpus[$target]}"
    "$work/dump-$target" "${corpus[$target]}"
    echo "$target: wrote $(ls "${corpus[$target]}" | wc -l) seeds to ${corpus[$target]}"
    continue
  fi
  fuzz_one "$target" "${files[@]}" &
  # Two targets at a time: building with clang and fuzzing each take one
  # core, and the test has the machine to itself.
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || failed=1; done
done
while (($(jobs -rp | wc -l))); do wait -n || failed=1; done
((failed == 0)) || fail "a target failed (above)"
for target in "${targets[@]}"; do
  ((write_seeds)) || cat "$work/$target.result"
done
((write_seeds)) && exit 0
echo "PASS: libFuzzer found no crash in ${targets[*]}"

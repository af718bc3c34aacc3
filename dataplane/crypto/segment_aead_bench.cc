// The cost of encrypting a flow's segments, on one core: seal (encrypt
// into the frame, tag) plus open (check, decrypt in place) of one segment
// with its 48-byte Ferry header as associated data, and the replay
// window's check and accept.
//
//   bazel run -c opt //dataplane/crypto:segment_aead_bench
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "dataplane/crypto/replay_window.h"
#include "dataplane/crypto/segment_aead.h"

namespace ferry::crypto {
namespace {

// Arguments: payload bytes, cipher (0: AES-128-GCM, 1: AES-256-GCM).
void BM_SealAndOpen(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const AeadCipher cipher =
      state.range(1) == 0 ? AeadCipher::kAes128Gcm : AeadCipher::kAes256Gcm;
  std::vector<uint8_t> key(AeadKeySize(cipher), 0x5c);
  SegmentAead seal;
  SegmentAead open;
  if (!seal.SetKey(cipher, key, 7, true).ok() ||
      !open.SetKey(cipher, key, 7, false).ok()) {
    state.SkipWithError("key set-up failed");
    return;
  }
  std::vector<uint8_t> header(48, 0x11);
  std::vector<uint8_t> message(size, 0x22);
  std::vector<uint8_t> frame(size);
  uint8_t tag[SegmentAead::kTagSize];
  uint64_t pn = 0;
  for (auto _ : state) {
    if (!seal.Seal(pn, header, message.data(), frame.data(), size, tag) ||
        !open.Open(pn, header, frame.data(), frame.data(), size, tag)) {
      state.SkipWithError("seal or open failed");
      return;
    }
    benchmark::DoNotOptimize(frame.data());
    ++pn;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
  state.SetLabel(AeadCipherName(cipher));
}
BENCHMARK(BM_SealAndOpen)
    ->ArgNames({"bytes", "cipher"})
    ->Args({64, 0})
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->Args({1424, 0})
    ->Args({1424, 1})
    ->Args({8950, 0});

// In order with some reordering, as a receiver sees them.
void BM_ReplayWindow(benchmark::State& state) {
  ReplayWindow window;
  uint64_t pn = 0;
  for (auto _ : state) {
    const uint64_t n = (pn & 7) == 3 ? pn + 2 : pn;
    if (window.Check(n)) window.Accept(n);
    ++pn;
  }
  benchmark::DoNotOptimize(window.highest());
}
BENCHMARK(BM_ReplayWindow);

}  // namespace
}  // namespace ferry::crypto

BENCHMARK_MAIN();

// Fault injection on an engine's transmit path, for tests and experiments:
// each frame is passed, dropped, duplicated, corrupted (one bit flipped),
// sent after the frames behind it (reordered), or held back for a while
// (so later frames overtake it: reordering with added delay), at
// configured probabilities. Off unless configured; then one random draw
// per frame (and one more for a corrupted frame's bit).
//
// Pure decision logic with its own small RNG (xorshift), seeded, so runs
// repeat; the engine applies the verdicts. Engine-thread only.
#ifndef FERRY_DATAPLANE_ENGINE_FAULT_INJECTOR_H_
#define FERRY_DATAPLANE_ENGINE_FAULT_INJECTOR_H_

#include <cstdint>

#include "absl/status/status.h"

namespace ferry::engine {

struct FaultConfig {
  double drop = 0;              // probability a frame is dropped
  double duplicate = 0;         // probability a frame is sent twice
  double delay = 0;             // probability a frame is held back...
  uint64_t delay_ns = 100'000;  // ...this long
  double corrupt = 0;           // probability one bit of a frame flips
  double reorder = 0;           // probability a frame goes after the next
  uint64_t seed = 1;

  bool enabled() const {
    return drop > 0 || duplicate > 0 || delay > 0 || corrupt > 0 || reorder > 0;
  }
  // Probabilities in [0, 1] and summing to at most 1.
  absl::Status Validate() const;
};

class FaultInjector {
 public:
  enum class Verdict { kPass, kDrop, kDuplicate, kDelay, kCorrupt, kReorder };

  explicit FaultInjector(const FaultConfig& config)
      : config_(config), state_(config.seed ? config.seed : 1) {}

  bool enabled() const { return config_.enabled(); }
  uint64_t delay_ns() const { return config_.delay_ns; }

  Verdict Decide() {
    // A uniform draw in [0, 1), compared against cumulative probabilities.
    const double u = static_cast<double>(Next() >> 11) * 0x1.0p-53;
    double edge = config_.drop;
    if (u < edge) return Verdict::kDrop;
    if (u < (edge += config_.duplicate)) return Verdict::kDuplicate;
    if (u < (edge += config_.delay)) return Verdict::kDelay;
    if (u < (edge += config_.corrupt)) return Verdict::kCorrupt;
    if (u < (edge += config_.reorder)) return Verdict::kReorder;
    return Verdict::kPass;
  }

  // Which bit of a `bytes`-long frame a corruption flips.
  uint64_t BitToFlip(uint64_t bytes) { return Next() % (bytes * 8); }

 private:
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

  FaultConfig config_;
  uint64_t state_;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_FAULT_INJECTOR_H_

// Decides what an engine does after a poll-loop iteration that found no work.
//
// busy:     spin, always. For cores dedicated to the engine.
// adaptive: while traffic is recent (within `sleep_after_idle_ns`), spin but
//           yield the CPU each iteration, so that other runnable threads on an
//           oversubscribed core get it at once instead of at the next
//           scheduler tick (4 ms here); after that, sleep until an RX
//           interrupt, a doorbell, or the next timer.
// Pure function of time: tested with simulated clocks.
#ifndef FERRY_DATAPLANE_ENGINE_IDLE_POLICY_H_
#define FERRY_DATAPLANE_ENGINE_IDLE_POLICY_H_

#include <algorithm>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace ferry::engine {

enum class PollingMode { kBusy, kAdaptive };

// "busy" or "adaptive".
bool ParsePollingMode(absl::string_view text, PollingMode* mode);
const char* PollingModeName(PollingMode mode);

struct IdlePolicyConfig {
  PollingMode mode = PollingMode::kAdaptive;
  uint64_t sleep_after_idle_ns = 500'000;  // 500 us of nothing, then sleep
  // Longest sleep when the port can wake us (RX interrupts) and when it
  // cannot (then packets wait up to this long after an idle period).
  uint64_t max_sleep_with_interrupts_ns = 100'000'000;
  uint64_t max_sleep_without_interrupts_ns = 1'000'000;
};

struct IdleAction {
  enum Kind { kSpin, kYield, kSleep } kind = kSpin;
  uint64_t sleep_ns = 0;  // for kSleep
};

inline IdleAction DecideIdleAction(const IdlePolicyConfig& config,
                                   bool has_rx_interrupts, uint64_t now_ns,
                                   uint64_t last_work_ns,
                                   uint64_t next_timer_ns) {
  if (config.mode == PollingMode::kBusy) return {IdleAction::kSpin, 0};
  if (now_ns - last_work_ns < config.sleep_after_idle_ns) {
    return {IdleAction::kYield, 0};
  }
  const uint64_t cap = has_rx_interrupts
                           ? config.max_sleep_with_interrupts_ns
                           : config.max_sleep_without_interrupts_ns;
  if (next_timer_ns <= now_ns) return {IdleAction::kYield, 0};
  return {IdleAction::kSleep, std::min(cap, next_timer_ns - now_ns)};
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_IDLE_POLICY_H_

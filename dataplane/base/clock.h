// Monotonic time for the engine loop and timers.
#ifndef FERRY_DATAPLANE_BASE_CLOCK_H_
#define FERRY_DATAPLANE_BASE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace ferry {

// CLOCK_MONOTONIC through the vDSO: about 20 ns and no system call, cheap
// enough to read once per poll-loop iteration.
inline uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

constexpr uint64_t kNanosPerMicro = 1'000;
constexpr uint64_t kNanosPerMilli = 1'000'000;
constexpr uint64_t kNanosPerSecond = 1'000'000'000;

}  // namespace ferry

#endif  // FERRY_DATAPLANE_BASE_CLOCK_H_

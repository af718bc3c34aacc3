// Unpredictable 32-bit numbers from the kernel (getrandom), for what a
// blind attacker must not guess: initial sequence numbers and flow-id
// generations. Drawn in batches so that a flood of SYNs costs one system
// call per kBatch numbers, not one each. Not thread-safe: one per engine.
#ifndef FERRY_DATAPLANE_BASE_KERNEL_RANDOM_H_
#define FERRY_DATAPLANE_BASE_KERNEL_RANDOM_H_

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <ctime>

namespace ferry {

class KernelRandom {
 public:
  uint32_t Next() {
    if (next_ == kBatch) Refill();
    return values_[next_++];
  }

 private:
  static constexpr size_t kBatch = 256;

  void Refill() {
    size_t filled = 0;
    auto* bytes = reinterpret_cast<uint8_t*>(values_.data());
    const size_t want = sizeof(values_);
    while (filled < want) {
      const ssize_t n = getrandom(bytes + filled, want - filled, 0);
      if (n <= 0) break;
      filled += static_cast<size_t>(n);
    }
    if (filled < want) {
      // getrandom never fails once the kernel's pool is ready (it blocks
      // until then); should it, the old values stirred with the clock are
      // still better than a fixed sequence.
      timespec t;
      clock_gettime(CLOCK_MONOTONIC, &t);
      uint64_t x =
          static_cast<uint64_t>(t.tv_nsec) ^ (uint64_t(t.tv_sec) << 32);
      for (uint32_t& v : values_) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v ^= static_cast<uint32_t>(x);
      }
    }
    next_ = 0;
  }

  std::array<uint32_t, kBatch> values_{};
  size_t next_ = kBatch;
};

}  // namespace ferry

#endif  // FERRY_DATAPLANE_BASE_KERNEL_RANDOM_H_

// Request sizes drawn from a distribution ("64:50,1024:30,65536:20": size
// in bytes and weight), for workloads of mixed sizes (all-to-all with a
// Homa-style mix) whose latency is then reported per size. Without one,
// every request has the one --request_size.
#ifndef FERRY_BENCH_MSG_GEN_SIZE_DISTRIBUTION_H_
#define FERRY_BENCH_MSG_GEN_SIZE_DISTRIBUTION_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::bench {

class SizeDistribution {
 public:
  static constexpr size_t kMaxClasses = 16;
  // Sizes carry their request's sequence number, so at least 8 bytes.
  static constexpr uint32_t kMinSize = 8;

  // One size, always.
  static SizeDistribution Fixed(uint32_t size);
  // "SIZE:WEIGHT,...": 1 to 16 distinct sizes of 8 B to max_size, weights
  // positive integers.
  static absl::StatusOr<SizeDistribution> Parse(absl::string_view spec,
                                                uint32_t max_size);

  size_t classes() const { return sizes_.size(); }
  uint32_t size(size_t c) const { return sizes_[c]; }
  uint32_t max_size() const;
  bool mixed() const { return sizes_.size() > 1; }

  // A class drawn by the weights; advances the caller's generator state
  // (xorshift64*, never 0).
  size_t Draw(uint64_t* state) const {
    if (sizes_.size() == 1) return 0;
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    const uint64_t point = (x * 0x2545F4914F6CDD1Dull) % total_weight_;
    size_t c = 0;
    while (cumulative_[c] <= point) ++c;
    return c;
  }

 private:
  std::vector<uint32_t> sizes_;       // ascending
  std::vector<uint64_t> cumulative_;  // running sum of the weights
  uint64_t total_weight_ = 1;
};

}  // namespace ferry::bench

#endif  // FERRY_BENCH_MSG_GEN_SIZE_DISTRIBUTION_H_

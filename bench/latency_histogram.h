// A log-linear latency histogram in the manner of HdrHistogram: values in
// nanoseconds from 1 us to 1 s (and beyond, clamped) with at most 1%
// relative error. Each power of two is split into 128 linear sub-buckets,
// so a recorded value is reported within 1/128 (0.8%) of itself. Fixed
// memory, no allocation after construction, Record is a few instructions.
#ifndef FERRY_BENCH_LATENCY_HISTOGRAM_H_
#define FERRY_BENCH_LATENCY_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ferry::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 per power of two
  static constexpr uint64_t kMaxValueNs = 1'000'000'000;

  LatencyHistogram();

  void Record(uint64_t ns);
  void Merge(const LatencyHistogram& other);
  void Reset();

  uint64_t count() const { return count_; }
  uint64_t min_ns() const { return count_ == 0 ? 0 : min_; }
  uint64_t max_ns() const { return max_; }
  double mean_ns() const {
    return count_ == 0 ? 0 : static_cast<double>(sum_) / count_;
  }
  // The value at quantile q (0..1): the smallest recorded bucket whose
  // cumulative count reaches q of the total, reported as the bucket's
  // midpoint (clamped to the true min and max).
  uint64_t Quantile(double q) const;
  // (value, fraction of samples at or below it) for each non-empty bucket:
  // the cumulative distribution, for plots.
  std::vector<std::pair<uint64_t, double>> Cdf() const;

 private:
  static size_t BucketOf(uint64_t ns);
  static uint64_t BucketLow(size_t bucket);
  static uint64_t BucketHigh(size_t bucket);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace ferry::bench

#endif  // FERRY_BENCH_LATENCY_HISTOGRAM_H_

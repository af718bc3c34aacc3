#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace ferry::bench {
namespace {

constexpr uint64_t kSubBuckets = uint64_t{1}
                                 << LatencyHistogram::kSubBucketBits;
// Values below kSubBuckets get one bucket each; above, each power of two
// [2^e, 2^(e+1)) gets kSubBuckets / 2 buckets of width 2^(e - bits + 1).
constexpr int kMaxExponent = 30;  // 2^30 ns > 1 s

int Exponent(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

LatencyHistogram::LatencyHistogram()
    : counts_(BucketOf(uint64_t{1} << kMaxExponent) + kSubBuckets, 0) {}

size_t LatencyHistogram::BucketOf(uint64_t ns) {
  if (ns < kSubBuckets) return static_cast<size_t>(ns);
  const int e = std::min(Exponent(ns), kMaxExponent);
  if (Exponent(ns) > kMaxExponent) ns = (uint64_t{2} << kMaxExponent) - 1;
  const int shift = e - kSubBucketBits + 1;
  // ns >> shift is in [kSubBuckets / 2, kSubBuckets).
  const uint64_t sub = (ns >> shift) - kSubBuckets / 2;
  return static_cast<size_t>(kSubBuckets +
                             (e - kSubBucketBits) * (kSubBuckets / 2) + sub);
}

uint64_t LatencyHistogram::BucketLow(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const size_t k = bucket - kSubBuckets;
  const int e = static_cast<int>(k / (kSubBuckets / 2)) + kSubBucketBits;
  const uint64_t sub = k % (kSubBuckets / 2) + kSubBuckets / 2;
  return sub << (e - kSubBucketBits + 1);
}

uint64_t LatencyHistogram::BucketHigh(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const size_t k = bucket - kSubBuckets;
  const int e = static_cast<int>(k / (kSubBuckets / 2)) + kSubBucketBits;
  return BucketLow(bucket) + (uint64_t{1} << (e - kSubBucketBits + 1)) - 1;
}

void LatencyHistogram::Record(uint64_t ns) {
  ++counts_[BucketOf(ns)];
  ++count_;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const uint64_t target = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= target) {
      const uint64_t mid = (BucketLow(i) + BucketHigh(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::vector<std::pair<uint64_t, double>> LatencyHistogram::Cdf() const {
  std::vector<std::pair<uint64_t, double>> out;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    seen += counts_[i];
    out.emplace_back(std::clamp((BucketLow(i) + BucketHigh(i)) / 2, min_, max_),
                     static_cast<double>(seen) / count_);
  }
  return out;
}

}  // namespace ferry::bench

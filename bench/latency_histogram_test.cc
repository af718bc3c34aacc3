#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::bench {
namespace {

TEST(LatencyHistogramTest,
     QuantilesWithinOnePercentFromOneMicrosecondToOneSecond) {
  std::mt19937_64 rng(1);
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    // Log-uniform from 1 us to 1 s.
    const double exponent = std::uniform_real_distribution<double>(3, 9)(rng);
    const uint64_t v = static_cast<uint64_t>(std::pow(10.0, exponent));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0001, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const uint64_t exact = values[static_cast<size_t>(
        std::max(0.0, std::ceil(q * values.size()) - 1))];
    const uint64_t got = h.Quantile(q);
    EXPECT_NEAR(static_cast<double>(got), static_cast<double>(exact),
                0.01 * exact)
        << "q=" << q;
  }
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min_ns(), values.front());
  EXPECT_EQ(h.max_ns(), values.back());
}

TEST(LatencyHistogramTest, SmallValuesAreExactAndMergeAdds) {
  LatencyHistogram a, b;
  for (uint64_t v = 1; v <= 100; ++v) a.Record(v);
  b.Record(5'000'000'000);  // beyond range: clamped, still counted
  a.Merge(b);
  EXPECT_EQ(a.count(), 101u);
  EXPECT_EQ(a.Quantile(0.5), 51u);
  EXPECT_EQ(a.max_ns(), 5'000'000'000u);
  const auto cdf = a.Cdf();
  ASSERT_FALSE(cdf.empty());
  EXPECT_DOUBLE_EQ(cdf.back().second, 1.0);
  a.Reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.Quantile(0.5), 0u);
}

}  // namespace
}  // namespace ferry::bench

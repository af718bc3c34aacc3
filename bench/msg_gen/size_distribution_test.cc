#include "bench/msg_gen/size_distribution.h"

#include <vector>

#include "gtest/gtest.h"

namespace ferry::bench {
namespace {

TEST(SizeDistributionTest, DrawsEachSizeByItsWeight) {
  absl::StatusOr<SizeDistribution> d =
      SizeDistribution::Parse("65536:20,64:50,1024:30", 8 << 20);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->classes(), 3u);
  EXPECT_EQ(d->size(0), 64u);  // sorted by size
  EXPECT_EQ(d->size(2), 65536u);
  EXPECT_EQ(d->max_size(), 65536u);
  EXPECT_TRUE(d->mixed());
  std::vector<int> counts(3);
  uint64_t state = 1;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++counts[d->Draw(&state)];
  // Within 2 percentage points of 50/30/20.
  EXPECT_NEAR(counts[0], kDraws * 0.5, kDraws * 0.02);
  EXPECT_NEAR(counts[1], kDraws * 0.3, kDraws * 0.02);
  EXPECT_NEAR(counts[2], kDraws * 0.2, kDraws * 0.02);
}

TEST(SizeDistributionTest, FixedAlwaysGivesItsSize) {
  const SizeDistribution d = SizeDistribution::Fixed(1024);
  uint64_t state = 7;
  EXPECT_FALSE(d.mixed());
  EXPECT_EQ(d.Draw(&state), 0u);
  EXPECT_EQ(state, 7u);  // one size draws nothing
  EXPECT_EQ(d.size(0), 1024u);
}

TEST(SizeDistributionTest, RefusesWhatItCannotDraw) {
  for (const char* bad :
       {"", "64", "64:", ":5", "64:0", "4:1", "9000000:1", "64:1,64:2", "x:1",
        "64:1,1024:-1", "64:2000000",
        "8:1,9:1,10:1,11:1,12:1,13:1,14:1,15:1,16:1,17:1,18:1,19:1,20:1,"
        "21:1,22:1,23:1,24:1"}) {
    EXPECT_FALSE(SizeDistribution::Parse(bad, 8 << 20).ok()) << bad;
  }
}

}  // namespace
}  // namespace ferry::bench

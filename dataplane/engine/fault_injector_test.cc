#include "dataplane/engine/fault_injector.h"

#include <vector>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

TEST(FaultInjectorTest, FrequenciesFollowTheConfiguration) {
  FaultConfig config;
  config.drop = 0.05;
  config.duplicate = 0.02;
  config.delay = 0.10;
  config.corrupt = 0.01;
  config.reorder = 0.03;
  config.seed = 99;
  ASSERT_TRUE(config.Validate().ok());
  FaultInjector faults(config);
  int counts[6] = {};
  constexpr int kDraws = 1'000'000;
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<int>(faults.Decide())];
  // Expect: within a few tenths of a percent of what was asked.
  EXPECT_NEAR(counts[1] / double(kDraws), 0.05, 0.003);
  EXPECT_NEAR(counts[2] / double(kDraws), 0.02, 0.003);
  EXPECT_NEAR(counts[3] / double(kDraws), 0.10, 0.003);
  EXPECT_NEAR(counts[4] / double(kDraws), 0.01, 0.003);
  EXPECT_NEAR(counts[5] / double(kDraws), 0.03, 0.003);
}

TEST(FaultInjectorTest, CorruptionFlipsABitInsideTheFrame) {
  FaultConfig config;
  config.corrupt = 1;
  FaultInjector faults(config);
  std::vector<int> hits(64 * 8);
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t bit = faults.BitToFlip(64);
    ASSERT_LT(bit, 64u * 8);
    ++hits[bit];
  }
  // Expect: every bit of the frame can be hit (headers and payload).
  for (int h : hits) EXPECT_GT(h, 0);
}

TEST(FaultInjectorTest, SameSeedSameVerdicts) {
  FaultConfig config;
  config.drop = 0.5;
  config.seed = 7;
  FaultInjector a(config), b(config);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(a.Decide(), b.Decide());
}

TEST(FaultInjectorTest, RejectsImpossibleConfigurations) {
  FaultConfig config;
  EXPECT_FALSE(config.enabled());
  config.drop = 1.5;
  EXPECT_FALSE(config.Validate().ok());
  config.drop = 0.6;
  config.duplicate = 0.6;
  EXPECT_FALSE(config.Validate().ok());
  config.duplicate = 0;
  config.delay = 0.1;
  config.delay_ns = 0;
  EXPECT_FALSE(config.Validate().ok());
  config.drop = 0;
  config.delay = 0;
  config.corrupt = -0.1;
  EXPECT_FALSE(config.Validate().ok());
  config.corrupt = 0.5;
  config.reorder = 0.6;
  EXPECT_FALSE(config.Validate().ok());
  config.reorder = 0.5;
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_TRUE(config.enabled());
}

}  // namespace
}  // namespace ferry::engine

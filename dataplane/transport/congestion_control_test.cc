#include "dataplane/transport/congestion_control.h"

#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

constexpr uint64_t kUs = 1000;

CongestionConfig Config() {
  CongestionConfig c;
  c.initial_window = 10;
  c.target_delay_ns = 50 * kUs;
  c.min_window = 0.01;  // the paced regime
  return c;
}

TEST(CongestionControlTest, LowDelayGrowsAboutOneSegmentPerRoundTrip) {
  const CongestionConfig config = Config();
  CongestionControl cc(config);
  // One round trip's worth of ACKs (10 segments) under the target.
  for (int i = 0; i < 10; ++i) cc.OnAck(1, 20 * kUs, i * kUs);
  // Expect: 10 -> about 11.
  EXPECT_NEAR(cc.window(), 11.0, 0.1);
}

TEST(CongestionControlTest, HighDelayShrinksInProportionOncePerRoundTrip) {
  const CongestionConfig config = Config();
  CongestionControl cc(config);
  // A base round trip of 20 us: the target is 20 + 50 = 70 us.
  cc.OnAck(0, 20 * kUs, 0);
  EXPECT_EQ(cc.base_rtt_ns(), 20 * kUs);
  // 140 us against 70: overshoot 0.5, cut by 0.8 * 0.5 = 40%.
  cc.OnAck(1, 140 * kUs, 1000 * kUs);
  EXPECT_NEAR(cc.window(), 6.0, 0.01);
  // Expect: no second cut within the same round trip.
  cc.OnAck(1, 140 * kUs, 1050 * kUs);
  EXPECT_NEAR(cc.window(), 6.0, 0.01);
  cc.OnAck(1, 140 * kUs, 1150 * kUs);
  EXPECT_NEAR(cc.window(), 3.6, 0.01);
}

TEST(CongestionControlTest, LossAndTimeout) {
  const CongestionConfig config = Config();
  CongestionControl cc(config);
  cc.OnLoss(1000 * kUs, 30 * kUs);
  EXPECT_NEAR(cc.window(), 5.0, 0.01);
  cc.OnTimeout(1);
  // Expect: a first timeout halves the window like a loss.
  EXPECT_NEAR(cc.window(), 2.5, 0.01);
  cc.OnTimeout(2);
  cc.OnTimeout(3);
  // Expect: three in a row: the minimum, paced at one segment per
  // rtt / window.
  EXPECT_NEAR(cc.window(), 0.01, 1e-9);
  EXPECT_EQ(cc.segments_allowed(), 1u);
  EXPECT_EQ(cc.pacing_interval_ns(30 * kUs), 3000 * kUs);
}

TEST(CongestionControlTest, ASpuriousTimeoutIsUndone) {
  const CongestionConfig config = Config();
  CongestionControl cc(config);
  const double before = cc.window();
  cc.OnTimeout(1);
  cc.OnTimeout(2);
  ASSERT_LT(cc.window(), before);
  cc.UndoTimeout(before);
  // Expect: the window the timeouts found, not less.
  EXPECT_DOUBLE_EQ(cc.window(), before);
  // Expect: an undo never shrinks a window that grew since.
  cc.UndoTimeout(before / 4);
  EXPECT_DOUBLE_EQ(cc.window(), before);
}

TEST(CongestionControlTest, SlowHostsAreNotCongestion) {
  const CongestionConfig config = Config();
  CongestionControl cc(config);
  // Every round trip takes a millisecond (hosts waking from sleep), none
  // longer than the first: nothing queues, so the window still grows.
  for (int i = 0; i < 10; ++i) cc.OnAck(1, 1000 * kUs, i * 1000 * kUs);
  EXPECT_NEAR(cc.window(), 11.0, 0.1);
}

TEST(CongestionControlTest, NoneKeepsItsWindow) {
  CongestionConfig c = Config();
  c.algorithm = CongestionAlgorithm::kNone;
  CongestionControl cc(c);
  cc.OnAck(5, 1000 * kUs, 1);
  cc.OnLoss(2, 1);
  cc.OnTimeout(5);
  EXPECT_EQ(cc.window(), 10);
  CongestionAlgorithm algorithm;
  EXPECT_TRUE(ParseCongestionAlgorithm("none", &algorithm));
  EXPECT_EQ(algorithm, CongestionAlgorithm::kNone);
  EXPECT_FALSE(ParseCongestionAlgorithm("cubic", &algorithm));
}

}  // namespace
}  // namespace ferry::transport

#include "dataplane/transport/rtt_estimator.h"

#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

constexpr uint64_t kUs = 1000;

TEST(RttEstimatorTest, FirstSampleSetsTheEstimate) {
  RttEstimator e;
  EXPECT_EQ(e.rto_ns(), RttBounds{}.initial_rto_ns);
  e.AddSample(100 * kUs);
  // Expect: srtt = rtt, rttvar = rtt / 2, rto = srtt + 4 rttvar = 300 us.
  EXPECT_EQ(e.srtt_ns(), 100 * kUs);
  EXPECT_EQ(e.rttvar_ns(), 50 * kUs);
  EXPECT_EQ(e.rto_ns(), 300 * kUs);
}

TEST(RttEstimatorTest, SteadySamplesConvergeToTheFloor) {
  RttEstimator e;
  for (int i = 0; i < 100; ++i) e.AddSample(20 * kUs);
  EXPECT_EQ(e.srtt_ns(), 20 * kUs);
  // Expect: variance gone, RTO clamped to the 200 us minimum.
  EXPECT_EQ(e.rto_ns(), RttBounds{}.min_rto_ns);
}

TEST(RttEstimatorTest, TimeoutsBackOffAndASampleRecovers) {
  RttEstimator e;
  e.AddSample(100 * kUs);
  e.OnTimeout();
  EXPECT_EQ(e.rto_ns(), 600 * kUs);
  for (int i = 0; i < 40; ++i) e.OnTimeout();
  // Expect: capped at the maximum.
  EXPECT_EQ(e.rto_ns(), RttBounds{}.max_rto_ns);
  e.AddSample(100 * kUs);
  EXPECT_LT(e.rto_ns(), 1000 * kUs);
}

TEST(RttEstimatorTest, ASpuriousTimeoutTakesInItsRoundTrip) {
  RttEstimator e;
  for (int i = 0; i < 20; ++i) e.AddSample(100 * kUs);
  e.OnTimeout();
  e.OnSpuriousTimeout(5000 * kUs);
  // Expect: srtt at least that round trip, rttvar at least half of it, so
  // the next RTO is 5 + 4 * 2.5 ms.
  EXPECT_EQ(e.srtt_ns(), 5000 * kUs);
  EXPECT_EQ(e.rttvar_ns(), 2500 * kUs);
  EXPECT_EQ(e.rto_ns(), 15000 * kUs);
}

TEST(RttEstimatorTest, AnAnswerWithoutASampleEndsTheBackoff) {
  RttEstimator e;
  e.EndBackoff();
  // Expect: nothing to go back to before a sample.
  EXPECT_EQ(e.rto_ns(), RttBounds{}.initial_rto_ns);
  e.AddSample(100 * kUs);
  e.OnTimeout();
  e.OnTimeout();
  EXPECT_EQ(e.rto_ns(), 1200 * kUs);
  e.EndBackoff();
  EXPECT_EQ(e.rto_ns(), 300 * kUs);
}

}  // namespace
}  // namespace ferry::transport

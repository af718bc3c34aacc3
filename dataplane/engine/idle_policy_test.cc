#include "dataplane/engine/idle_policy.h"

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

constexpr uint64_t kUs = 1000;

TEST(IdlePolicyTest, BusyAlwaysSpins) {
  IdlePolicyConfig config;
  config.mode = PollingMode::kBusy;
  EXPECT_EQ(
      DecideIdleAction(config, true, 10'000'000 * kUs, 0, UINT64_MAX).kind,
      IdleAction::kSpin);
}

TEST(IdlePolicyTest, AdaptiveYieldsWhileTrafficIsRecentThenSleeps) {
  IdlePolicyConfig config;
  config.sleep_after_idle_ns = 500 * kUs;
  const uint64_t last_work = 1'000 * kUs;
  // Expect: 100 us after the last packet, keep polling but yield the CPU.
  EXPECT_EQ(DecideIdleAction(config, true, last_work + 100 * kUs, last_work,
                             UINT64_MAX)
                .kind,
            IdleAction::kYield);
  // Expect: 600 us after it, sleep, bounded by the cap.
  IdleAction a = DecideIdleAction(config, true, last_work + 600 * kUs,
                                  last_work, UINT64_MAX);
  EXPECT_EQ(a.kind, IdleAction::kSleep);
  EXPECT_EQ(a.sleep_ns, config.max_sleep_with_interrupts_ns);
  // Expect: without RX interrupts the sleep is short.
  a = DecideIdleAction(config, false, last_work + 600 * kUs, last_work,
                       UINT64_MAX);
  EXPECT_EQ(a.sleep_ns, config.max_sleep_without_interrupts_ns);
}

TEST(IdlePolicyTest, SleepEndsAtNextTimer) {
  IdlePolicyConfig config;
  const uint64_t now = 10'000 * kUs;
  IdleAction a = DecideIdleAction(config, true, now, 0, now + 300 * kUs);
  EXPECT_EQ(a.kind, IdleAction::kSleep);
  EXPECT_EQ(a.sleep_ns, 300 * kUs);
  // Expect: a timer already due means no sleep at all.
  EXPECT_EQ(DecideIdleAction(config, true, now, 0, now).kind,
            IdleAction::kYield);
}

TEST(IdlePolicyTest, ParsesModes) {
  PollingMode mode;
  EXPECT_TRUE(ParsePollingMode("busy", &mode));
  EXPECT_EQ(mode, PollingMode::kBusy);
  EXPECT_TRUE(ParsePollingMode("adaptive", &mode));
  EXPECT_EQ(mode, PollingMode::kAdaptive);
  EXPECT_FALSE(ParsePollingMode("lazy", &mode));
}

}  // namespace
}  // namespace ferry::engine

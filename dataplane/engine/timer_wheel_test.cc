#include "dataplane/engine/timer_wheel.h"

#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

constexpr uint64_t kTick = 1000;

std::vector<uint32_t> AdvanceTo(TimerWheel& wheel, uint64_t now) {
  std::vector<uint32_t> visited;
  wheel.Advance(now, [&](uint32_t id) { visited.push_back(id); });
  return visited;
}

TEST(TimerWheelTest, VisitsEachTimerWhenItsTickComes) {
  TimerWheel wheel(8, 6, kTick, 0);
  wheel.Schedule(1, 5 * kTick);
  wheel.Schedule(2, 5 * kTick + 10);
  wheel.Schedule(3, 9 * kTick);
  EXPECT_EQ(wheel.NextDueNs(), 5 * kTick);
  EXPECT_TRUE(AdvanceTo(wheel, 4 * kTick).empty());
  std::vector<uint32_t> at5 = AdvanceTo(wheel, 5 * kTick);
  EXPECT_EQ(at5.size(), 2u);
  EXPECT_FALSE(wheel.scheduled(1));
  EXPECT_EQ(wheel.NextDueNs(), 9 * kTick);
  EXPECT_EQ(AdvanceTo(wheel, 20 * kTick), std::vector<uint32_t>{3});
  EXPECT_EQ(wheel.NextDueNs(), UINT64_MAX);
}

TEST(TimerWheelTest, MovedAndCancelledTimers) {
  TimerWheel wheel(8, 6, kTick, 0);
  wheel.Schedule(1, 3 * kTick);
  wheel.Schedule(2, 3 * kTick);
  wheel.Schedule(1, 7 * kTick);  // moved later
  wheel.Cancel(2);
  wheel.Schedule(3, UINT64_MAX);  // never
  EXPECT_TRUE(AdvanceTo(wheel, 6 * kTick).empty());
  EXPECT_EQ(AdvanceTo(wheel, 7 * kTick), std::vector<uint32_t>{1});
  EXPECT_FALSE(wheel.scheduled(3));
}

// A deadline past the span is visited at the span's end to be filed again;
// one already past is visited at the next Advance; a timer filed again
// while due waits for the next Advance instead of looping.
TEST(TimerWheelTest, FarPastAndRepeatedDeadlines) {
  TimerWheel wheel(8, 6, kTick, 0);  // a span of 64 ticks
  wheel.Schedule(1, 1000 * kTick);
  wheel.Schedule(2, 0);
  EXPECT_EQ(AdvanceTo(wheel, 0), std::vector<uint32_t>{2});
  std::vector<uint32_t> seen;
  uint64_t now = 0;
  while (seen.empty()) {
    now += kTick;
    seen = AdvanceTo(wheel, now);
  }
  EXPECT_EQ(seen, std::vector<uint32_t>{1});
  EXPECT_EQ(now, 63 * kTick);
  int visits = 0;
  wheel.Schedule(4, now);
  wheel.Advance(now, [&](uint32_t id) {
    ++visits;
    wheel.Schedule(id, now);  // still due
  });
  EXPECT_EQ(visits, 1);
  EXPECT_EQ(AdvanceTo(wheel, now), std::vector<uint32_t>{4});
}

// Against a plain map of deadlines: random filings, moves and cancels and
// clock jumps (some longer than the span); every timer is visited at its
// deadline's tick or, when it was beyond the span, earlier and filed again
// until then; none is lost.
TEST(TimerWheelTest, AgreesWithAMapOfDeadlines) {
  constexpr uint32_t kIds = 500;
  TimerWheel wheel(kIds, 8, kTick, 0);
  std::map<uint32_t, uint64_t> deadlines;
  std::mt19937_64 random(7);
  uint64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const uint32_t id = random() % kIds;
    switch (random() % 4) {
      case 0:
      case 1: {
        const uint64_t when = now + random() % (400 * kTick);
        wheel.Schedule(id, when);
        deadlines[id] = when;
        break;
      }
      case 2:
        wheel.Cancel(id);
        deadlines.erase(id);
        break;
      case 3: {
        now += random() % (random() % 10 == 0 ? 300 * kTick : 3 * kTick);
        wheel.Advance(now, [&](uint32_t v) {
          auto it = deadlines.find(v);
          ASSERT_NE(it, deadlines.end()) << "visited without a timer: " << v;
          if (it->second / kTick <= now / kTick) {
            deadlines.erase(it);
          } else {
            wheel.Schedule(v, it->second);  // early: filed again
          }
        });
        // Nothing due may be left behind.
        for (const auto& [v, when] : deadlines) {
          ASSERT_GT(when / kTick, now / kTick) << "timer " << v << " missed";
          ASSERT_TRUE(wheel.scheduled(v));
        }
        if (!deadlines.empty()) {
          uint64_t earliest = UINT64_MAX;
          for (const auto& [v, when] : deadlines) {
            earliest = std::min(earliest, when);
          }
          ASSERT_LE(wheel.NextDueNs(), earliest);
        }
        break;
      }
    }
  }
}

}  // namespace
}  // namespace ferry::engine

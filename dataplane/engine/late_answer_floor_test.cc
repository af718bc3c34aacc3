#include "dataplane/engine/late_answer_floor.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kS = 1'000'000'000;

TEST(LateAnswerFloorTest, NothingLearnedMeansNoFloor) {
  LateAnswerFloor floor;
  EXPECT_EQ(floor.FloorNs(0), 0u);
  EXPECT_EQ(floor.FloorNs(10 * kS), 0u);
}

TEST(LateAnswerFloorTest, AStallRaisesTheFloorAboveItsAnswer) {
  LateAnswerFloor floor;
  floor.Learn(4 * kMs, 100 * kS);
  EXPECT_EQ(floor.FloorNs(100 * kS), 5 * kMs);
  EXPECT_EQ(floor.FloorNs(100 * kS + kS), 5 * kMs);
}

TEST(LateAnswerFloorTest, TheFloorHalvesPerHalfLifeWithoutNewStalls) {
  LateAnswerFloor floor(/*half_life_ns=*/kS);
  floor.Learn(8 * kMs, 50 * kS);  // floor 10 ms
  EXPECT_EQ(floor.FloorNs(50 * kS + kS - 1), 10 * kMs);
  EXPECT_EQ(floor.FloorNs(51 * kS), 5 * kMs);
  EXPECT_EQ(floor.FloorNs(53 * kS + kS / 2), 1250 * 1000u);
  EXPECT_EQ(floor.FloorNs(200 * kS), 0u);
}

TEST(LateAnswerFloorTest, AShorterStallDoesNotLowerTheFloor) {
  LateAnswerFloor floor(/*half_life_ns=*/kS);
  floor.Learn(8 * kMs, 10 * kS);  // 10 ms
  floor.Learn(2 * kMs, 10 * kS);  // 2.5 ms: below, ignored
  EXPECT_EQ(floor.FloorNs(10 * kS), 10 * kMs);
  floor.Learn(2 * kMs, 13 * kS);  // decayed to 1.25 ms: 2.5 ms wins
  EXPECT_EQ(floor.FloorNs(13 * kS), 2500 * 1000u);
  floor.Learn(16 * kMs, 13 * kS);  // a longer stall: 20 ms
  EXPECT_EQ(floor.FloorNs(13 * kS), 20 * kMs);
}

TEST(LateAnswerFloorTest, OneStallTeachesAtMostTheCap) {
  LateAnswerFloor floor(/*half_life_ns=*/kS, /*cap_ns=*/200 * kMs);
  floor.Learn(900 * kMs, kS);
  EXPECT_EQ(floor.FloorNs(kS), 200 * kMs);
}

}  // namespace
}  // namespace ferry::engine

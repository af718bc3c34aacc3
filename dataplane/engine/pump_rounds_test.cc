#include "dataplane/engine/pump_rounds.h"

#include <vector>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

// The flows one round serves, in order; `more` says who wants another
// turn and `limit` how many turns fit before transmit backs up.
std::vector<uint32_t> RunRound(PumpRounds& rounds, size_t limit,
                               const std::vector<bool>& more) {
  std::vector<uint32_t> served;
  rounds.Run([&] { return served.size() >= limit; },
             [&](uint32_t flow) {
               served.push_back(flow);
               return more[flow];
             });
  return served;
}

TEST(PumpRoundsTest, ServesInOrderAndRequeuesThoseWithMoreToSend) {
  PumpRounds rounds;
  rounds.Reserve(8);
  for (uint32_t f = 0; f < 5; ++f) rounds.Add(f);
  const std::vector<bool> more = {true, false, true, false, false};
  EXPECT_EQ(RunRound(rounds, 100, more),
            (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(RunRound(rounds, 100, more), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(rounds.size(), 2u);
}

TEST(PumpRoundsTest, FlowsNotServedBeforeABackUpGoFirstNextRound) {
  PumpRounds rounds;
  for (uint32_t f = 0; f < 6; ++f) rounds.Add(f);
  const std::vector<bool> more(6, true);
  EXPECT_EQ(RunRound(rounds, 2, more), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(RunRound(rounds, 3, more), (std::vector<uint32_t>{2, 3, 4}));
  EXPECT_EQ(RunRound(rounds, 100, more),
            (std::vector<uint32_t>{5, 0, 1, 2, 3, 4}));
}

// Transmit backed up for good, every flow with more to send: each flow is
// served as often as the others, none starves.
TEST(PumpRoundsTest, NoFlowStarvesWhileTransmitStaysBackedUp) {
  constexpr uint32_t kFlows = 10;
  PumpRounds rounds;
  for (uint32_t f = 0; f < kFlows; ++f) rounds.Add(f);
  const std::vector<bool> more(kFlows, true);
  std::vector<int> turns(kFlows, 0);
  for (int round = 0; round < 30; ++round) {
    for (uint32_t f : RunRound(rounds, 3, more)) ++turns[f];
  }
  for (uint32_t f = 0; f < kFlows; ++f) EXPECT_EQ(turns[f], 9) << "flow " << f;
}

TEST(PumpRoundsTest, AFlowAddedDuringARoundIsServedInIt) {
  PumpRounds rounds;
  rounds.Add(0);
  std::vector<uint32_t> served;
  rounds.Run([] { return false; },
             [&](uint32_t flow) {
               served.push_back(flow);
               if (flow == 0) rounds.Add(7);
               return false;
             });
  EXPECT_EQ(served, (std::vector<uint32_t>{0, 7}));
  EXPECT_TRUE(rounds.empty());
}

}  // namespace
}  // namespace ferry::engine

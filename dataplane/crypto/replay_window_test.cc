#include "dataplane/crypto/replay_window.h"

#include <random>
#include <set>

#include "gtest/gtest.h"

namespace ferry::crypto {
namespace {

TEST(ReplayWindowTest, EachNumberOnceAndNothingTooOld) {
  ReplayWindow window;
  EXPECT_TRUE(window.Check(0));
  window.Accept(0);
  EXPECT_FALSE(window.Check(0));
  // Out of order within the window: each once.
  for (uint64_t pn : {5u, 3u, 4u, 1u, 2u}) {
    EXPECT_TRUE(window.Check(pn)) << pn;
    window.Accept(pn);
    EXPECT_FALSE(window.Check(pn)) << pn;
  }
  // A jump far ahead: what fell out of the window is too old, what is
  // still inside it and unseen is fine.
  window.Accept(100000);
  EXPECT_FALSE(window.Check(5));
  EXPECT_FALSE(window.Check(100000 - (ReplayWindow::kBits - 64)));
  EXPECT_TRUE(window.Check(100000 - (ReplayWindow::kBits - 64) + 1));
  EXPECT_TRUE(window.Check(99999));
  window.Accept(99999);
  EXPECT_FALSE(window.Check(99999));
  EXPECT_TRUE(window.Check(100001));
}

// Against a set of everything accepted, with reordering and duplicates of
// every kind, across many turns of the ring.
TEST(ReplayWindowTest, AgreesWithAnExactModel) {
  ReplayWindow window;
  std::set<uint64_t> seen;
  uint64_t highest = 0;
  std::mt19937_64 rng(7);
  uint64_t next = 0;
  for (int i = 0; i < 200000; ++i) {
    uint64_t pn;
    switch (rng() % 4) {
      case 0:  // a duplicate of something recent
        pn = next > 100 ? next - 1 - rng() % 100 : next;
        break;
      case 1:  // reordered from far back
        pn = next > 3000 ? next - rng() % 3000 : next;
        break;
      case 2:  // a skip ahead
        next += 1 + rng() % 200;
        pn = next;
        break;
      default:
        pn = next++;
    }
    const bool fresh = seen.count(pn) == 0;
    const bool in_window =
        seen.empty() || pn > highest || highest - pn < ReplayWindow::kBits - 64;
    ASSERT_EQ(window.Check(pn), fresh && in_window) << "pn " << pn;
    if (fresh && in_window) {
      window.Accept(pn);
      seen.insert(pn);
      if (pn > highest) highest = pn;
    }
  }
}

}  // namespace
}  // namespace ferry::crypto

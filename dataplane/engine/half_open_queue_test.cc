#include "dataplane/engine/half_open_queue.h"

#include <set>

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

TEST(HalfOpenQueueTest, OldestLiveComesFirst) {
  HalfOpenQueue queue(3);
  std::set<uint32_t> live;
  for (uint32_t id : {10u, 11u, 12u}) {
    queue.Add(id);
    live.insert(id);
  }
  // Expect: full at the bound.
  EXPECT_TRUE(queue.full());
  // 10 completed its handshake: counted out, its id now stale.
  live.erase(10);
  queue.Done();
  EXPECT_FALSE(queue.full());
  queue.Add(13);
  live.insert(13);
  EXPECT_TRUE(queue.full());
  // Expect: the stale 10 is skipped; 11 is the oldest live flow.
  uint32_t id = 0;
  auto is_live = [&](uint32_t x) { return live.count(x) > 0; };
  ASSERT_TRUE(queue.PopOldestLive(is_live, &id));
  EXPECT_EQ(id, 11u);
  live.erase(11);
  queue.Done();
  EXPECT_EQ(queue.count(), 2u);
}

TEST(HalfOpenQueueTest, EmptyOfLiveIds) {
  HalfOpenQueue queue(2);
  queue.Add(1);
  queue.Done();
  uint32_t id = 0;
  // Expect: the only id is stale, so nothing to evict.
  EXPECT_FALSE(queue.PopOldestLive([](uint32_t) { return false; }, &id));
  EXPECT_EQ(queue.count(), 0u);
}

TEST(HalfOpenQueueTest, RingFullOfStaleIdsForgetsTheOldest) {
  HalfOpenQueue queue(2);  // a ring of 4
  // Many flows complete their handshakes without anyone reading the ring.
  for (uint32_t id = 1; id <= 100; ++id) {
    queue.Add(id);
    queue.Done();
  }
  queue.Add(101);
  // Expect: still bounded, and the newest live id is found.
  uint32_t id = 0;
  ASSERT_TRUE(queue.PopOldestLive([](uint32_t x) { return x == 101; }, &id));
  EXPECT_EQ(id, 101u);
}

TEST(HalfOpenQueueTest, BoundOfZeroIsOne) {
  HalfOpenQueue queue(0);
  EXPECT_FALSE(queue.full());
  queue.Add(5);
  EXPECT_TRUE(queue.full());
}

}  // namespace
}  // namespace ferry::engine

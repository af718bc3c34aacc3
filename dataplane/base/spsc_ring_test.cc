#include "dataplane/base/spsc_ring.h"

#include <thread>

#include "gtest/gtest.h"

namespace ferry {
namespace {

TEST(SpscRingTest, FullAndEmptyAtCapacity) {
  SpscRing<int, 4> ring;
  int v = 0;
  EXPECT_TRUE(ring.EmptyHint());
  EXPECT_FALSE(ring.TryPop(&v));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.TryPush(i));
  // Expect: the fifth push finds the ring full.
  EXPECT_FALSE(ring.TryPush(4));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.TryPop(&v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.TryPop(&v));
}

TEST(SpscRingTest, WrapsAroundManyTimes) {
  SpscRing<uint64_t, 8> ring;
  uint64_t next_pop = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring.TryPush(i));
    if (i % 3 == 2) {
      uint64_t v;
      while (ring.TryPop(&v)) EXPECT_EQ(v, next_pop++);
    }
  }
}

TEST(SpscRingTest, TwoThreadsSeeEverySequenceNumberInOrder) {
  constexpr uint64_t kCount = 1'000'000;
  SpscRing<uint64_t, 64> ring;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      while (!ring.TryPush(i)) std::this_thread::yield();
    }
  });
  uint64_t expected = 0;
  while (expected < kCount) {
    uint64_t v;
    if (ring.TryPop(&v)) {
      ASSERT_EQ(v, expected);
      ++expected;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  EXPECT_TRUE(ring.EmptyHint());
}

}  // namespace
}  // namespace ferry

#include "dataplane/engine/parked_messages.h"

#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

TEST(ParkedMessagesTest, EachListKeepsItsOrder) {
  ParkedMessages pool(8);
  ParkedMessages::List a, b;
  for (uint64_t m = 1; m <= 3; ++m) {
    ASSERT_TRUE(pool.Push(a, m, static_cast<uint32_t>(m * 10)));
    ASSERT_TRUE(pool.Push(b, 100 + m, 1));
  }
  EXPECT_EQ(pool.free_count(), 2u);
  EXPECT_EQ(a.count, 3u);
  for (uint64_t m = 1; m <= 3; ++m) {
    EXPECT_EQ(pool.front_message(a), m);
    EXPECT_EQ(pool.front_length(a), m * 10);
    pool.Pop(a);
  }
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(pool.front_message(b), 101u);
  EXPECT_EQ(pool.free_count(), 5u);
}

TEST(ParkedMessagesTest, FullPoolRefusesAndRecovers) {
  ParkedMessages pool(2);
  ParkedMessages::List list;
  EXPECT_TRUE(pool.Push(list, 1, 1));
  EXPECT_TRUE(pool.Push(list, 2, 1));
  EXPECT_FALSE(pool.Push(list, 3, 1));
  EXPECT_EQ(list.count, 2u);
  pool.Pop(list);
  EXPECT_TRUE(pool.Push(list, 3, 1));
  EXPECT_EQ(pool.front_message(list), 2u);
  pool.Pop(list);
  EXPECT_EQ(pool.front_message(list), 3u);
  pool.Pop(list);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.head, ParkedMessages::kNone);
  EXPECT_EQ(list.tail, ParkedMessages::kNone);
  EXPECT_EQ(pool.free_count(), 2u);
}

}  // namespace
}  // namespace ferry::engine

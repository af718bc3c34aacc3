#include "dataplane/crypto/trust_list.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::crypto {
namespace {

PublicKey Key(uint8_t fill) {
  PublicKey key;
  key.fill(fill);
  return key;
}

TEST(TrustListTest, EmptyTrustsNobody) {
  TrustList list;
  EXPECT_FALSE(list.Contains(Key(1)));
}

TEST(TrustListTest, InsertAndReplace) {
  TrustList list;
  list.Insert(Key(1));
  list.Insert(Key(2));
  EXPECT_TRUE(list.Contains(Key(1)));
  EXPECT_TRUE(list.Contains(Key(2)));
  list.Replace({Key(3)});
  EXPECT_FALSE(list.Contains(Key(1)));
  EXPECT_TRUE(list.Contains(Key(3)));
  EXPECT_EQ(list.Snapshot().size(), 1u);
}

TEST(TrustListTest, MovingTakesTheKeys) {
  TrustList a;
  a.Insert(Key(1));
  TrustList b(std::move(a));
  EXPECT_TRUE(b.Contains(Key(1)));
  TrustList c;
  c.Insert(Key(2));
  c = std::move(b);
  EXPECT_TRUE(c.Contains(Key(1)));
  EXPECT_FALSE(c.Contains(Key(2)));
}

// Readers on other threads while the set is replaced many times: a key in
// every set is always found, and (under ASan) no reader touches a freed
// set.
TEST(TrustListTest, ReadersNeverSeeAFreedSet) {
  TrustList list;
  list.Insert(Key(1));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (!list.Contains(Key(1))) misses.fetch_add(1);
        list.Contains(Key(2));
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int i = 0; i < 2000 || reads.load() < 10000; ++i) {
    TrustList::Keys keys = {Key(1)};
    if (i % 2 == 0) keys.insert(Key(2));
    for (int k = 10; k < 10 + i % 50; ++k) keys.insert(Key(k));
    list.Replace(std::move(keys));
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0u);
  EXPECT_GE(reads.load(), 10000u);
}

}  // namespace
}  // namespace ferry::crypto

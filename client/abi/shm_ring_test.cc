#include "client/abi/shm_ring.h"

#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::shm {
namespace {

// A ring in ordinary memory laid out as in a segment.
template <typename T>
struct TestRing {
  explicit TestRing(uint32_t capacity)
      : capacity(capacity),
        indices(new ferry_ring_indices()),
        entries(capacity) {}
  RingProducer<T> Producer(uint32_t start = 0) {
    return RingProducer<T>(indices.get(), entries.data(), capacity, start);
  }
  RingConsumer<T> Consumer(uint32_t start = 0) {
    return RingConsumer<T>(indices.get(), entries.data(), capacity, start);
  }
  uint32_t capacity;
  std::unique_ptr<ferry_ring_indices> indices;
  std::vector<T> entries;
};

TEST(ShmRingTest, FullAndEmpty) {
  TestRing<uint32_t> ring(4);
  auto producer = ring.Producer();
  auto consumer = ring.Consumer();
  uint32_t v;
  EXPECT_FALSE(consumer.TryPop(&v));
  EXPECT_EQ(producer.FreeSlots(), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(producer.TryPush(i));
  // Expect: full at capacity, and nothing visible before Publish.
  EXPECT_FALSE(producer.TryPush(9));
  EXPECT_EQ(consumer.Available(), 0u);
  producer.Publish();
  EXPECT_EQ(consumer.Available(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(consumer.TryPop(&v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(consumer.TryPop(&v));
  EXPECT_EQ(producer.FreeSlots(), 4u);
}

TEST(ShmRingTest, WrapsAroundAndAcrossIndexOverflow) {
  TestRing<uint64_t> ring(8);
  // Start near the 32-bit wrap of the free-running indices.
  const uint32_t start = 0xfffffff0u;
  ring.indices->head = start;
  ring.indices->tail = start;
  auto producer = ring.Producer(start);
  auto consumer = ring.Consumer(start);
  uint64_t next_pop = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(producer.TryPush(i));
    if (i % 5 == 4) {
      producer.Publish();
      const uint32_t n = consumer.Available();
      // Expect: a batch is seen whole, in order.
      EXPECT_EQ(n, 5u);
      for (uint32_t k = 0; k < n; ++k) EXPECT_EQ(consumer.Peek(k), next_pop++);
      consumer.Consume(n);
    }
  }
}

TEST(ShmRingTest, DescriptorRingsAreSlotSequenced) {
  TestRing<ferry_desc> ring(4);
  auto producer = ring.Producer();
  auto consumer = ring.Consumer();
  // Expect: readiness comes from the slots; the tail is never consulted.
  ring.indices->tail = 12345;
  EXPECT_EQ(consumer.Available(), 0u);
  EXPECT_FALSE(consumer.corrupt());
  for (uint32_t lap = 0; lap < 5; ++lap) {
    for (uint32_t i = 0; i < 4; ++i) {
      ferry_desc d = {};
      d.length = lap * 10 + i;
      d.seq = 999;  // whatever the caller leaves here is overwritten
      ASSERT_TRUE(producer.TryPush(d));
    }
    producer.Publish();
    ASSERT_EQ(consumer.Available(), 4u);
    for (uint32_t i = 0; i < 4; ++i) {
      EXPECT_EQ(consumer.Peek(i).length, lap * 10 + i);
    }
    consumer.Consume(4);
    // Expect: last lap's slots do not read as ready.
    EXPECT_EQ(consumer.Available(), 0u);
  }
}

TEST(ShmRingTest, AvailableStopsAtTheLimit) {
  TestRing<ferry_desc> ring(8);
  auto producer = ring.Producer();
  auto consumer = ring.Consumer();
  for (uint32_t i = 0; i < 6; ++i) ASSERT_TRUE(producer.TryPush(ferry_desc{}));
  producer.Publish();
  EXPECT_EQ(consumer.Available(1), 1u);
  EXPECT_EQ(consumer.Available(4), 4u);
  EXPECT_EQ(consumer.Available(100), 6u);
  EXPECT_EQ(consumer.Available(), 6u);
  TestRing<uint32_t> words(8);
  auto word_producer = words.Producer();
  auto word_consumer = words.Consumer();
  for (uint32_t i = 0; i < 6; ++i) word_producer.Write(i);
  word_producer.Publish();
  EXPECT_EQ(word_consumer.Available(2), 2u);
  EXPECT_EQ(word_consumer.Available(), 6u);
}

TEST(ShmRingTest, BatchEdges) {
  TestRing<uint32_t> ring(8);
  auto producer = ring.Producer();
  auto consumer = ring.Consumer();
  for (uint32_t i = 0; i < 7; ++i) producer.Write(i);
  producer.Publish();
  EXPECT_EQ(producer.FreeSlots(), 1u);
  consumer.Consume(3);
  EXPECT_EQ(producer.FreeSlots(), 4u);
  EXPECT_EQ(consumer.Available(), 4u);
  EXPECT_EQ(consumer.Peek(0), 3u);
  EXPECT_EQ(consumer.Peek(3), 6u);
}

TEST(ShmRingTest, ImpossibleIndicesAreCorruption) {
  TestRing<uint32_t> ring(8);
  auto producer = ring.Producer();
  auto consumer = ring.Consumer();
  // The peer writes a tail far beyond anything possible.
  ring.indices->tail = 1000;
  EXPECT_EQ(consumer.Available(), 0u);
  EXPECT_TRUE(consumer.corrupt());
  // A head "ahead" of our tail means more used than the ring holds.
  ring.indices->head = 5;
  EXPECT_EQ(producer.FreeSlots(), 0u);
  EXPECT_TRUE(producer.corrupt());
}

TEST(ShmRingTest, DoorbellHandshake) {
  TestRing<uint32_t> ring(8);
  auto producer = ring.Producer();
  auto consumer = ring.Consumer();
  // Expect: an awake consumer is never kicked.
  producer.Write(1);
  EXPECT_FALSE(producer.Publish());
  // Expect: the consumer refuses to sleep with work pending.
  EXPECT_FALSE(consumer.PrepareToSleep());
  consumer.Consume(1);
  // Expect: once it is about to sleep, the next publish asks for a kick.
  EXPECT_TRUE(consumer.PrepareToSleep());
  producer.Write(2);
  EXPECT_TRUE(producer.Publish());
  consumer.DoneSleeping();
  producer.Write(3);
  EXPECT_FALSE(producer.Publish());
}

// Passes `count` sequence numbers from a producer thread to this one in
// batches; `wrap(i)` makes an entry, `seq(entry)` reads it back. Returns
// whether every one arrived once, in order.
template <typename T, typename Wrap, typename Seq>
bool PassInOrder(uint64_t count, uint32_t capacity, Wrap wrap, Seq seq) {
  TestRing<T> ring(capacity);
  std::thread producer_thread([&] {
    auto producer = ring.Producer();
    uint64_t next = 0;
    while (next < count) {
      uint32_t room = producer.FreeSlots();
      if (room == 0) {
        std::this_thread::yield();
        continue;
      }
      for (; room > 0 && next < count; --room) producer.Write(wrap(next++));
      producer.Publish();
    }
  });
  auto consumer = ring.Consumer();
  uint64_t expected = 0;
  bool in_order = true;
  while (expected < count) {
    const uint32_t n = consumer.Available();
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (uint32_t i = 0; i < n; ++i)
      in_order &= seq(consumer.Peek(i)) == expected++;
    consumer.Consume(n);
  }
  producer_thread.join();
  return in_order && !consumer.corrupt();
}

TEST(ShmRingTest, TwoThreadsDescriptorsInOrder) {
  EXPECT_TRUE(PassInOrder<ferry_desc>(
      2'000'000, 256,
      [](uint64_t i) {
        ferry_desc d = {};
        d.cookie = i;
        return d;
      },
      [](const ferry_desc& d) { return d.cookie; }));
}

TEST(ShmRingTest, TwoThreadsTenMillionInOrder) {
  EXPECT_TRUE(PassInOrder<uint64_t>(
      10'000'000, 1024, [](uint64_t i) { return i; },
      [](uint64_t v) { return v; }));
}

}  // namespace
}  // namespace ferry::shm

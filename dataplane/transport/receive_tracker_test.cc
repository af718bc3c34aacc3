#include "dataplane/transport/receive_tracker.h"

#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

TEST(ReceiveTrackerTest, InOrderAdvancesTheAck) {
  ReceiveTracker t(100, 64);
  uint32_t delivered;
  EXPECT_EQ(t.OnSegment(100, &delivered), Arrival::kInOrder);
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(t.cumulative_ack(), 101u);
  EXPECT_EQ(t.SackBitmap(), 0u);
}

TEST(ReceiveTrackerTest, HolesAreReportedAndFilled) {
  ReceiveTracker t(100, 64);
  uint32_t delivered;
  // Expect: 102 and 104 held behind the hole at 100 (and 101, 103).
  EXPECT_EQ(t.OnSegment(102, &delivered), Arrival::kOutOfOrder);
  EXPECT_EQ(t.OnSegment(104, &delivered), Arrival::kOutOfOrder);
  EXPECT_EQ(t.cumulative_ack(), 100u);
  // Bit i means ack + 1 + i: 102 is bit 1, 104 is bit 3.
  EXPECT_EQ(t.SackBitmap(), 0b1010u);
  EXPECT_EQ(t.OnSegment(102, &delivered), Arrival::kDuplicate);
  // Expect: 100 delivers itself only (101 missing).
  EXPECT_EQ(t.OnSegment(100, &delivered), Arrival::kInOrder);
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(t.cumulative_ack(), 101u);
  EXPECT_EQ(t.SackBitmap(), 0b101u);  // 102 and 104 relative to 101
  // Expect: 101 unblocks 102; 103 then unblocks 104.
  EXPECT_EQ(t.OnSegment(101, &delivered), Arrival::kInOrder);
  EXPECT_EQ(delivered, 2u);
  EXPECT_EQ(t.OnSegment(103, &delivered), Arrival::kInOrder);
  EXPECT_EQ(delivered, 2u);
  EXPECT_EQ(t.cumulative_ack(), 105u);
  EXPECT_EQ(t.held(), 0u);
}

TEST(ReceiveTrackerTest, OldAndFarSegments) {
  ReceiveTracker t(1000, 64);
  uint32_t delivered;
  t.OnSegment(1000, &delivered);
  // Expect: an already delivered segment is a duplicate.
  EXPECT_EQ(t.OnSegment(1000, &delivered), Arrival::kDuplicate);
  EXPECT_EQ(t.OnSegment(900, &delivered), Arrival::kDuplicate);
  // Expect: beyond the window is refused, at the edge is held.
  EXPECT_EQ(t.OnSegment(1001 + 64, &delivered), Arrival::kBeyondWindow);
  EXPECT_EQ(t.OnSegment(1001 + 63, &delivered), Arrival::kOutOfOrder);
}

TEST(ReceiveTrackerTest, WrapsAroundTheSequenceSpace) {
  ReceiveTracker t(0xfffffffe, 128);
  uint32_t delivered;
  EXPECT_EQ(t.OnSegment(0, &delivered), Arrival::kOutOfOrder);
  EXPECT_EQ(t.OnSegment(0xffffffff, &delivered), Arrival::kOutOfOrder);
  EXPECT_EQ(t.OnSegment(0xfffffffe, &delivered), Arrival::kInOrder);
  EXPECT_EQ(delivered, 3u);
  EXPECT_EQ(t.cumulative_ack(), 1u);
}

TEST(ReceiveTrackerTest, ShuffledDuplicatedArrivalsDeliverEachOnce) {
  // Every segment of a window, shuffled, each sent two or three times:
  // every one is delivered exactly once and the ACK ends past them all.
  std::mt19937 rng(7);
  constexpr uint32_t kFirst = 0xffffff00;
  constexpr uint32_t kCount = 5000;
  std::vector<uint32_t> arrivals;
  for (uint32_t i = 0; i < kCount; ++i) {
    for (uint32_t k = 0; k < 2 + rng() % 2; ++k) arrivals.push_back(kFirst + i);
  }
  // Shuffle within a sliding range so no segment is more than 200 ahead.
  for (size_t i = 0; i + 1 < arrivals.size(); ++i) {
    const size_t j = i + rng() % std::min<size_t>(200, arrivals.size() - i);
    std::swap(arrivals[i], arrivals[j]);
  }
  ReceiveTracker t(kFirst, 1024);
  uint64_t delivered_total = 0;
  for (uint32_t seq : arrivals) {
    uint32_t delivered;
    const Arrival a = t.OnSegment(seq, &delivered);
    ASSERT_NE(a, Arrival::kBeyondWindow);
    delivered_total += delivered;
  }
  EXPECT_EQ(delivered_total, kCount);
  EXPECT_EQ(t.cumulative_ack(), kFirst + kCount);
  EXPECT_EQ(t.held(), 0u);
}

}  // namespace
}  // namespace ferry::transport

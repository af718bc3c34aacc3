#include "dataplane/transport/message_segments.h"

#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

constexpr uint32_t kMss = MssForMtu(1500);  // 1424

// Segments a message and reassembles it, in order.
std::vector<uint8_t> RoundTrip(const std::vector<uint8_t>& message) {
  const uint32_t length = static_cast<uint32_t>(message.size());
  MessageReassembler r;
  std::vector<uint8_t> out;
  uint32_t begun = 0;
  const uint32_t n = SegmentCount(length, kMss);
  for (uint32_t i = 0; i < n; ++i) {
    const SegmentSpan s = SegmentAt(length, kMss, i);
    const ReassemblyResult result = r.OnSegment(
        s.first, s.last, length,
        absl::MakeConstSpan(message.data() + s.offset, s.length),
        [&](uint32_t len) {
          ++begun;
          out.assign(len, 0);
        },
        [&](uint32_t offset, absl::Span<const uint8_t> bytes) {
          if (bytes.empty()) return;  // an empty message: no data pointer
          std::memcpy(out.data() + offset, bytes.data(), bytes.size());
        });
    EXPECT_EQ(result, s.last ? ReassemblyResult::kComplete
                             : ReassemblyResult::kContinue);
  }
  EXPECT_EQ(begun, 1u);
  return out;
}

TEST(MessageSegmentsTest, CutsAtTheMss) {
  EXPECT_EQ(kMss, 1424u);
  EXPECT_EQ(SegmentCount(0, kMss), 1u);
  EXPECT_EQ(SegmentCount(1424, kMss), 1u);
  EXPECT_EQ(SegmentCount(1425, kMss), 2u);
  EXPECT_EQ(SegmentCount(kMaxMessageBytes, kMss), 5891u);
  const SegmentSpan last = SegmentAt(1425, kMss, 1);
  EXPECT_EQ(last.offset, 1424u);
  EXPECT_EQ(last.length, 1u);
  EXPECT_TRUE(last.last);
  EXPECT_FALSE(last.first);
}

TEST(MessageSegmentsTest, RoundTripsEverySize) {
  std::mt19937 rng(3);
  for (uint32_t size :
       {0u, 1u, 1423u, 1424u, 1425u, 100000u, kMaxMessageBytes}) {
    std::vector<uint8_t> message(size);
    for (uint8_t& b : message) b = static_cast<uint8_t>(rng());
    EXPECT_EQ(RoundTrip(message), message) << size;
  }
}

TEST(MessageSegmentsTest, RejectsBrokenSequences) {
  MessageReassembler r;
  auto begin = [](uint32_t) {};
  auto write = [](uint32_t, absl::Span<const uint8_t>) {};
  const uint8_t bytes[10] = {};
  const auto ten = absl::MakeConstSpan(bytes, 10);
  // Expect: a continuation with no start.
  EXPECT_EQ(r.OnSegment(false, false, 20, ten, begin, write),
            ReassemblyResult::kMissingFirst);
  // Expect: a start inside a message.
  EXPECT_EQ(r.OnSegment(true, false, 20, ten, begin, write),
            ReassemblyResult::kContinue);
  EXPECT_EQ(r.OnSegment(true, false, 20, ten, begin, write),
            ReassemblyResult::kUnexpectedFirst);
  // Expect: a continuation whose length disagrees.
  EXPECT_EQ(r.OnSegment(false, true, 21, ten, begin, write),
            ReassemblyResult::kLengthMismatch);
  EXPECT_FALSE(r.in_message());
  // Expect: bytes beyond the announced length, and a short last segment.
  EXPECT_EQ(r.OnSegment(true, false, 5, ten, begin, write),
            ReassemblyResult::kLengthMismatch);
  EXPECT_EQ(r.OnSegment(true, true, 30, ten, begin, write),
            ReassemblyResult::kLengthMismatch);
  // Expect: over 8 MiB is refused before anything is reserved.
  bool begun = false;
  EXPECT_EQ(r.OnSegment(
                true, false, kMaxMessageBytes + 1, ten,
                [&](uint32_t) { begun = true; }, write),
            ReassemblyResult::kTooLong);
  EXPECT_FALSE(begun);
  EXPECT_STREQ(ReassemblyResultName(ReassemblyResult::kTooLong),
               "message_too_long");
}

}  // namespace
}  // namespace ferry::transport

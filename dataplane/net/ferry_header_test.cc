#include "dataplane/net/ferry_header.h"

#include <random>
#include <vector>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

FerryHeader Sample() {
  FerryHeader h;
  h.type = FerryPacketType::kData;
  h.flags = kFerryFlagFirstSegment | kFerryFlagAckNow;
  h.src_flow = 0x01020304;
  h.dst_flow = 0xa0b0c0d0;
  h.seq = 0xfffffff0;  // near the 32-bit wrap
  h.ack = 17;
  h.sack = 0x8000000000000005ull;
  h.message_length = 8u << 20;
  h.window = 4096;
  h.timestamp_us = 123456789;
  h.echo_timestamp_us = 987654321;
  return h;
}

TEST(FerryHeaderTest, RoundTripsEveryField) {
  std::vector<uint8_t> bytes(kFerryHeaderSize + 10, 0xee);
  ASSERT_EQ(WriteFerryHeader(absl::MakeSpan(bytes), Sample()),
            kFerryHeaderSize);
  FerryHeader parsed;
  size_t payload = 0;
  ASSERT_EQ(ParseFerryHeader(bytes, &parsed, &payload),
            FerryHeaderError::kNone);
  const FerryHeader want = Sample();
  EXPECT_EQ(payload, kFerryHeaderSize);
  EXPECT_EQ(parsed.type, want.type);
  EXPECT_EQ(parsed.flags, want.flags);
  EXPECT_EQ(parsed.src_flow, want.src_flow);
  EXPECT_EQ(parsed.dst_flow, want.dst_flow);
  EXPECT_EQ(parsed.seq, want.seq);
  EXPECT_EQ(parsed.ack, want.ack);
  EXPECT_EQ(parsed.sack, want.sack);
  EXPECT_EQ(parsed.message_length, want.message_length);
  EXPECT_EQ(parsed.window, want.window);
  EXPECT_EQ(parsed.timestamp_us, want.timestamp_us);
  EXPECT_EQ(parsed.echo_timestamp_us, want.echo_timestamp_us);
  // Expect: big-endian on the wire, magic first.
  EXPECT_EQ(bytes[0], 0x46);
  EXPECT_EQ(bytes[1], 0x52);
  EXPECT_EQ(LoadBe32(&bytes[8]), 0x01020304u);
}

// The sum from the values is the sum of the bytes written, for headers
// whose fields carry in every word (all ones) and for random ones.
TEST(FerryHeaderTest, SumFromTheValuesMatchesTheWrittenBytes) {
  std::mt19937_64 rng(11);
  std::vector<uint8_t> bytes(kFerryHeaderSize);
  for (int i = 0; i < 1000; ++i) {
    FerryHeader h = Sample();
    if (i == 0) {
      h.flags = 0xff;
      h.src_flow = h.dst_flow = h.seq = h.ack = 0xffffffff;
      h.sack = ~uint64_t{0};
      h.message_length = h.window = h.timestamp_us = h.echo_timestamp_us =
          0xffffffff;
    } else if (i > 1) {
      h.type = static_cast<FerryPacketType>(1 + rng() % 7);
      h.flags = static_cast<uint8_t>(rng());
      h.src_flow = static_cast<uint32_t>(rng());
      h.dst_flow = static_cast<uint32_t>(rng());
      h.seq = static_cast<uint32_t>(rng());
      h.ack = static_cast<uint32_t>(rng());
      h.sack = rng();
      h.message_length = static_cast<uint32_t>(rng());
      h.window = static_cast<uint32_t>(rng());
      h.timestamp_us = static_cast<uint32_t>(rng());
      h.echo_timestamp_us = static_cast<uint32_t>(rng());
    }
    ASSERT_EQ(WriteFerryHeader(absl::MakeSpan(bytes), h), kFerryHeaderSize);
    ASSERT_EQ(ChecksumFinish(FerryHeaderSum(h)),
              ChecksumFinish(ChecksumAdd(0, absl::MakeConstSpan(bytes))))
        << "header " << i;
  }
}

TEST(FerryHeaderTest, LongerHeadersAreSkipped) {
  std::vector<uint8_t> bytes(kFerryHeaderSize + 16);
  WriteFerryHeader(absl::MakeSpan(bytes), Sample());
  bytes[5] = kFerryHeaderSize + 8;  // a later version's extra fields
  FerryHeader parsed;
  size_t payload = 0;
  ASSERT_EQ(ParseFerryHeader(bytes, &parsed, &payload),
            FerryHeaderError::kNone);
  EXPECT_EQ(payload, kFerryHeaderSize + 8);
}

TEST(FerryHeaderTest, RejectsBadHeadersWithReasons) {
  std::vector<uint8_t> good(kFerryHeaderSize);
  WriteFerryHeader(absl::MakeSpan(good), Sample());
  FerryHeader parsed;
  size_t payload;
  auto parse = [&](const std::vector<uint8_t>& b) {
    std::vector<uint8_t> copy(b);  // exact size, for AddressSanitizer
    return ParseFerryHeader(copy, &parsed, &payload);
  };
  for (size_t n = 0; n < kFerryHeaderSize; ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    EXPECT_NE(parse(cut), FerryHeaderError::kNone) << n;
  }
  std::vector<uint8_t> bad = good;
  bad[0] = 0x45;
  EXPECT_EQ(parse(bad), FerryHeaderError::kBadMagic);
  bad = good;
  bad[2] = 2;
  EXPECT_EQ(parse(bad), FerryHeaderError::kBadVersion);
  bad = good;
  bad[3] = 0;
  EXPECT_EQ(parse(bad), FerryHeaderError::kBadType);
  bad[3] = 8;
  EXPECT_EQ(parse(bad), FerryHeaderError::kBadType);
  bad = good;
  bad[5] = kFerryHeaderSize - 1;
  EXPECT_EQ(parse(bad), FerryHeaderError::kBadLength);
  bad[5] = kFerryHeaderSize + 1;  // claims more than is there
  EXPECT_EQ(parse(bad), FerryHeaderError::kTruncated);
  bad = good;
  bad[4] = 0x80;
  EXPECT_EQ(parse(bad), FerryHeaderError::kUnknownFlags);
  EXPECT_STREQ(FerryHeaderErrorName(FerryHeaderError::kBadMagic),
               "bad_ferry_magic");
}

TEST(FerryHeaderTest, RefusesSmallBuffers) {
  std::vector<uint8_t> small(kFerryHeaderSize - 1);
  EXPECT_EQ(WriteFerryHeader(absl::MakeSpan(small), Sample()), 0u);
}

}  // namespace
}  // namespace ferry::net

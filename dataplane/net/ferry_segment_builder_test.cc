#include "dataplane/net/ferry_segment_builder.h"

#include <algorithm>
#include <vector>

#include "dataplane/net/checksum.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/frame_parser.h"
#include "dataplane/net/wire.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

const FerrySegmentAddress kAddress = {{{{0x02, 0, 0, 0, 0, 0x0a}},
                                       {{0x02, 0, 0, 0, 0, 0x0b}},
                                       {0x0a4d0001},
                                       {0x0a4d0002}},
                                      49152,
                                      7000,
                                      17,
                                      true};

TEST(FerrySegmentBuilderTest, ParsesBackWithAValidChecksum) {
  FerryHeader header;
  header.type = FerryPacketType::kData;
  header.flags = kFerryFlagFirstSegment | kFerryFlagLastSegment;
  header.src_flow = 0x00100001;
  header.dst_flow = 0x00200002;
  header.seq = 1000;
  header.message_length = 5;
  const std::vector<uint8_t> payload = {'h', 'e', 'l', 'l', 'o'};
  std::vector<uint8_t> frame(256);
  const size_t n = BuildFerrySegment(absl::MakeSpan(frame), kAddress, header,
                                     absl::MakeConstSpan(payload));
  // Expect: Ethernet + IPv4 + UDP + Ferry header + payload.
  ASSERT_EQ(n, kEtherHeaderSize + kIpv4HeaderSize + kUdpHeaderSize +
                   kFerryHeaderSize + payload.size());
  frame.resize(n);
  ParsedFrame parsed;
  ASSERT_EQ(ParseFrame(absl::MakeConstSpan(frame), {}, &parsed),
            DropReason::kNone);
  EXPECT_FALSE(parsed.udp_unchecked);
  EXPECT_EQ(parsed.ip_src, kAddress.ends.ip_src);
  EXPECT_EQ(parsed.ip_dst, kAddress.ends.ip_dst);
  EXPECT_EQ(parsed.udp_src_port, 49152);
  EXPECT_EQ(parsed.udp_dst_port, 7000);
  FerryHeader back;
  size_t payload_offset = 0;
  ASSERT_EQ(ParseFerryHeader(absl::MakeConstSpan(frame).subspan(
                                 parsed.payload_offset, parsed.payload_length),
                             &back, &payload_offset),
            FerryHeaderError::kNone);
  EXPECT_EQ(back.src_flow, header.src_flow);
  EXPECT_EQ(back.seq, header.seq);
  EXPECT_EQ(parsed.payload_length - payload_offset, payload.size());

  // Expect: the prefetch hint reads the same destination flow.
  EXPECT_EQ(PeekFerryDstFlow(absl::MakeConstSpan(frame)), header.dst_flow);
  // Expect: a frame cut inside the Ferry header, or not IPv4/UDP, reads 0.
  EXPECT_EQ(PeekFerryDstFlow(absl::MakeConstSpan(frame).first(
                kEtherHeaderSize + kIpv4HeaderSize + kUdpHeaderSize + 15)),
            0u);
  std::vector<uint8_t> not_udp = frame;
  not_udp[kEtherHeaderSize + 9] = 6;  // TCP
  EXPECT_EQ(PeekFerryDstFlow(absl::MakeConstSpan(not_udp)), 0u);

  // Expect: one flipped payload bit fails the UDP checksum.
  frame.back() ^= 1;
  EXPECT_NE(ParseFrame(absl::MakeConstSpan(frame), {}, &parsed),
            DropReason::kNone);
}

// A sealed segment goes without a UDP checksum: 0, which the parser
// reports as unchecked rather than as a bad checksum.
TEST(FerrySegmentBuilderTest, NoChecksumWhenAskedForNone) {
  FerrySegmentAddress address = kAddress;
  address.udp_checksum = false;
  FerryHeader header;
  header.type = FerryPacketType::kData;
  const std::vector<uint8_t> payload(100, 0x33);
  std::vector<uint8_t> frame(256);
  const size_t n = BuildFerrySegment(absl::MakeSpan(frame), address, header,
                                     absl::MakeConstSpan(payload));
  ASSERT_GT(n, 0u);
  frame.resize(n);
  const size_t checksum_at = kEtherHeaderSize + kIpv4HeaderSize + 6;
  EXPECT_EQ(frame[checksum_at], 0);
  EXPECT_EQ(frame[checksum_at + 1], 0);
  ParsedFrame parsed;
  ASSERT_EQ(ParseFrame(absl::MakeConstSpan(frame), {}, &parsed),
            DropReason::kNone);
  EXPECT_TRUE(parsed.udp_unchecked);
}

void ExpectBesideChecksumsTheSame(const FerryHeader& header) {
  std::vector<uint8_t> payload(1001);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  std::vector<uint8_t> whole(2048);
  const size_t n = BuildFerrySegment(absl::MakeSpan(whole), kAddress, header,
                                     absl::MakeConstSpan(payload));
  ASSERT_GT(n, 0u);
  std::vector<uint8_t> beside(2048);
  const size_t at =
      StartFerrySegment(absl::MakeSpan(beside), kAddress, header, 1001);
  ASSERT_GT(at, 0u);
  // Pieces of 333, 1 and 667 bytes: odd offsets on the way.
  uint32_t sum = 0;
  size_t offset = 0;
  for (size_t piece : {333u, 1u, 667u}) {
    sum = ChecksumAddAt(
        sum, absl::MakeConstSpan(payload.data() + offset, piece), offset);
    offset += piece;
  }
  EXPECT_EQ(FinishFerrySegmentBeside(absl::MakeSpan(beside), kAddress, header,
                                     1001, sum),
            n);
  EXPECT_TRUE(std::equal(whole.begin(), whole.begin() + at, beside.begin()));
}

// A payload summed in pieces beside the headers gives the checksum of the
// whole frame built in one place, with header fields that carry.
TEST(FerrySegmentBuilderTest, PayloadBesideTheHeadersChecksumsTheSame) {
  for (uint32_t seed : {77u, 0xffffffffu, 0x8001fffeu}) {
    SCOPED_TRACE(seed);
    FerryHeader header;
    header.type = FerryPacketType::kData;
    header.flags = static_cast<uint8_t>(seed);
    header.src_flow = seed * 3;
    header.dst_flow = ~seed;
    header.seq = seed;
    header.ack = seed ^ 0x5555aaaa;
    header.sack = uint64_t{seed} << 31 | seed;
    header.message_length = 1001;
    header.window = seed >> 7;
    header.timestamp_us = seed * 7;
    header.echo_timestamp_us = seed;
    ExpectBesideChecksumsTheSame(header);
  }
}

TEST(FerrySegmentBuilderTest, RefusesWhatDoesNotFit) {
  std::vector<uint8_t> frame(100);
  const std::vector<uint8_t> payload(64);
  // Expect: 14 + 20 + 8 + 48 + 64 bytes do not fit in 100.
  EXPECT_EQ(BuildFerrySegment(absl::MakeSpan(frame), kAddress, FerryHeader{},
                              absl::MakeConstSpan(payload)),
            0u);
  // Expect: a UDP length past 65535 is refused, not wrapped.
  std::vector<uint8_t> big(70000);
  EXPECT_EQ(
      StartFerrySegment(absl::MakeSpan(big), kAddress, FerryHeader{}, 65535),
      0u);
}

}  // namespace
}  // namespace ferry::net

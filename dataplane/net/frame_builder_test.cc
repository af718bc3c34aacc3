#include "dataplane/net/frame_builder.h"

#include <vector>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/wire.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

const MacAddress kMacA = {{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB = {{0x02, 0, 0, 0, 0, 0x0b}};
const Ipv4Address kIpA = {0x0a4d0001};
const Ipv4Address kIpB = {0x0a4d0002};

TEST(FrameBuilderTest, ArpRequestIsPaddedAndTurnsIntoReply) {
  std::vector<uint8_t> frame(128);
  size_t n =
      BuildArp(absl::MakeSpan(frame), {kArpOpRequest, MacAddress::Broadcast(),
                                       kMacA, kIpA, MacAddress{}, kIpB});
  ASSERT_EQ(n, kEtherMinFrameSize);
  frame.resize(n);
  ParsedFrame request;
  ASSERT_EQ(ParseFrame(absl::MakeConstSpan(frame), {}, &request),
            DropReason::kNone);

  TurnArpRequestIntoReply(absl::MakeSpan(frame), request, kMacB);
  ParsedFrame reply;
  ASSERT_EQ(ParseFrame(absl::MakeConstSpan(frame), {}, &reply),
            DropReason::kNone);
  // Expect: a unicast reply from B to A saying "10.77.0.2 is at B".
  EXPECT_EQ(reply.eth_dst, kMacA);
  EXPECT_EQ(reply.eth_src, kMacB);
  EXPECT_EQ(reply.arp_op, kArpOpReply);
  EXPECT_EQ(reply.arp_sender_mac, kMacB);
  EXPECT_EQ(reply.arp_sender_ip, kIpB);
  EXPECT_EQ(reply.arp_target_mac, kMacA);
  EXPECT_EQ(reply.arp_target_ip, kIpA);
}

TEST(FrameBuilderTest, EchoRequestTurnsIntoValidReply) {
  std::vector<uint8_t> data(1000, 0x5a);
  std::vector<uint8_t> frame(1514);
  size_t n = BuildIcmpEcho(absl::MakeSpan(frame), {kMacA, kMacB, kIpA, kIpB},
                           {kIcmpTypeEchoRequest, 9, 3, 1, data});
  frame.resize(n);
  ParsedFrame request;
  ASSERT_EQ(ParseFrame(absl::MakeConstSpan(frame), {}, &request),
            DropReason::kNone);
  TurnIcmpEchoRequestIntoReply(absl::MakeSpan(frame), request, kMacB);
  ParsedFrame reply;
  // Expect: both checksums verify after the rewrite.
  ASSERT_EQ(ParseFrame(absl::MakeConstSpan(frame), {}, &reply),
            DropReason::kNone);
  EXPECT_EQ(reply.icmp_type, kIcmpTypeEchoReply);
  EXPECT_EQ(reply.ip_src, kIpB);
  EXPECT_EQ(reply.ip_dst, kIpA);
  EXPECT_EQ(reply.eth_dst, kMacA);
  EXPECT_EQ(reply.icmp_id, 9);
  EXPECT_EQ(reply.icmp_seq, 3);
  EXPECT_EQ(reply.payload_length, data.size());
}

TEST(FrameBuilderTest, RefusesBuffersTooSmall) {
  std::vector<uint8_t> small(40);
  EXPECT_EQ(
      BuildArp(absl::MakeSpan(small), {kArpOpRequest, MacAddress::Broadcast(),
                                       kMacA, kIpA, MacAddress{}, kIpB}),
      0u);
  std::vector<uint8_t> data(100);
  std::vector<uint8_t> frame(100);
  EXPECT_EQ(BuildIcmpEcho(absl::MakeSpan(frame), {kMacA, kMacB, kIpA, kIpB},
                          {kIcmpTypeEchoRequest, 1, 1, 1, data}),
            0u);
}

TEST(FrameBuilderTest, Ipv4ChecksumSummedFromValuesMatchesTheHeader) {
  // The checksum is summed from the field values, not read back from the
  // frame; it must equal the sum over the written header, carries and all.
  const Ipv4Address highs = {0xfffefdfc};
  const Ipv4Address lows = {0x01000203};
  for (const Ipv4Endpoints& ends : {Ipv4Endpoints{kMacA, kMacB, kIpA, kIpB},
                                    Ipv4Endpoints{kMacA, kMacB, highs, highs},
                                    Ipv4Endpoints{kMacA, kMacB, lows, highs}}) {
    for (uint16_t id : {0, 1, 0x8000, 0xffff}) {
      for (size_t l4_length : {size_t{8}, size_t{1500}, size_t{65515}}) {
        std::vector<uint8_t> frame(kEtherHeaderSize + kIpv4HeaderSize +
                                   l4_length);
        ASSERT_NE(WriteEtherIpv4(absl::MakeSpan(frame), ends, kIpProtoUdp, id,
                                 l4_length, /*checksum_in_software=*/true),
                  0u);
        std::vector<uint8_t> header(
            frame.begin() + kEtherHeaderSize,
            frame.begin() + kEtherHeaderSize + kIpv4HeaderSize);
        const uint16_t written = LoadBe16(&header[kIpv4ChecksumOffset]);
        header[kIpv4ChecksumOffset] = 0;
        header[kIpv4ChecksumOffset + 1] = 0;
        EXPECT_EQ(written, InternetChecksum(header))
            << "id " << id << " length " << l4_length;
      }
    }
  }
}

TEST(FrameBuilderTest, Ipv4ChecksumLeftForOffload) {
  std::vector<uint8_t> frame(100);
  ASSERT_NE(WriteEtherIpv4(absl::MakeSpan(frame), {kMacA, kMacB, kIpA, kIpB},
                           kIpProtoUdp, 1, 8, /*checksum_in_software=*/false),
            0u);
  EXPECT_EQ(LoadBe16(&frame[kEtherHeaderSize + kIpv4ChecksumOffset]), 0);
}

TEST(ChecksumTest, KnownVector) {
  // RFC 1071's example bytes: 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(InternetChecksum(bytes), static_cast<uint16_t>(~0xddf2));
  const uint8_t odd[] = {0x01};
  EXPECT_EQ(InternetChecksum(odd), static_cast<uint16_t>(~0x0100));
}

}  // namespace
}  // namespace ferry::net

#include "dataplane/net/frame_parser.h"

#include <set>
#include <string>
#include <vector>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

const MacAddress kMacA = {{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB = {{0x02, 0, 0, 0, 0, 0x0b}};
const Ipv4Address kIpA = {0x0a4d0001};  // 10.77.0.1
const Ipv4Address kIpB = {0x0a4d0002};  // 10.77.0.2

std::vector<uint8_t> EchoRequest(size_t data_size = 56) {
  std::vector<uint8_t> data(data_size);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> frame(1514);
  size_t n = BuildIcmpEcho(absl::MakeSpan(frame), {kMacA, kMacB, kIpA, kIpB},
                           {kIcmpTypeEchoRequest, 0x1234, 7, 99, data});
  frame.resize(n);
  return frame;
}

std::vector<uint8_t> UdpDatagram(size_t payload_size) {
  std::vector<uint8_t> frame(1514);
  const size_t udp_length = kUdpHeaderSize + payload_size;
  size_t l4 = WriteEtherIpv4(absl::MakeSpan(frame), {kMacA, kMacB, kIpA, kIpB},
                             kIpProtoUdp, 1, udp_length, true);
  uint8_t* udp = &frame[l4];
  StoreBe16(udp + kUdpSrcPortOffset, 4000);
  StoreBe16(udp + kUdpDstPortOffset, 5000);
  StoreBe16(udp + kUdpLengthOffset, static_cast<uint16_t>(udp_length));
  StoreBe16(udp + kUdpChecksumOffset, 0);
  for (size_t i = 0; i < payload_size; ++i) udp[kUdpHeaderSize + i] = 0xa5;
  StoreBe16(udp + kUdpChecksumOffset,
            UdpChecksum(kIpA, kIpB, absl::MakeConstSpan(udp, udp_length)));
  frame.resize(std::max(l4 + udp_length, kEtherMinFrameSize));
  return frame;
}

DropReason Parse(const std::vector<uint8_t>& frame, ParsedFrame* out) {
  // An exactly-sized heap copy, so that AddressSanitizer sees any read past
  // the end of the frame.
  std::vector<uint8_t> copy(frame);
  return ParseFrame(absl::MakeConstSpan(copy), ParseOptions{}, out);
}

void RefreshIpv4Checksum(std::vector<uint8_t>& frame) {
  uint8_t* ip = &frame[kEtherHeaderSize];
  StoreBe16(ip + kIpv4ChecksumOffset, 0);
  StoreBe16(ip + kIpv4ChecksumOffset,
            InternetChecksum(absl::MakeConstSpan(ip, kIpv4HeaderSize)));
}

TEST(FrameParserTest, ParsesEchoRequest) {
  ParsedFrame parsed;
  ASSERT_EQ(Parse(EchoRequest(), &parsed), DropReason::kNone);
  EXPECT_EQ(parsed.eth_src, kMacA);
  EXPECT_EQ(parsed.eth_dst, kMacB);
  EXPECT_EQ(parsed.ip_src, kIpA);
  EXPECT_EQ(parsed.ip_dst, kIpB);
  EXPECT_EQ(parsed.ip_protocol, kIpProtoIcmp);
  EXPECT_EQ(parsed.icmp_type, kIcmpTypeEchoRequest);
  EXPECT_EQ(parsed.icmp_id, 0x1234);
  EXPECT_EQ(parsed.icmp_seq, 7);
  EXPECT_EQ(parsed.payload_length, 56u);
}

TEST(FrameParserTest, IgnoresEthernetPaddingAfterDatagram) {
  // A 4-byte echo makes a 46-byte frame, padded to 60 by the builder.
  std::vector<uint8_t> frame = EchoRequest(4);
  ASSERT_EQ(frame.size(), kEtherMinFrameSize);
  frame.back() = 0xee;  // padding content must not matter
  ParsedFrame parsed;
  ASSERT_EQ(Parse(frame, &parsed), DropReason::kNone);
  EXPECT_EQ(parsed.payload_length, 4u);
}

TEST(FrameParserTest, ParsesArpRequest) {
  std::vector<uint8_t> frame(64);
  frame.resize(
      BuildArp(absl::MakeSpan(frame), {kArpOpRequest, MacAddress::Broadcast(),
                                       kMacA, kIpA, MacAddress{}, kIpB}));
  ParsedFrame parsed;
  ASSERT_EQ(Parse(frame, &parsed), DropReason::kNone);
  EXPECT_EQ(parsed.ether_type, kEtherTypeArp);
  EXPECT_EQ(parsed.arp_op, kArpOpRequest);
  EXPECT_EQ(parsed.arp_sender_mac, kMacA);
  EXPECT_EQ(parsed.arp_sender_ip, kIpA);
  EXPECT_EQ(parsed.arp_target_ip, kIpB);
}

TEST(FrameParserTest, ParsesUdpAndAcceptsZeroChecksum) {
  ParsedFrame parsed;
  std::vector<uint8_t> frame = UdpDatagram(100);
  ASSERT_EQ(Parse(frame, &parsed), DropReason::kNone);
  EXPECT_EQ(parsed.udp_src_port, 4000);
  EXPECT_EQ(parsed.udp_dst_port, 5000);
  EXPECT_EQ(parsed.payload_length, 100u);
  // Expect: a zero checksum means "none computed" and is accepted.
  StoreBe16(&frame[parsed.l4_offset + kUdpChecksumOffset], 0);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kNone);
}

TEST(FrameParserTest, EveryTruncationIsRejected) {
  for (const std::vector<uint8_t>& full :
       {EchoRequest(), UdpDatagram(200), EchoRequest(4)}) {
    ParsedFrame parsed;
    ASSERT_EQ(Parse(full, &parsed), DropReason::kNone);
    const size_t datagram_end = kEtherHeaderSize + parsed.ip_total_length;
    for (size_t n = 0; n < datagram_end; ++n) {
      std::vector<uint8_t> cut(full.begin(), full.begin() + n);
      EXPECT_NE(Parse(cut, &parsed), DropReason::kNone) << "length " << n;
    }
  }
}

TEST(FrameParserTest, RejectsTruncatedArp) {
  std::vector<uint8_t> frame(64);
  frame.resize(
      BuildArp(absl::MakeSpan(frame), {kArpOpRequest, MacAddress::Broadcast(),
                                       kMacA, kIpA, MacAddress{}, kIpB}));
  frame.resize(kEtherHeaderSize + kArpSize - 1);
  ParsedFrame parsed;
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kTruncatedArp);
}

TEST(FrameParserTest, RejectsBadArp) {
  std::vector<uint8_t> frame(64);
  frame.resize(
      BuildArp(absl::MakeSpan(frame), {kArpOpRequest, MacAddress::Broadcast(),
                                       kMacA, kIpA, MacAddress{}, kIpB}));
  ParsedFrame parsed;
  std::vector<uint8_t> bad = frame;
  bad[kEtherHeaderSize + kArpHlenOffset] = 8;
  EXPECT_EQ(Parse(bad, &parsed), DropReason::kBadArpFormat);
  bad = frame;
  StoreBe16(&bad[kEtherHeaderSize + kArpPtypeOffset], 0x86dd);
  EXPECT_EQ(Parse(bad, &parsed), DropReason::kBadArpFormat);
  bad = frame;
  StoreBe16(&bad[kEtherHeaderSize + kArpOpOffset], 3);
  EXPECT_EQ(Parse(bad, &parsed), DropReason::kBadArpOperation);
}

TEST(FrameParserTest, RejectsOtherEtherTypes) {
  std::vector<uint8_t> frame = EchoRequest();
  ParsedFrame parsed;
  StoreBe16(&frame[kEtherTypeOffset], 0x86dd);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kUnsupportedEtherType);
  StoreBe16(&frame[kEtherTypeOffset], kEtherTypeVlan);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kVlanTagged);
}

TEST(FrameParserTest, RejectsBadIpv4Headers) {
  const std::vector<uint8_t> good = EchoRequest();
  ParsedFrame parsed;
  uint8_t* ip;

  std::vector<uint8_t> frame = good;
  ip = &frame[kEtherHeaderSize];
  ip[kIpv4VersionIhlOffset] = 0x65;
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIpv4Version);

  // Expect: a header with options (IHL 6) is refused, even if well formed.
  frame = good;
  ip = &frame[kEtherHeaderSize];
  ip[kIpv4VersionIhlOffset] = 0x46;
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kIpv4Options);
  ip[kIpv4VersionIhlOffset] = 0x44;  // IHL below the minimum
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kIpv4Options);

  frame = good;
  ip = &frame[kEtherHeaderSize];
  StoreBe16(ip + kIpv4TotalLengthOffset,
            static_cast<uint16_t>(frame.size() - kEtherHeaderSize + 1));
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIpv4TotalLength);
  StoreBe16(ip + kIpv4TotalLengthOffset, 19);
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIpv4TotalLength);

  frame = good;
  frame[kEtherHeaderSize + kIpv4TtlOffset] ^= 1;  // checksum now stale
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIpv4Checksum);

  frame = good;
  ip = &frame[kEtherHeaderSize];
  StoreBe16(ip + kIpv4FlagsFragOffset, kIpv4FlagMoreFragments);
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kIpv4Fragment);
  StoreBe16(ip + kIpv4FlagsFragOffset, 185);  // a later fragment
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kIpv4Fragment);

  frame = good;
  ip = &frame[kEtherHeaderSize];
  StoreBe32(ip + kIpv4SrcOffset, 0xffffffff);
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIpv4Source);
  StoreBe32(ip + kIpv4SrcOffset, 0xe0000001);
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIpv4Source);

  frame = good;
  ip = &frame[kEtherHeaderSize];
  ip[kIpv4ProtocolOffset] = 6;
  RefreshIpv4Checksum(frame);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kUnsupportedIpProtocol);
}

TEST(FrameParserTest, RejectsBadIcmpChecksum) {
  std::vector<uint8_t> frame = EchoRequest();
  frame[kEtherHeaderSize + kIpv4HeaderSize + 20] ^= 0xff;
  ParsedFrame parsed;
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadIcmpChecksum);
}

TEST(FrameParserTest, RejectsBadUdp) {
  const std::vector<uint8_t> good = UdpDatagram(64);
  const size_t l4 = kEtherHeaderSize + kIpv4HeaderSize;
  ParsedFrame parsed;

  std::vector<uint8_t> frame = good;
  StoreBe16(&frame[l4 + kUdpLengthOffset], 7);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadUdpLength);
  StoreBe16(&frame[l4 + kUdpLengthOffset], kUdpHeaderSize + 65);
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadUdpLength);

  frame = good;
  frame[l4 + kUdpHeaderSize + 3] ^= 0x10;
  EXPECT_EQ(Parse(frame, &parsed), DropReason::kBadUdpChecksum);

  // Expect: with RX checksum offload the parser skips the check.
  ParseOptions trust;
  trust.verify_l4_checksum = false;
  EXPECT_EQ(ParseFrame(absl::MakeConstSpan(frame), trust, &parsed),
            DropReason::kNone);
}

TEST(FrameParserTest, DropReasonsHaveDistinctNames) {
  std::set<std::string> names;
  for (size_t i = 0; i <= kDropReasonCount; ++i) {
    names.insert(DropReasonName(static_cast<DropReason>(i)));
  }
  EXPECT_EQ(names.size(), kDropReasonCount + 1);
  EXPECT_STREQ(DropReasonName(DropReason::kBadUdpChecksum), "bad_udp_checksum");
}

}  // namespace
}  // namespace ferry::net

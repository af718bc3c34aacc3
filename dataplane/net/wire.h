// Wire layouts of the headers Ferry speaks: Ethernet II, ARP for IPv4 over
// Ethernet, IPv4 without options, ICMP echo and UDP. Fields are described by
// byte offsets, read and written with byte_order.h; no struct is overlaid on
// packet memory.
#ifndef FERRY_DATAPLANE_NET_WIRE_H_
#define FERRY_DATAPLANE_NET_WIRE_H_

#include <cstddef>
#include <cstdint>

namespace ferry::net {

// Ethernet II.
inline constexpr size_t kEtherHeaderSize = 14;
inline constexpr size_t kEtherDstOffset = 0;
inline constexpr size_t kEtherSrcOffset = 6;
inline constexpr size_t kEtherTypeOffset = 12;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
// Shortest frame on the wire without FCS; shorter ones are padded.
inline constexpr size_t kEtherMinFrameSize = 60;

// ARP, IPv4 over Ethernet (RFC 826), after the Ethernet header.
inline constexpr size_t kArpSize = 28;
inline constexpr size_t kArpHtypeOffset = 0;
inline constexpr size_t kArpPtypeOffset = 2;
inline constexpr size_t kArpHlenOffset = 4;
inline constexpr size_t kArpPlenOffset = 5;
inline constexpr size_t kArpOpOffset = 6;
inline constexpr size_t kArpSenderMacOffset = 8;
inline constexpr size_t kArpSenderIpOffset = 14;
inline constexpr size_t kArpTargetMacOffset = 18;
inline constexpr size_t kArpTargetIpOffset = 24;
inline constexpr uint16_t kArpHtypeEthernet = 1;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

// IPv4 (RFC 791). Ferry sends and accepts only the 20-byte header.
inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kIpv4VersionIhlOffset = 0;
inline constexpr size_t kIpv4TosOffset = 1;
inline constexpr size_t kIpv4TotalLengthOffset = 2;
inline constexpr size_t kIpv4IdOffset = 4;
inline constexpr size_t kIpv4FlagsFragOffset = 6;
inline constexpr size_t kIpv4TtlOffset = 8;
inline constexpr size_t kIpv4ProtocolOffset = 9;
inline constexpr size_t kIpv4ChecksumOffset = 10;
inline constexpr size_t kIpv4SrcOffset = 12;
inline constexpr size_t kIpv4DstOffset = 16;
inline constexpr uint16_t kIpv4FlagMoreFragments = 0x2000;
inline constexpr uint16_t kIpv4FlagDontFragment = 0x4000;
inline constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;
inline constexpr uint8_t kIpv4DefaultTtl = 64;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoUdp = 17;

// ICMP echo (RFC 792).
inline constexpr size_t kIcmpEchoHeaderSize = 8;
inline constexpr size_t kIcmpTypeOffset = 0;
inline constexpr size_t kIcmpCodeOffset = 1;
inline constexpr size_t kIcmpChecksumOffset = 2;
inline constexpr size_t kIcmpIdOffset = 4;
inline constexpr size_t kIcmpSeqOffset = 6;
inline constexpr uint8_t kIcmpTypeEchoReply = 0;
inline constexpr uint8_t kIcmpTypeEchoRequest = 8;

// UDP (RFC 768).
inline constexpr size_t kUdpHeaderSize = 8;
inline constexpr size_t kUdpSrcPortOffset = 0;
inline constexpr size_t kUdpDstPortOffset = 2;
inline constexpr size_t kUdpLengthOffset = 4;
inline constexpr size_t kUdpChecksumOffset = 6;

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_WIRE_H_

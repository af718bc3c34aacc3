// Builds the frames the engine sends: ARP requests and replies, ICMP echo
// requests, and in-place rewrites of received requests into replies (so an
// echo reply reuses the received buffer and allocates nothing).
//
// Every builder checks that `out` is large enough and returns the frame
// length, or 0 when it is not. Frames shorter than the Ethernet minimum are
// zero-padded to 60 bytes.
#ifndef FERRY_DATAPLANE_NET_FRAME_BUILDER_H_
#define FERRY_DATAPLANE_NET_FRAME_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/types/span.h"
#include "dataplane/net/addresses.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/frame_parser.h"
#include "dataplane/net/wire.h"

namespace ferry::net {

struct ArpFrame {
  uint16_t op = 0;  // kArpOpRequest or kArpOpReply
  MacAddress eth_dst;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;  // zero in a request
  Ipv4Address target_ip;
};

size_t BuildArp(absl::Span<uint8_t> out, const ArpFrame& arp);

struct Ipv4Endpoints {
  MacAddress eth_src;
  MacAddress eth_dst;
  Ipv4Address ip_src;
  Ipv4Address ip_dst;
};

// Called for every segment sent, from other translation units: inline.
namespace frame_builder_internal {

inline void StoreMac(uint8_t* p, const MacAddress& mac) {
  std::memcpy(p, mac.bytes.data(), mac.bytes.size());
}

inline void WriteEther(uint8_t* p, const MacAddress& dst, const MacAddress& src,
                       uint16_t ether_type) {
  StoreMac(p + kEtherDstOffset, dst);
  StoreMac(p + kEtherSrcOffset, src);
  StoreBe16(p + kEtherTypeOffset, ether_type);
}

}  // namespace frame_builder_internal

// Writes Ethernet and a 20-byte IPv4 header for a datagram whose payload (the
// L4 header and data) is `l4_length` bytes. When `checksum_in_software` is
// false the IPv4 checksum is left 0 for the port to fill in (TX offload).
// Returns the offset of the L4 header, or 0 when `out` is too small.
inline size_t WriteEtherIpv4(absl::Span<uint8_t> out, const Ipv4Endpoints& ends,
                             uint8_t protocol, uint16_t ip_id, size_t l4_length,
                             bool checksum_in_software) {
  const size_t ip_length = kIpv4HeaderSize + l4_length;
  if (ip_length > 0xffff || out.size() < kEtherHeaderSize + ip_length) {
    return 0;
  }
  uint8_t* p = out.data();
  frame_builder_internal::WriteEther(p, ends.eth_dst, ends.eth_src,
                                     kEtherTypeIpv4);
  uint8_t* ip = p + kEtherHeaderSize;
  ip[kIpv4VersionIhlOffset] = 0x45;
  ip[kIpv4TosOffset] = 0;
  StoreBe16(ip + kIpv4TotalLengthOffset, static_cast<uint16_t>(ip_length));
  StoreBe16(ip + kIpv4IdOffset, ip_id);
  StoreBe16(ip + kIpv4FlagsFragOffset, kIpv4FlagDontFragment);
  ip[kIpv4TtlOffset] = kIpv4DefaultTtl;
  ip[kIpv4ProtocolOffset] = protocol;
  StoreBe32(ip + kIpv4SrcOffset, ends.ip_src.value);
  StoreBe32(ip + kIpv4DstOffset, ends.ip_dst.value);
  uint16_t checksum = 0;
  if (checksum_in_software) {
    // Summed from the values just written, not read back from the frame:
    // 8-byte loads across those 1- and 2-byte stores cannot be forwarded
    // from the store buffer and wait for them to retire, which made this
    // header's checksum cost as much as summing 1 KiB of payload.
    const uint32_t sum =
        (0x45 << 8) + static_cast<uint32_t>(ip_length) + ip_id +
        kIpv4FlagDontFragment + (uint32_t{kIpv4DefaultTtl} << 8) + protocol +
        (ends.ip_src.value >> 16) + (ends.ip_src.value & 0xffff) +
        (ends.ip_dst.value >> 16) + (ends.ip_dst.value & 0xffff);
    checksum = ChecksumFinish(sum);
  }
  StoreBe16(ip + kIpv4ChecksumOffset, checksum);
  return kEtherHeaderSize + kIpv4HeaderSize;
}

struct IcmpEcho {
  uint8_t type = 0;  // kIcmpTypeEchoRequest or kIcmpTypeEchoReply
  uint16_t id = 0;
  uint16_t seq = 0;
  uint16_t ip_id = 0;
  absl::Span<const uint8_t> data;
  // False when the port fills in the IPv4 header checksum (TX offload).
  bool ipv4_checksum_in_software = true;
};

size_t BuildIcmpEcho(absl::Span<uint8_t> out, const Ipv4Endpoints& ends,
                     const IcmpEcho& echo);

// Rewrites a parsed ARP request for `my_ip` into the reply from `my_mac`.
// Returns the (unchanged) frame length.
size_t TurnArpRequestIntoReply(absl::Span<uint8_t> frame,
                               const ParsedFrame& request, MacAddress my_mac);

// Rewrites a parsed ICMP echo request into its reply: addresses swapped, type
// changed, TTL reset, both checksums recomputed. Trailing Ethernet padding is
// kept. Returns the frame length.
size_t TurnIcmpEchoRequestIntoReply(absl::Span<uint8_t> frame,
                                    const ParsedFrame& request,
                                    MacAddress my_mac);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_FRAME_BUILDER_H_

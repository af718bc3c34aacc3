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

#include "absl/types/span.h"
#include "dataplane/net/addresses.h"
#include "dataplane/net/frame_parser.h"

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

// Writes Ethernet and a 20-byte IPv4 header for a datagram whose payload (the
// L4 header and data) is `l4_length` bytes. When `checksum_in_software` is
// false the IPv4 checksum is left 0 for the port to fill in (TX offload).
// Returns the offset of the L4 header, or 0 when `out` is too small.
size_t WriteEtherIpv4(absl::Span<uint8_t> out, const Ipv4Endpoints& ends,
                      uint8_t protocol, uint16_t ip_id, size_t l4_length,
                      bool checksum_in_software);

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

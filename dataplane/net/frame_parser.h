// Parses a received Ethernet frame into the fields the engine acts on.
//
// The frame is untrusted: every length is checked against the bytes that are
// really there before a field is read, and a frame that is not well formed is
// rejected with a DropReason that the engine counts. Pure function, no
// allocation, safe on any input (fuzzed by frame_parser_fuzz).
#ifndef FERRY_DATAPLANE_NET_FRAME_PARSER_H_
#define FERRY_DATAPLANE_NET_FRAME_PARSER_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "dataplane/net/addresses.h"

namespace ferry::net {

// X(enumerator, metric label)
#define FERRY_DROP_REASONS(X)                       \
  X(kTruncatedEthernet, "truncated_ethernet")       \
  X(kVlanTagged, "vlan_tagged")                     \
  X(kUnsupportedEtherType, "unsupported_ethertype") \
  X(kTruncatedArp, "truncated_arp")                 \
  X(kBadArpFormat, "bad_arp_format")                \
  X(kBadArpOperation, "bad_arp_operation")          \
  X(kTruncatedIpv4, "truncated_ipv4")               \
  X(kBadIpv4Version, "bad_ipv4_version")            \
  X(kIpv4Options, "ipv4_options")                   \
  X(kBadIpv4TotalLength, "bad_ipv4_total_length")   \
  X(kBadIpv4Checksum, "bad_ipv4_checksum")          \
  X(kIpv4Fragment, "ipv4_fragment")                 \
  X(kBadIpv4Source, "bad_ipv4_source")              \
  X(kTruncatedIcmp, "truncated_icmp")               \
  X(kBadIcmpChecksum, "bad_icmp_checksum")          \
  X(kTruncatedUdp, "truncated_udp")                 \
  X(kBadUdpLength, "bad_udp_length")                \
  X(kBadUdpChecksum, "bad_udp_checksum")            \
  X(kUnsupportedIpProtocol, "unsupported_ip_protocol")

enum class DropReason : uint8_t {
  kNone = 0,
#define FERRY_DROP_REASON_ENUM(name, label) name,
  FERRY_DROP_REASONS(FERRY_DROP_REASON_ENUM)
#undef FERRY_DROP_REASON_ENUM
      kCount
};

inline constexpr size_t kDropReasonCount =
    static_cast<size_t>(DropReason::kCount);

// Stable snake_case name, used as a metric label and in logs.
const char* DropReasonName(DropReason reason);

struct ParsedFrame {
  MacAddress eth_dst;
  MacAddress eth_src;
  uint16_t ether_type = 0;

  // ARP (ether_type == kEtherTypeArp).
  uint16_t arp_op = 0;
  MacAddress arp_sender_mac;
  Ipv4Address arp_sender_ip;
  MacAddress arp_target_mac;
  Ipv4Address arp_target_ip;

  // IPv4 (ether_type == kEtherTypeIpv4).
  Ipv4Address ip_src;
  Ipv4Address ip_dst;
  uint8_t ip_protocol = 0;
  uint8_t ip_ttl = 0;
  uint16_t ip_total_length = 0;  // header + payload; trailing padding excluded
  size_t l4_offset = 0;          // from the start of the frame

  // ICMP (ip_protocol == kIpProtoIcmp); id and seq only mean something for
  // echo request and reply.
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;
  uint16_t icmp_seq = 0;

  // UDP (ip_protocol == kIpProtoUdp).
  // A UDP datagram whose sender computed no checksum (0) and that no
  // hardware checked either: its payload is unverified.
  bool udp_unchecked = false;
  uint16_t udp_src_port = 0;
  uint16_t udp_dst_port = 0;

  // What follows the last parsed header (ICMP echo data, UDP payload).
  size_t payload_offset = 0;
  size_t payload_length = 0;
};

struct ParseOptions {
  // Clear these when the port has already verified the checksums (RX
  // offload) so that the parser does not read the payload twice.
  bool verify_ipv4_checksum = true;
  bool verify_l4_checksum = true;
};

// Fills `out` and returns kNone, or returns why the frame must be dropped
// (then `out` holds whatever was parsed before the problem).
DropReason ParseFrame(absl::Span<const uint8_t> frame,
                      const ParseOptions& options, ParsedFrame* out);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_FRAME_PARSER_H_

#include "dataplane/net/frame_parser.h"

#include <cstring>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/wire.h"

namespace ferry::net {
namespace {

MacAddress LoadMac(const uint8_t* p) {
  MacAddress mac;
  std::memcpy(mac.bytes.data(), p, mac.bytes.size());
  return mac;
}

DropReason ParseArp(absl::Span<const uint8_t> frame, ParsedFrame* out) {
  if (frame.size() < kEtherHeaderSize + kArpSize) {
    return DropReason::kTruncatedArp;
  }
  const uint8_t* arp = frame.data() + kEtherHeaderSize;
  if (LoadBe16(arp + kArpHtypeOffset) != kArpHtypeEthernet ||
      LoadBe16(arp + kArpPtypeOffset) != kEtherTypeIpv4 ||
      arp[kArpHlenOffset] != 6 || arp[kArpPlenOffset] != 4) {
    return DropReason::kBadArpFormat;
  }
  out->arp_op = LoadBe16(arp + kArpOpOffset);
  if (out->arp_op != kArpOpRequest && out->arp_op != kArpOpReply) {
    return DropReason::kBadArpOperation;
  }
  out->arp_sender_mac = LoadMac(arp + kArpSenderMacOffset);
  out->arp_sender_ip = Ipv4Address{LoadBe32(arp + kArpSenderIpOffset)};
  out->arp_target_mac = LoadMac(arp + kArpTargetMacOffset);
  out->arp_target_ip = Ipv4Address{LoadBe32(arp + kArpTargetIpOffset)};
  return DropReason::kNone;
}

DropReason ParseIcmp(absl::Span<const uint8_t> l4, const ParseOptions& options,
                     ParsedFrame* out) {
  if (l4.size() < kIcmpEchoHeaderSize) return DropReason::kTruncatedIcmp;
  if (options.verify_l4_checksum && InternetChecksum(l4) != 0) {
    return DropReason::kBadIcmpChecksum;
  }
  out->icmp_type = l4[kIcmpTypeOffset];
  out->icmp_code = l4[kIcmpCodeOffset];
  out->icmp_id = LoadBe16(&l4[kIcmpIdOffset]);
  out->icmp_seq = LoadBe16(&l4[kIcmpSeqOffset]);
  out->payload_offset = out->l4_offset + kIcmpEchoHeaderSize;
  out->payload_length = l4.size() - kIcmpEchoHeaderSize;
  return DropReason::kNone;
}

DropReason ParseUdp(absl::Span<const uint8_t> l4, const ParseOptions& options,
                    ParsedFrame* out) {
  if (l4.size() < kUdpHeaderSize) return DropReason::kTruncatedUdp;
  const uint16_t udp_length = LoadBe16(&l4[kUdpLengthOffset]);
  // The UDP length must cover its header and agree with the IPv4 length.
  if (udp_length < kUdpHeaderSize || udp_length != l4.size()) {
    return DropReason::kBadUdpLength;
  }
  const uint16_t checksum = LoadBe16(&l4[kUdpChecksumOffset]);
  // Zero means the sender computed none (allowed over IPv4; a transport
  // may refuse such datagrams).
  out->udp_unchecked = options.verify_l4_checksum && checksum == 0;
  if (options.verify_l4_checksum && checksum != 0) {
    const uint32_t sum =
        UdpPseudoHeaderSum(out->ip_src, out->ip_dst, udp_length);
    if (ChecksumFinish(ChecksumAdd(sum, l4)) != 0) {
      return DropReason::kBadUdpChecksum;
    }
  }
  out->udp_src_port = LoadBe16(&l4[kUdpSrcPortOffset]);
  out->udp_dst_port = LoadBe16(&l4[kUdpDstPortOffset]);
  out->payload_offset = out->l4_offset + kUdpHeaderSize;
  out->payload_length = udp_length - kUdpHeaderSize;
  return DropReason::kNone;
}

DropReason ParseIpv4(absl::Span<const uint8_t> frame,
                     const ParseOptions& options, ParsedFrame* out) {
  if (frame.size() < kEtherHeaderSize + kIpv4HeaderSize) {
    return DropReason::kTruncatedIpv4;
  }
  const uint8_t* ip = frame.data() + kEtherHeaderSize;
  const uint8_t version = ip[kIpv4VersionIhlOffset] >> 4;
  const size_t header_size = size_t{ip[kIpv4VersionIhlOffset] & 0x0fu} * 4;
  if (version != 4) return DropReason::kBadIpv4Version;
  // Ferry's peers never send options; anything else is not for us.
  if (header_size != kIpv4HeaderSize) return DropReason::kIpv4Options;
  const uint16_t total_length = LoadBe16(ip + kIpv4TotalLengthOffset);
  // Frames may carry Ethernet padding after the datagram, never less.
  if (total_length < header_size ||
      total_length > frame.size() - kEtherHeaderSize) {
    return DropReason::kBadIpv4TotalLength;
  }
  if (options.verify_ipv4_checksum &&
      InternetChecksum(absl::MakeConstSpan(ip, header_size)) != 0) {
    return DropReason::kBadIpv4Checksum;
  }
  const uint16_t flags_frag = LoadBe16(ip + kIpv4FlagsFragOffset);
  if ((flags_frag & (kIpv4FlagMoreFragments | kIpv4FragmentOffsetMask)) != 0) {
    return DropReason::kIpv4Fragment;
  }
  out->ip_total_length = total_length;
  out->ip_ttl = ip[kIpv4TtlOffset];
  out->ip_protocol = ip[kIpv4ProtocolOffset];
  out->ip_src = Ipv4Address{LoadBe32(ip + kIpv4SrcOffset)};
  out->ip_dst = Ipv4Address{LoadBe32(ip + kIpv4DstOffset)};
  // A reply to a zero, multicast or limited-broadcast source would go nowhere
  // or everywhere.
  const uint32_t src = out->ip_src.value;
  if (src == 0 || (src >> 28) == 0xe || src == 0xffffffff) {
    return DropReason::kBadIpv4Source;
  }
  out->l4_offset = kEtherHeaderSize + header_size;
  const absl::Span<const uint8_t> l4 =
      frame.subspan(out->l4_offset, total_length - header_size);
  switch (out->ip_protocol) {
    case kIpProtoIcmp:
      return ParseIcmp(l4, options, out);
    case kIpProtoUdp:
      return ParseUdp(l4, options, out);
    default:
      return DropReason::kUnsupportedIpProtocol;
  }
}

}  // namespace

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
#define FERRY_DROP_REASON_CASE(name, label) \
  case DropReason::name:                    \
    return label;
      FERRY_DROP_REASONS(FERRY_DROP_REASON_CASE)
#undef FERRY_DROP_REASON_CASE
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

DropReason ParseFrame(absl::Span<const uint8_t> frame,
                      const ParseOptions& options, ParsedFrame* out) {
  if (frame.size() < kEtherHeaderSize) return DropReason::kTruncatedEthernet;
  out->eth_dst = LoadMac(frame.data() + kEtherDstOffset);
  out->eth_src = LoadMac(frame.data() + kEtherSrcOffset);
  out->ether_type = LoadBe16(frame.data() + kEtherTypeOffset);
  switch (out->ether_type) {
    case kEtherTypeArp:
      return ParseArp(frame, out);
    case kEtherTypeIpv4:
      return ParseIpv4(frame, options, out);
    case kEtherTypeVlan:
      return DropReason::kVlanTagged;
    default:
      return DropReason::kUnsupportedEtherType;
  }
}

}  // namespace ferry::net

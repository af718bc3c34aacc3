#include "dataplane/net/frame_builder.h"

#include <algorithm>
#include <cstring>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/wire.h"

namespace ferry::net {
namespace {

using frame_builder_internal::StoreMac;
using frame_builder_internal::WriteEther;

// Pads a frame of `length` bytes to the Ethernet minimum; returns the padded
// length, or 0 when `out` cannot hold it.
size_t PadFrame(absl::Span<uint8_t> out, size_t length) {
  const size_t padded = std::max(length, kEtherMinFrameSize);
  if (padded > out.size()) return 0;
  std::memset(out.data() + length, 0, padded - length);
  return padded;
}

void SetIpv4Checksum(uint8_t* ip) {
  StoreBe16(ip + kIpv4ChecksumOffset, 0);
  StoreBe16(ip + kIpv4ChecksumOffset,
            InternetChecksum(absl::MakeConstSpan(ip, kIpv4HeaderSize)));
}

}  // namespace

size_t BuildArp(absl::Span<uint8_t> out, const ArpFrame& arp) {
  const size_t length = kEtherHeaderSize + kArpSize;
  if (out.size() < std::max(length, kEtherMinFrameSize)) return 0;
  uint8_t* p = out.data();
  WriteEther(p, arp.eth_dst, arp.sender_mac, kEtherTypeArp);
  uint8_t* a = p + kEtherHeaderSize;
  StoreBe16(a + kArpHtypeOffset, kArpHtypeEthernet);
  StoreBe16(a + kArpPtypeOffset, kEtherTypeIpv4);
  a[kArpHlenOffset] = 6;
  a[kArpPlenOffset] = 4;
  StoreBe16(a + kArpOpOffset, arp.op);
  StoreMac(a + kArpSenderMacOffset, arp.sender_mac);
  StoreBe32(a + kArpSenderIpOffset, arp.sender_ip.value);
  StoreMac(a + kArpTargetMacOffset, arp.target_mac);
  StoreBe32(a + kArpTargetIpOffset, arp.target_ip.value);
  return PadFrame(out, length);
}

size_t BuildIcmpEcho(absl::Span<uint8_t> out, const Ipv4Endpoints& ends,
                     const IcmpEcho& echo) {
  const size_t l4_length = kIcmpEchoHeaderSize + echo.data.size();
  const size_t l4 = WriteEtherIpv4(out, ends, kIpProtoIcmp, echo.ip_id,
                                   l4_length, echo.ipv4_checksum_in_software);
  if (l4 == 0) return 0;
  uint8_t* icmp = out.data() + l4;
  icmp[kIcmpTypeOffset] = echo.type;
  icmp[kIcmpCodeOffset] = 0;
  StoreBe16(icmp + kIcmpChecksumOffset, 0);
  StoreBe16(icmp + kIcmpIdOffset, echo.id);
  StoreBe16(icmp + kIcmpSeqOffset, echo.seq);
  if (!echo.data.empty()) {
    std::memcpy(icmp + kIcmpEchoHeaderSize, echo.data.data(), echo.data.size());
  }
  StoreBe16(icmp + kIcmpChecksumOffset,
            InternetChecksum(absl::MakeConstSpan(icmp, l4_length)));
  return PadFrame(out, l4 + l4_length);
}

size_t TurnArpRequestIntoReply(absl::Span<uint8_t> frame,
                               const ParsedFrame& request, MacAddress my_mac) {
  uint8_t* p = frame.data();
  WriteEther(p, request.arp_sender_mac, my_mac, kEtherTypeArp);
  uint8_t* a = p + kEtherHeaderSize;
  StoreBe16(a + kArpOpOffset, kArpOpReply);
  StoreMac(a + kArpSenderMacOffset, my_mac);
  StoreBe32(a + kArpSenderIpOffset, request.arp_target_ip.value);
  StoreMac(a + kArpTargetMacOffset, request.arp_sender_mac);
  StoreBe32(a + kArpTargetIpOffset, request.arp_sender_ip.value);
  return frame.size();
}

size_t TurnIcmpEchoRequestIntoReply(absl::Span<uint8_t> frame,
                                    const ParsedFrame& request,
                                    MacAddress my_mac) {
  uint8_t* p = frame.data();
  WriteEther(p, request.eth_src, my_mac, kEtherTypeIpv4);
  uint8_t* ip = p + kEtherHeaderSize;
  StoreBe32(ip + kIpv4SrcOffset, request.ip_dst.value);
  StoreBe32(ip + kIpv4DstOffset, request.ip_src.value);
  ip[kIpv4TtlOffset] = kIpv4DefaultTtl;
  SetIpv4Checksum(ip);
  uint8_t* icmp = p + request.l4_offset;
  const size_t icmp_length = request.ip_total_length - kIpv4HeaderSize;
  icmp[kIcmpTypeOffset] = kIcmpTypeEchoReply;
  StoreBe16(icmp + kIcmpChecksumOffset, 0);
  StoreBe16(icmp + kIcmpChecksumOffset,
            InternetChecksum(absl::MakeConstSpan(icmp, icmp_length)));
  return frame.size();
}

}  // namespace ferry::net

#include "dataplane/net/ferry_segment_builder.h"

#include <cstring>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/wire.h"

namespace ferry::net {
namespace {

constexpr size_t kUdpOffset = kEtherHeaderSize + kIpv4HeaderSize;

size_t UdpLength(uint32_t payload_length) {
  return kUdpHeaderSize + kFerryHeaderSize + payload_length;
}

}  // namespace

size_t StartFerrySegment(absl::Span<uint8_t> out,
                         const FerrySegmentAddress& address,
                         const FerryHeader& header, uint32_t payload_length) {
  const size_t udp_length = UdpLength(payload_length);
  if (udp_length > 0xffff) return 0;
  const size_t l4 =
      WriteEtherIpv4(out, address.ends, kIpProtoUdp, address.ip_id, udp_length,
                     address.ipv4_checksum_in_software);
  if (l4 == 0) return 0;
  uint8_t* udp = out.data() + l4;
  StoreBe16(udp + kUdpSrcPortOffset, address.src_port);
  StoreBe16(udp + kUdpDstPortOffset, address.dst_port);
  StoreBe16(udp + kUdpLengthOffset, static_cast<uint16_t>(udp_length));
  StoreBe16(udp + kUdpChecksumOffset, 0);
  WriteFerryHeader(absl::MakeSpan(udp + kUdpHeaderSize, kFerryHeaderSize),
                   header);
  return l4 + kUdpHeaderSize + kFerryHeaderSize;
}

size_t FinishFerrySegment(absl::Span<uint8_t> out,
                          const FerrySegmentAddress& address,
                          uint32_t payload_length) {
  const size_t udp_length = UdpLength(payload_length);
  uint8_t* udp = out.data() + kUdpOffset;
  if (address.udp_checksum) {
    StoreBe16(udp + kUdpChecksumOffset,
              UdpChecksum(address.ends.ip_src, address.ends.ip_dst,
                          absl::MakeConstSpan(udp, udp_length)));
  }
  return kUdpOffset + udp_length;
}

size_t FinishFerrySegmentBeside(absl::Span<uint8_t> out,
                                const FerrySegmentAddress& address,
                                const FerryHeader& header,
                                uint32_t payload_length, uint32_t payload_sum) {
  const size_t udp_length = UdpLength(payload_length);
  static_assert((kUdpHeaderSize + kFerryHeaderSize) % 2 == 0,
                "the payload starts at an even offset of the datagram");
  uint8_t* udp = out.data() + kUdpOffset;
  // The UDP header's words (its checksum still 0) and the Ferry header's,
  // from the values StartFerrySegment wrote: each term is under 2^21.
  uint64_t sum =
      uint64_t{UdpPseudoHeaderSum(address.ends.ip_src, address.ends.ip_dst,
                                  static_cast<uint16_t>(udp_length))} +
      address.src_port + address.dst_port + udp_length +
      FerryHeaderSum(header) + payload_sum;
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  const uint16_t checksum = ChecksumFinish(static_cast<uint32_t>(sum));
  StoreBe16(udp + kUdpChecksumOffset, checksum == 0 ? 0xffff : checksum);
  return kUdpOffset + udp_length;
}

size_t BuildFerrySegment(absl::Span<uint8_t> out,
                         const FerrySegmentAddress& address,
                         const FerryHeader& header,
                         absl::Span<const uint8_t> payload) {
  const uint32_t length = static_cast<uint32_t>(payload.size());
  const size_t at = StartFerrySegment(out, address, header, length);
  if (at == 0) return 0;
  if (length > 0) std::memcpy(out.data() + at, payload.data(), length);
  return FinishFerrySegment(out, address, length);
}

}  // namespace ferry::net

// Builds a Ferry segment: Ethernet, IPv4, UDP, the Ferry header and its
// payload, with the UDP checksum that covers header and payload (the Ferry
// header has none of its own).
//
// In two steps, so that the engine writes the payload straight from where
// it lies (an application's buffers, a kept message) with no copy in
// between: StartFerrySegment writes the headers and returns where the
// payload goes; the caller writes `payload_length` bytes there;
// FinishFerrySegment sets the UDP checksum and returns the frame length.
// FinishFerrySegmentBeside does it for a payload kept elsewhere.
// BuildFerrySegment does both around a payload it is given (tests, tools).
#ifndef FERRY_DATAPLANE_NET_FERRY_SEGMENT_BUILDER_H_
#define FERRY_DATAPLANE_NET_FERRY_SEGMENT_BUILDER_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"

namespace ferry::net {

struct FerrySegmentAddress {
  Ipv4Endpoints ends;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t ip_id = 0;
  // False when the port fills in the IPv4 header checksum (TX offload).
  bool ipv4_checksum_in_software = true;
  // False: the UDP checksum stays 0 ("none", allowed over IPv4), for a
  // sealed segment whose AEAD tag covers more than the checksum would.
  bool udp_checksum = true;
};

// The steps below run for every segment sent, from other translation
// units: defined here, to be inlined.
namespace ferry_segment_internal {

inline constexpr size_t kUdpOffset = kEtherHeaderSize + kIpv4HeaderSize;

inline size_t UdpLength(uint32_t payload_length) {
  return kUdpHeaderSize + kFerryHeaderSize + payload_length;
}

}  // namespace ferry_segment_internal

// Returns the payload's offset in `out`, or 0 when the segment does not fit.
inline size_t StartFerrySegment(absl::Span<uint8_t> out,
                                const FerrySegmentAddress& address,
                                const FerryHeader& header,
                                uint32_t payload_length) {
  const size_t udp_length = ferry_segment_internal::UdpLength(payload_length);
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

// After the payload is in place: the UDP checksum. Returns the frame length.
inline size_t FinishFerrySegment(absl::Span<uint8_t> out,
                                 const FerrySegmentAddress& address,
                                 uint32_t payload_length) {
  const size_t udp_length = ferry_segment_internal::UdpLength(payload_length);
  uint8_t* udp = out.data() + ferry_segment_internal::kUdpOffset;
  if (address.udp_checksum) {
    StoreBe16(udp + kUdpChecksumOffset,
              UdpChecksum(address.ends.ip_src, address.ends.ip_dst,
                          absl::MakeConstSpan(udp, udp_length)));
  }
  return ferry_segment_internal::kUdpOffset + udp_length;
}

// The same when the payload is not in `out` but goes out beside it (the
// engine's zero-copy transmit) or was summed as it was written:
// `payload_sum` is the payload's ChecksumAdd from 0, and `header` the one
// StartFerrySegment wrote (the headers are summed from their values).
// Returns the frame length, payload included.
inline size_t FinishFerrySegmentBeside(absl::Span<uint8_t> out,
                                       const FerrySegmentAddress& address,
                                       const FerryHeader& header,
                                       uint32_t payload_length,
                                       uint32_t payload_sum) {
  const size_t udp_length = ferry_segment_internal::UdpLength(payload_length);
  static_assert((kUdpHeaderSize + kFerryHeaderSize) % 2 == 0,
                "the payload starts at an even offset of the datagram");
  uint8_t* udp = out.data() + ferry_segment_internal::kUdpOffset;
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
  return ferry_segment_internal::kUdpOffset + udp_length;
}

// Both steps around `payload`; 0 when it does not fit.
size_t BuildFerrySegment(absl::Span<uint8_t> out,
                         const FerrySegmentAddress& address,
                         const FerryHeader& header,
                         absl::Span<const uint8_t> payload);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_FERRY_SEGMENT_BUILDER_H_

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
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/frame_builder.h"

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

// Returns the payload's offset in `out`, or 0 when the segment does not fit.
size_t StartFerrySegment(absl::Span<uint8_t> out,
                         const FerrySegmentAddress& address,
                         const FerryHeader& header, uint32_t payload_length);

// After the payload is in place: the UDP checksum. Returns the frame length.
size_t FinishFerrySegment(absl::Span<uint8_t> out,
                          const FerrySegmentAddress& address,
                          uint32_t payload_length);

// The same when the payload is not in `out` but goes out beside it (the
// engine's zero-copy transmit) or was summed as it was written:
// `payload_sum` is the payload's ChecksumAdd from 0, and `header` the one
// StartFerrySegment wrote (the headers are summed from their values).
// Returns the frame length, payload included.
size_t FinishFerrySegmentBeside(absl::Span<uint8_t> out,
                                const FerrySegmentAddress& address,
                                const FerryHeader& header,
                                uint32_t payload_length, uint32_t payload_sum);

// Both steps around `payload`; 0 when it does not fit.
size_t BuildFerrySegment(absl::Span<uint8_t> out,
                         const FerrySegmentAddress& address,
                         const FerryHeader& header,
                         absl::Span<const uint8_t> payload);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_FERRY_SEGMENT_BUILDER_H_

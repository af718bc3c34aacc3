// The Internet checksum (RFC 1071) for IPv4 headers, ICMP and UDP.
#ifndef FERRY_DATAPLANE_NET_CHECKSUM_H_
#define FERRY_DATAPLANE_NET_CHECKSUM_H_

#include <cstdint>

#include "absl/types/span.h"
#include "dataplane/net/addresses.h"

namespace ferry::net {

// Adds `data` to a running 32-bit ones'-complement accumulator. Byte spans of
// odd length are padded with a zero byte, as RFC 1071 says.
uint32_t ChecksumAdd(uint32_t sum, absl::Span<const uint8_t> data);

// Adds `data` as if `offset` bytes had been added before it: after an odd
// count its bytes fall in the other halves of the 16-bit words, and the sum
// is the byte-swapped one (RFC 1071 section 2(B)). For data in pieces.
uint32_t ChecksumAddAt(uint32_t sum, absl::Span<const uint8_t> data,
                       size_t offset);

// Copies `src` to `dst` (which must not overlap it) and returns what
// ChecksumAddAt(sum, src, offset) would: with AVX-512 in one pass over the
// bytes, so that a payload copied into a frame is summed as it goes.
uint32_t ChecksumCopyAt(uint32_t sum, uint8_t* dst,
                        absl::Span<const uint8_t> src, size_t offset);

// Testing: the widest instructions the sums may use (0 scalar, 1 AVX2,
// 2 AVX-512BW), where the CPU has them. Returns the limit before.
int LimitChecksumKernelForTesting(int widest);

// Folds the accumulator and complements it: the value to store in a header.
uint16_t ChecksumFinish(uint32_t sum);

// Checksum of `data` alone (IPv4 header, ICMP message). Verifying a region
// that includes its own checksum field yields 0 when it is intact.
inline uint16_t InternetChecksum(absl::Span<const uint8_t> data) {
  return ChecksumFinish(ChecksumAdd(0, data));
}

// Accumulator seeded with the IPv4 pseudo-header of a UDP datagram of
// `udp_length` bytes; add the datagram itself to verify or compute.
uint32_t UdpPseudoHeaderSum(Ipv4Address src, Ipv4Address dst,
                            uint16_t udp_length);

// UDP checksum over the IPv4 pseudo-header and `udp` (header plus payload,
// with the checksum field as it currently is). A computed 0 is sent as 0xffff.
uint16_t UdpChecksum(Ipv4Address src, Ipv4Address dst,
                     absl::Span<const uint8_t> udp);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_CHECKSUM_H_

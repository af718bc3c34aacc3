// The Internet checksum (RFC 1071) for IPv4 headers, ICMP and UDP.
#ifndef FERRY_DATAPLANE_NET_CHECKSUM_H_
#define FERRY_DATAPLANE_NET_CHECKSUM_H_

#include <cstdint>
#include <cstring>

#include "absl/types/span.h"
#include "dataplane/net/addresses.h"
#include "dataplane/net/wire.h"

namespace ferry::net {

// The sums below run for every frame sent and received, from other
// translation units: short ones (headers) are defined here to be inlined.
namespace checksum_internal {

// The folds below take a fixed number of steps, each enough for the
// largest value it can get, instead of looping while a carry is left: no
// branch that depends on the data.

// Folds a 64-bit end-around sum to 16 bits.
inline uint32_t Fold64To16(uint64_t acc) {
  acc = (acc & 0xffffffff) + (acc >> 32);  // < 2^33
  acc = (acc & 0xffffffff) + (acc >> 32);  // <= 2^32
  acc = (acc & 0xffff) + (acc >> 16);      // < 2^17
  acc = (acc & 0xffff) + (acc >> 16);      // <= 2^16
  acc = (acc & 0xffff) + (acc >> 16);      // < 2^16
  return static_cast<uint32_t>(acc);
}

// Adds `value` (at most 48 bits) to a 32-bit accumulator, end-around carry.
inline uint32_t AddToSum(uint32_t sum, uint64_t value) {
  uint64_t total = uint64_t{sum} + value;        // < 2^49
  total = (total & 0xffffffff) + (total >> 32);  // < 2^32 + 2^17
  total = (total & 0xffffffff) + (total >> 32);  // < 2^32
  return static_cast<uint32_t>(total);
}

// Folds a 64-bit sum of native-order words to 16 bits, end-around, and
// adds it to `sum` as a big-endian word sum (RFC 1071 section 2(B): the
// byte order is fixed once, at the end).
inline uint32_t AddNativeSum(uint32_t sum, uint64_t acc) {
  uint32_t folded = Fold64To16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  folded = ((folded & 0xff) << 8) | (folded >> 8);
#endif
  return AddToSum(sum, folded);
}

// RFC 1071 section 2: the ones'-complement sum does not depend on byte
// order, so native words are summed wide (eight bytes per step, carries
// kept in the upper half of a 64-bit accumulator) and the folded result is
// byte-swapped once at the end on a little-endian host.
inline uint32_t ChecksumAddScalar(uint32_t sum, const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, sizeof(w));
    acc += (w[0] & 0xffffffff) + (w[0] >> 32) + (w[1] & 0xffffffff) +
           (w[1] >> 32) + (w[2] & 0xffffffff) + (w[2] >> 32) +
           (w[3] & 0xffffffff) + (w[3] >> 32);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    acc += (w & 0xffffffff) + (w >> 32);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, sizeof(w));
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, sizeof(w));
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd byte is the high half of a zero-padded big-endian word.
    uint8_t padded[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, padded, sizeof(w));
    acc += w;
  }
  return AddNativeSum(sum, acc);
}

// ChecksumAdd for 64 bytes or more: with the widest vectors the CPU has.
uint32_t ChecksumAddWide(uint32_t sum, const uint8_t* p, size_t n);

}  // namespace checksum_internal

// Adds `data` to a running 32-bit ones'-complement accumulator. Byte spans of
// odd length are padded with a zero byte, as RFC 1071 says.
inline uint32_t ChecksumAdd(uint32_t sum, absl::Span<const uint8_t> data) {
  // Headers (20-56 bytes) stay scalar: the vector set-up would not pay.
  if (data.size() >= 64) {
    return checksum_internal::ChecksumAddWide(sum, data.data(), data.size());
  }
  return checksum_internal::ChecksumAddScalar(sum, data.data(), data.size());
}

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
inline uint16_t ChecksumFinish(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);  // < 2^17
  sum = (sum & 0xffff) + (sum >> 16);  // < 2^16
  return static_cast<uint16_t>(~sum);
}

// Checksum of `data` alone (IPv4 header, ICMP message). Verifying a region
// that includes its own checksum field yields 0 when it is intact.
inline uint16_t InternetChecksum(absl::Span<const uint8_t> data) {
  return ChecksumFinish(ChecksumAdd(0, data));
}

// Accumulator seeded with the IPv4 pseudo-header of a UDP datagram of
// `udp_length` bytes; add the datagram itself to verify or compute.
inline uint32_t UdpPseudoHeaderSum(Ipv4Address src, Ipv4Address dst,
                                   uint16_t udp_length) {
  return (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) +
         (dst.value & 0xffff) + kIpProtoUdp + udp_length;
}

// UDP checksum over the IPv4 pseudo-header and `udp` (header plus payload,
// with the checksum field as it currently is). A computed 0 is sent as 0xffff.
uint16_t UdpChecksum(Ipv4Address src, Ipv4Address dst,
                     absl::Span<const uint8_t> udp);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_CHECKSUM_H_

#include "dataplane/net/checksum.h"

#include <cstring>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/wire.h"

namespace ferry::net {

uint32_t ChecksumAdd(uint32_t sum, absl::Span<const uint8_t> data) {
  // RFC 1071 section 2: the ones'-complement sum does not depend on byte
  // order, so native words are summed wide (eight bytes per step, carries
  // kept in the upper half of a 64-bit accumulator) and the folded result
  // is byte-swapped once at the end on a little-endian host.
  const uint8_t* p = data.data();
  size_t n = data.size();
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
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint32_t folded = static_cast<uint32_t>(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  folded = ((folded & 0xff) << 8) | (folded >> 8);
#endif
  uint64_t total = uint64_t{sum} + folded;
  while (total >> 32) total = (total & 0xffffffff) + (total >> 32);
  return static_cast<uint32_t>(total);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t UdpPseudoHeaderSum(Ipv4Address src, Ipv4Address dst,
                            uint16_t udp_length) {
  return (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) +
         (dst.value & 0xffff) + kIpProtoUdp + udp_length;
}

uint16_t UdpChecksum(Ipv4Address src, Ipv4Address dst,
                     absl::Span<const uint8_t> udp) {
  const uint32_t sum =
      UdpPseudoHeaderSum(src, dst, static_cast<uint16_t>(udp.size()));
  const uint16_t result = ChecksumFinish(ChecksumAdd(sum, udp));
  return result == 0 ? 0xffff : result;
}

}  // namespace ferry::net

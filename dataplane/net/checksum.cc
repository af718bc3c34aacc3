#include "dataplane/net/checksum.h"

#include "dataplane/net/byte_order.h"
#include "dataplane/net/wire.h"

namespace ferry::net {

uint32_t ChecksumAdd(uint32_t sum, absl::Span<const uint8_t> data) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) acc += LoadBe16(&data[i]);
  if (i < data.size()) acc += uint32_t{data[i]} << 8;
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return static_cast<uint32_t>(acc);
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

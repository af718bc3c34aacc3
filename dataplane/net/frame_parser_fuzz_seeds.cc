// Well-formed frames for the frame parser's fuzz driver to mutate.
#include <vector>

#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"

std::vector<std::vector<uint8_t>> FerryFuzzSeeds() {
  using namespace ferry::net;
  const MacAddress a = {{0x02, 0, 0, 0, 0, 0x0a}};
  const MacAddress b = {{0x02, 0, 0, 0, 0, 0x0b}};
  const Ipv4Address ip_a{0x0a000001};
  const Ipv4Address ip_b{0x0a000002};
  std::vector<std::vector<uint8_t>> seeds;

  std::vector<uint8_t> arp(64);
  arp.resize(BuildArp(
      absl::MakeSpan(arp),
      {kArpOpRequest, MacAddress::Broadcast(), a, ip_a, MacAddress{}, ip_b}));
  seeds.push_back(arp);

  std::vector<uint8_t> data(64, 0x5a);
  std::vector<uint8_t> echo(256);
  echo.resize(BuildIcmpEcho(absl::MakeSpan(echo), {a, b, ip_a, ip_b},
                            {kIcmpTypeEchoRequest, 1, 1, 1, data}));
  seeds.push_back(echo);

  std::vector<uint8_t> udp(256);
  const size_t udp_length = kUdpHeaderSize + data.size();
  const size_t l4 = WriteEtherIpv4(absl::MakeSpan(udp), {a, b, ip_a, ip_b},
                                   kIpProtoUdp, 1, udp_length, true);
  StoreBe16(&udp[l4 + kUdpSrcPortOffset], 1000);
  StoreBe16(&udp[l4 + kUdpDstPortOffset], 2000);
  StoreBe16(&udp[l4 + kUdpLengthOffset], static_cast<uint16_t>(udp_length));
  std::copy(data.begin(), data.end(), udp.begin() + l4 + kUdpHeaderSize);
  StoreBe16(&udp[l4 + kUdpChecksumOffset],
            UdpChecksum(ip_a, ip_b, absl::MakeConstSpan(&udp[l4], udp_length)));
  udp.resize(l4 + udp_length);
  seeds.push_back(udp);

  // A Ferry DATA segment.
  std::vector<uint8_t> ferry(256);
  const size_t ferry_udp_length = kUdpHeaderSize + kFerryHeaderSize + 16;
  const size_t fl4 = WriteEtherIpv4(absl::MakeSpan(ferry), {a, b, ip_a, ip_b},
                                    kIpProtoUdp, 2, ferry_udp_length, true);
  StoreBe16(&ferry[fl4 + kUdpSrcPortOffset], 40000);
  StoreBe16(&ferry[fl4 + kUdpDstPortOffset], 40001);
  StoreBe16(&ferry[fl4 + kUdpLengthOffset],
            static_cast<uint16_t>(ferry_udp_length));
  StoreBe16(&ferry[fl4 + kUdpChecksumOffset], 0);
  FerryHeader header;
  header.type = FerryPacketType::kData;
  header.flags = kFerryFlagFirstSegment | kFerryFlagLastSegment;
  header.seq = 7;
  header.message_length = 16;
  WriteFerryHeader(
      absl::MakeSpan(&ferry[fl4 + kUdpHeaderSize], kFerryHeaderSize), header);
  ferry.resize(fl4 + ferry_udp_length);
  seeds.push_back(ferry);
  return seeds;
}

// Fuzz target for the frame parser and the in-place reply builders: every
// input must be parsed without reading out of bounds, an accepted frame's
// payload must lie inside it, and a reply built from an accepted request must
// parse again. libFuzzer entry point; fuzz_driver.cc runs it as a test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/net/ferry_header.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/frame_parser.h"
#include "dataplane/net/wire.h"

namespace {

const ferry::net::MacAddress kMyMac = {{0x02, 0, 0, 0, 0, 0x01}};

bool IsUnicast(ferry::net::Ipv4Address ip) {
  return ip.value != 0 && (ip.value >> 28) != 0xe && ip.value != 0xffffffff;
}

void Check(bool condition) {
  if (!condition) std::abort();
}

// Built with FERRY_FUZZ_NO_CHECKSUMS (the libFuzzer build), checksums are
// not verified, so that mutations get past them to the layers above; a
// reply is then only as valid as its request's checksums were.
ferry::net::ParseOptions FuzzOptions() {
  ferry::net::ParseOptions options;
#ifdef FERRY_FUZZ_NO_CHECKSUMS
  options.verify_ipv4_checksum = false;
  options.verify_l4_checksum = false;
#endif
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::net;
  // An exactly-sized copy: AddressSanitizer flags any read past the end.
  std::vector<uint8_t> frame(data, data + size);
  ParsedFrame parsed;
  if (ParseFrame(absl::MakeConstSpan(frame), FuzzOptions(), &parsed) !=
      DropReason::kNone) {
    return 0;
  }
  Check(parsed.payload_offset + parsed.payload_length <= frame.size());
  if (parsed.ether_type == kEtherTypeIpv4 &&
      parsed.ip_protocol == kIpProtoUdp) {
    // The Ferry header inside: parsed within the UDP payload only, and what
    // parses must write back identically.
    const absl::Span<const uint8_t> udp_payload = absl::MakeConstSpan(
        frame.data() + parsed.payload_offset, parsed.payload_length);
    FerryHeader header;
    size_t offset = 0;
    if (ParseFerryHeader(udp_payload, &header, &offset) ==
        FerryHeaderError::kNone) {
      Check(offset >= kFerryHeaderSize && offset <= udp_payload.size());
      uint8_t rewritten[kFerryHeaderSize];
      Check(WriteFerryHeader(absl::MakeSpan(rewritten), header) ==
            kFerryHeaderSize);
      FerryHeader again;
      size_t again_offset = 0;
      Check(ParseFerryHeader(rewritten, &again, &again_offset) ==
            FerryHeaderError::kNone);
      Check(again.seq == header.seq && again.sack == header.sack &&
            again.flags == header.flags);
    }
  }
  if (parsed.ether_type == kEtherTypeArp && parsed.arp_op == kArpOpRequest) {
    TurnArpRequestIntoReply(absl::MakeSpan(frame), parsed, kMyMac);
    ParsedFrame reply;
    Check(ParseFrame(absl::MakeConstSpan(frame), FuzzOptions(), &reply) ==
          DropReason::kNone);
    Check(reply.arp_op == kArpOpReply);
  } else if (parsed.ether_type == kEtherTypeIpv4 &&
             parsed.ip_protocol == kIpProtoIcmp &&
             parsed.icmp_type == kIcmpTypeEchoRequest &&
             IsUnicast(parsed.ip_dst)) {
    // (The engine answers only requests to its own, unicast, address.)
    TurnIcmpEchoRequestIntoReply(absl::MakeSpan(frame), parsed, kMyMac);
    ParsedFrame reply;
    Check(ParseFrame(absl::MakeConstSpan(frame), FuzzOptions(), &reply) ==
          DropReason::kNone);
    Check(reply.icmp_type == kIcmpTypeEchoReply);
    Check(reply.payload_length == parsed.payload_length);
  }
  return 0;
}

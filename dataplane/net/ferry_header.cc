#include "dataplane/net/ferry_header.h"

#include "dataplane/net/byte_order.h"

namespace ferry::net {
namespace {

// Byte offsets, as in the diagram in the header file.
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 2;
constexpr size_t kTypeOffset = 3;
constexpr size_t kFlagsOffset = 4;
constexpr size_t kHeaderLengthOffset = kFerryHeaderLengthOffset;
constexpr size_t kSrcFlowOffset = 8;
constexpr size_t kDstFlowOffset = 12;
constexpr size_t kSeqOffset = 16;
constexpr size_t kAckOffset = 20;
constexpr size_t kSackOffset = 24;
constexpr size_t kMessageLengthOffset = 32;
constexpr size_t kWindowOffset = 36;
constexpr size_t kTimestampOffset = 40;
constexpr size_t kEchoTimestampOffset = 44;
static_assert(kEchoTimestampOffset + 4 == kFerryHeaderSize);

uint64_t LoadBe64(const uint8_t* p) {
  return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4);
}

void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace

const char* FerryHeaderErrorName(FerryHeaderError error) {
  switch (error) {
    case FerryHeaderError::kNone:
      return "none";
    case FerryHeaderError::kTruncated:
      return "truncated_ferry_header";
    case FerryHeaderError::kBadMagic:
      return "bad_ferry_magic";
    case FerryHeaderError::kBadVersion:
      return "bad_ferry_version";
    case FerryHeaderError::kBadType:
      return "bad_ferry_type";
    case FerryHeaderError::kBadLength:
      return "bad_ferry_header_length";
    case FerryHeaderError::kUnknownFlags:
      return "unknown_ferry_flags";
  }
  return "unknown";
}

FerryHeaderError ParseFerryHeader(absl::Span<const uint8_t> udp_payload,
                                  FerryHeader* header, size_t* payload_offset) {
  // Magic and version first, so that a foreign packet is named as such.
  if (udp_payload.size() < 4) return FerryHeaderError::kTruncated;
  const uint8_t* p = udp_payload.data();
  if (LoadBe16(p + kMagicOffset) != kFerryMagic) {
    return FerryHeaderError::kBadMagic;
  }
  if (p[kVersionOffset] != kFerryVersion) return FerryHeaderError::kBadVersion;
  if (udp_payload.size() < kFerryHeaderSize) {
    return FerryHeaderError::kTruncated;
  }
  const uint8_t type = p[kTypeOffset];
  if (type < static_cast<uint8_t>(FerryPacketType::kSyn) ||
      type > static_cast<uint8_t>(FerryPacketType::kKeepalive)) {
    return FerryHeaderError::kBadType;
  }
  const size_t header_length = p[kHeaderLengthOffset];
  if (header_length < kFerryHeaderSize) return FerryHeaderError::kBadLength;
  if (header_length > udp_payload.size()) return FerryHeaderError::kTruncated;
  if ((p[kFlagsOffset] & ~kFerryKnownFlags) != 0) {
    return FerryHeaderError::kUnknownFlags;
  }
  header->type = static_cast<FerryPacketType>(type);
  header->flags = p[kFlagsOffset];
  header->src_flow = LoadBe32(p + kSrcFlowOffset);
  header->dst_flow = LoadBe32(p + kDstFlowOffset);
  header->seq = LoadBe32(p + kSeqOffset);
  header->ack = LoadBe32(p + kAckOffset);
  header->sack = LoadBe64(p + kSackOffset);
  header->message_length = LoadBe32(p + kMessageLengthOffset);
  header->window = LoadBe32(p + kWindowOffset);
  header->timestamp_us = LoadBe32(p + kTimestampOffset);
  header->echo_timestamp_us = LoadBe32(p + kEchoTimestampOffset);
  *payload_offset = header_length;
  return FerryHeaderError::kNone;
}

uint32_t PeekFerryDstFlow(absl::Span<const uint8_t> frame) {
  constexpr size_t kEthernetHeader = 14;
  constexpr size_t kUdpHeader = 8;
  if (frame.size() < kEthernetHeader + 20) return 0;
  const uint8_t* p = frame.data();
  if (LoadBe16(p + 12) != 0x0800 || p[kEthernetHeader + 9] != 17) return 0;
  const size_t ip_header = size_t{p[kEthernetHeader] & 0x0fu} * 4;
  const size_t offset = kEthernetHeader + ip_header + kUdpHeader;
  if (frame.size() < offset + kDstFlowOffset + 4) return 0;
  return LoadBe32(p + offset + kDstFlowOffset);
}

size_t WriteFerryHeader(absl::Span<uint8_t> out, const FerryHeader& header) {
  if (out.size() < kFerryHeaderSize) return 0;
  uint8_t* p = out.data();
  StoreBe16(p + kMagicOffset, kFerryMagic);
  p[kVersionOffset] = kFerryVersion;
  p[kTypeOffset] = static_cast<uint8_t>(header.type);
  p[kFlagsOffset] = header.flags;
  p[kHeaderLengthOffset] = static_cast<uint8_t>(kFerryHeaderSize);
  StoreBe16(p + 6, 0);
  StoreBe32(p + kSrcFlowOffset, header.src_flow);
  StoreBe32(p + kDstFlowOffset, header.dst_flow);
  StoreBe32(p + kSeqOffset, header.seq);
  StoreBe32(p + kAckOffset, header.ack);
  StoreBe64(p + kSackOffset, header.sack);
  StoreBe32(p + kMessageLengthOffset, header.message_length);
  StoreBe32(p + kWindowOffset, header.window);
  StoreBe32(p + kTimestampOffset, header.timestamp_us);
  StoreBe32(p + kEchoTimestampOffset, header.echo_timestamp_us);
  return kFerryHeaderSize;
}

uint32_t FerryHeaderSum(const FerryHeader& header) {
  const auto words = [](uint32_t value) {
    return (value >> 16) + (value & 0xffff);
  };
  // The words in WriteFerryHeader's order; 24 of them cannot carry out of
  // 32 bits.
  return kFerryMagic +
         ((uint32_t{kFerryVersion} << 8) | static_cast<uint8_t>(header.type)) +
         ((uint32_t{header.flags} << 8) | kFerryHeaderSize) + 0 +
         words(header.src_flow) + words(header.dst_flow) + words(header.seq) +
         words(header.ack) + words(static_cast<uint32_t>(header.sack >> 32)) +
         words(static_cast<uint32_t>(header.sack)) +
         words(header.message_length) + words(header.window) +
         words(header.timestamp_us) + words(header.echo_timestamp_us);
}

}  // namespace ferry::net

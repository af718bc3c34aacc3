// The Ferry transport header, carried in UDP between engines.
//
//   0               1               2               3
//   0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//  +---------------+---------------+---------------+---------------+
//  |     magic 0x4652 ("FR")       |   version 1   |     type      |
//  +---------------+---------------+---------------+---------------+
//  |     flags     | header length |           reserved            |
//  +---------------+---------------+---------------+---------------+
//  |                      source flow id                           |
//  +---------------------------------------------------------------+
//  |                   destination flow id                         |
//  +---------------------------------------------------------------+
//  |                     sequence number                           |
//  +---------------------------------------------------------------+
//  |                  acknowledgement number                       |
//  +---------------------------------------------------------------+
//  |            SACK bitmap: bit i = ack + 1 + i received          |
//  |                          (64 bits)                            |
//  +---------------------------------------------------------------+
//  |                 message length (bytes)                        |
//  +---------------------------------------------------------------+
//  |                receive window (segments)                      |
//  +---------------------------------------------------------------+
//  |               send timestamp (microseconds)                   |
//  +---------------------------------------------------------------+
//  |              echoed timestamp (microseconds)                  |
//  +---------------------------------------------------------------+
//
// All fields big-endian. 48 bytes; `header length` lets a later version
// append fields that older receivers skip. See docs/TRANSPORT.md for what
// each field is for.
#ifndef FERRY_DATAPLANE_NET_FERRY_HEADER_H_
#define FERRY_DATAPLANE_NET_FERRY_HEADER_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "dataplane/net/byte_order.h"

namespace ferry::net {

inline constexpr uint16_t kFerryMagic = 0x4652;
inline constexpr uint8_t kFerryVersion = 1;
inline constexpr size_t kFerryHeaderSize = 48;
// Where the header keeps its own length (a sealed segment says 56).
inline constexpr size_t kFerryHeaderLengthOffset = 5;

enum class FerryPacketType : uint8_t {
  kSyn = 1,
  kSynAck = 2,
  kData = 3,
  kAck = 4,
  kFin = 5,
  kRst = 6,
  kKeepalive = 7,
};

// flags
inline constexpr uint8_t kFerryFlagFirstSegment = 0x01;
inline constexpr uint8_t kFerryFlagLastSegment = 0x02;
inline constexpr uint8_t kFerryFlagAckNow = 0x04;  // ask for an immediate ACK
// An encrypted flow (dataplane/crypto/flow_crypto.h): a SYN or SYN-ACK
// carries the Noise handshake message as its payload; any other segment
// is sealed (8 more header bytes, then ciphertext and tag).
inline constexpr uint8_t kFerryFlagSecure = 0x08;
// On a RST that refuses a SYN: why.
inline constexpr uint8_t kFerryFlagUntrusted = 0x10;  // your key: not trusted
inline constexpr uint8_t kFerryFlagSecureRequired = 0x20;  // encrypt, or no
inline constexpr uint8_t kFerryKnownFlags = 0x3f;

struct FerryHeader {
  FerryPacketType type = FerryPacketType::kData;
  uint8_t flags = 0;
  uint32_t src_flow = 0;
  uint32_t dst_flow = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint64_t sack = 0;
  uint32_t message_length = 0;
  uint32_t window = 0;
  uint32_t timestamp_us = 0;
  uint32_t echo_timestamp_us = 0;
};

enum class FerryHeaderError : uint8_t {
  kNone = 0,
  kTruncated,     // fewer bytes than the header claims
  kBadMagic,      // not a Ferry packet
  kBadVersion,    // a version this engine does not speak
  kBadType,       // unknown packet type
  kBadLength,     // header length below the fixed part
  kUnknownFlags,  // flag bits this version does not define
};

const char* FerryHeaderErrorName(FerryHeaderError error);

// What follows runs for every segment, called from other translation
// units: defined here so that the callers inline it (a call costs about as
// much as the work).

// Byte offsets of the fields, as in the diagram above.
inline constexpr size_t kFerryMagicOffset = 0;
inline constexpr size_t kFerryVersionOffset = 2;
inline constexpr size_t kFerryTypeOffset = 3;
inline constexpr size_t kFerryFlagsOffset = 4;
inline constexpr size_t kFerrySrcFlowOffset = 8;
inline constexpr size_t kFerryDstFlowOffset = 12;
inline constexpr size_t kFerrySeqOffset = 16;
inline constexpr size_t kFerryAckOffset = 20;
inline constexpr size_t kFerrySackOffset = 24;
inline constexpr size_t kFerryMessageLengthOffset = 32;
inline constexpr size_t kFerryWindowOffset = 36;
inline constexpr size_t kFerryTimestampOffset = 40;
inline constexpr size_t kFerryEchoTimestampOffset = 44;
static_assert(kFerryEchoTimestampOffset + 4 == kFerryHeaderSize);

// Parses the header at the start of a UDP payload. On success sets
// *payload_offset to the first byte after the header (header length).
inline FerryHeaderError ParseFerryHeader(absl::Span<const uint8_t> udp_payload,
                                         FerryHeader* header,
                                         size_t* payload_offset) {
  // Magic and version first, so that a foreign packet is named as such.
  if (udp_payload.size() < 4) return FerryHeaderError::kTruncated;
  const uint8_t* p = udp_payload.data();
  if (LoadBe16(p + kFerryMagicOffset) != kFerryMagic) {
    return FerryHeaderError::kBadMagic;
  }
  if (p[kFerryVersionOffset] != kFerryVersion) {
    return FerryHeaderError::kBadVersion;
  }
  if (udp_payload.size() < kFerryHeaderSize) {
    return FerryHeaderError::kTruncated;
  }
  const uint8_t type = p[kFerryTypeOffset];
  if (type < static_cast<uint8_t>(FerryPacketType::kSyn) ||
      type > static_cast<uint8_t>(FerryPacketType::kKeepalive)) {
    return FerryHeaderError::kBadType;
  }
  const size_t header_length = p[kFerryHeaderLengthOffset];
  if (header_length < kFerryHeaderSize) return FerryHeaderError::kBadLength;
  if (header_length > udp_payload.size()) return FerryHeaderError::kTruncated;
  if ((p[kFerryFlagsOffset] & ~kFerryKnownFlags) != 0) {
    return FerryHeaderError::kUnknownFlags;
  }
  header->type = static_cast<FerryPacketType>(type);
  header->flags = p[kFerryFlagsOffset];
  header->src_flow = LoadBe32(p + kFerrySrcFlowOffset);
  header->dst_flow = LoadBe32(p + kFerryDstFlowOffset);
  header->seq = LoadBe32(p + kFerrySeqOffset);
  header->ack = LoadBe32(p + kFerryAckOffset);
  header->sack = LoadBe64(p + kFerrySackOffset);
  header->message_length = LoadBe32(p + kFerryMessageLengthOffset);
  header->window = LoadBe32(p + kFerryWindowOffset);
  header->timestamp_us = LoadBe32(p + kFerryTimestampOffset);
  header->echo_timestamp_us = LoadBe32(p + kFerryEchoTimestampOffset);
  *payload_offset = header_length;
  return FerryHeaderError::kNone;
}

// The destination flow id of an Ethernet frame that looks like an IPv4/UDP
// Ferry segment, read at fixed offsets without validating anything else; 0
// when the frame is too short or not IPv4/UDP. Only a hint for prefetching:
// the frame is parsed and checked properly afterwards.
inline uint32_t PeekFerryDstFlow(absl::Span<const uint8_t> frame) {
  constexpr size_t kEthernetHeader = 14;
  constexpr size_t kUdpHeader = 8;
  if (frame.size() < kEthernetHeader + 20) return 0;
  const uint8_t* p = frame.data();
  if (LoadBe16(p + 12) != 0x0800 || p[kEthernetHeader + 9] != 17) return 0;
  const size_t ip_header = size_t{p[kEthernetHeader] & 0x0fu} * 4;
  const size_t offset = kEthernetHeader + ip_header + kUdpHeader;
  if (frame.size() < offset + kFerryDstFlowOffset + 4) return 0;
  return LoadBe32(p + offset + kFerryDstFlowOffset);
}

// Writes the 48-byte header; returns kFerryHeaderSize, or 0 when `out` is
// too small.
inline size_t WriteFerryHeader(absl::Span<uint8_t> out,
                               const FerryHeader& header) {
  if (out.size() < kFerryHeaderSize) return 0;
  uint8_t* p = out.data();
  StoreBe16(p + kFerryMagicOffset, kFerryMagic);
  p[kFerryVersionOffset] = kFerryVersion;
  p[kFerryTypeOffset] = static_cast<uint8_t>(header.type);
  p[kFerryFlagsOffset] = header.flags;
  p[kFerryHeaderLengthOffset] = static_cast<uint8_t>(kFerryHeaderSize);
  StoreBe16(p + 6, 0);
  StoreBe32(p + kFerrySrcFlowOffset, header.src_flow);
  StoreBe32(p + kFerryDstFlowOffset, header.dst_flow);
  StoreBe32(p + kFerrySeqOffset, header.seq);
  StoreBe32(p + kFerryAckOffset, header.ack);
  StoreBe64(p + kFerrySackOffset, header.sack);
  StoreBe32(p + kFerryMessageLengthOffset, header.message_length);
  StoreBe32(p + kFerryWindowOffset, header.window);
  StoreBe32(p + kFerryTimestampOffset, header.timestamp_us);
  StoreBe32(p + kFerryEchoTimestampOffset, header.echo_timestamp_us);
  return kFerryHeaderSize;
}

// The ones'-complement sum of the 48 bytes WriteFerryHeader writes for
// `header` (ChecksumAdd from 0, up to folding), from the values: summing
// the bytes right after writing them would load them back before the
// narrower stores that wrote them retire, and such a load waits.
inline uint32_t FerryHeaderSum(const FerryHeader& header) {
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

#endif  // FERRY_DATAPLANE_NET_FERRY_HEADER_H_

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

// Parses the header at the start of a UDP payload. On success sets
// *payload_offset to the first byte after the header (header length).
FerryHeaderError ParseFerryHeader(absl::Span<const uint8_t> udp_payload,
                                  FerryHeader* header, size_t* payload_offset);

// The destination flow id of an Ethernet frame that looks like an IPv4/UDP
// Ferry segment, read at fixed offsets without validating anything else; 0
// when the frame is too short or not IPv4/UDP. Only a hint for prefetching:
// the frame is parsed and checked properly afterwards.
uint32_t PeekFerryDstFlow(absl::Span<const uint8_t> frame);

// Writes the 48-byte header; returns kFerryHeaderSize, or 0 when `out` is
// too small.
size_t WriteFerryHeader(absl::Span<uint8_t> out, const FerryHeader& header);

// The ones'-complement sum of the 48 bytes WriteFerryHeader writes for
// `header` (ChecksumAdd from 0, up to folding), from the values: summing
// the bytes right after writing them would load them back before the
// narrower stores that wrote them retire, and such a load waits.
uint32_t FerryHeaderSum(const FerryHeader& header);

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_FERRY_HEADER_H_

// Messages <-> segments: how a message of up to 8 MiB is cut into segments
// of at most `mss` payload bytes (first and last flagged, the message length
// in every segment), and how in-order segments are put back together.
//
// The reassembler is fed segments in sequence order (ReceiveTracker decides
// that order) and checks everything a peer could get wrong: a message that
// starts inside another, a continuation with no start, lengths that
// disagree or overflow. Its output goes to a sink (channel buffers in the
// engine; a vector in tests). No allocation.
#ifndef FERRY_DATAPLANE_TRANSPORT_MESSAGE_SEGMENTS_H_
#define FERRY_DATAPLANE_TRANSPORT_MESSAGE_SEGMENTS_H_

#include <cstdint>

#include "absl/types/span.h"

namespace ferry::transport {

inline constexpr uint32_t kMaxMessageBytes = 8u << 20;

// Payload bytes per segment for an IPv4 MTU: minus IPv4 (20), UDP (8) and
// the Ferry header (48).
inline constexpr uint32_t kSegmentOverheadBytes = 76;
// The smallest MTU flows run over: 576, the datagram every IPv4 host must
// take (RFC 791), gives 500-byte segments, so that an 8 MiB message is at
// most 16,778 segments. Below it a message would need ever more segments
// (and at 76 none would fit at all).
inline constexpr uint32_t kMinFlowMtu = 576;
inline constexpr uint32_t MssForMtu(uint32_t mtu) {
  return mtu < kMinFlowMtu ? kMinFlowMtu - kSegmentOverheadBytes
                           : mtu - kSegmentOverheadBytes;
}

struct SegmentSpan {
  uint32_t offset;  // into the message
  uint32_t length;
  bool first;
  bool last;
};

// Segments of a message of `length` bytes (a 0-byte message is one empty
// segment, first and last).
inline uint32_t SegmentCount(uint32_t length, uint32_t mss) {
  return length == 0 ? 1 : (length + mss - 1) / mss;
}

inline SegmentSpan SegmentAt(uint32_t length, uint32_t mss, uint32_t index) {
  const uint32_t count = SegmentCount(length, mss);
  const uint32_t offset = index * mss;
  const uint32_t end = offset + mss < length ? offset + mss : length;
  return {offset, end - offset, index == 0, index + 1 == count};
}

enum class ReassemblyResult : uint8_t {
  kContinue,         // part of a message; more to come
  kComplete,         // the last segment: the message is whole
  kUnexpectedFirst,  // a new message began inside another
  kMissingFirst,     // a continuation with no message begun
  kLengthMismatch,   // lengths disagree, or the bytes overrun the length
  kTooLong,          // over kMaxMessageBytes
};

const char* ReassemblyResultName(ReassemblyResult result);

class MessageReassembler {
 public:
  // `write(offset, bytes)` stores payload; `begin(length)` is called at a
  // message's first segment (the sink can reserve buffers then).
  template <typename Begin, typename Write>
  ReassemblyResult OnSegment(bool first, bool last, uint32_t message_length,
                             absl::Span<const uint8_t> payload, Begin&& begin,
                             Write&& write);

  bool in_message() const { return in_message_; }
  // Bytes of the message being received still to come (0 between messages).
  uint32_t remaining() const { return in_message_ ? length_ - received_ : 0; }
  // After an error the reassembler is idle again; the caller resets the
  // flow (the peer broke the protocol).
  void Reset() { in_message_ = false; }

 private:
  bool in_message_ = false;
  uint32_t length_ = 0;
  uint32_t received_ = 0;
};

template <typename Begin, typename Write>
ReassemblyResult MessageReassembler::OnSegment(
    bool first, bool last, uint32_t message_length,
    absl::Span<const uint8_t> payload, Begin&& begin, Write&& write) {
  if (first) {
    if (in_message_) return ReassemblyResult::kUnexpectedFirst;
    if (message_length > kMaxMessageBytes) return ReassemblyResult::kTooLong;
    in_message_ = true;
    length_ = message_length;
    received_ = 0;
    begin(length_);
  } else if (!in_message_) {
    return ReassemblyResult::kMissingFirst;
  } else if (message_length != length_) {
    in_message_ = false;
    return ReassemblyResult::kLengthMismatch;
  }
  if (payload.size() > length_ - received_) {
    in_message_ = false;
    return ReassemblyResult::kLengthMismatch;
  }
  write(received_, payload);
  received_ += static_cast<uint32_t>(payload.size());
  if (!last) return ReassemblyResult::kContinue;
  in_message_ = false;
  return received_ == length_ ? ReassemblyResult::kComplete
                              : ReassemblyResult::kLengthMismatch;
}

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_MESSAGE_SEGMENTS_H_

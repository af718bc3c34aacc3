// Which segments of a flow have arrived: the cumulative acknowledgement,
// the SACK bitmap for the header, and the verdict on each new segment.
//
// Sequence numbers are 32-bit and wrap; everything is computed as
// differences from the next expected sequence number. The tracker holds a
// fixed window (a power of two, at most 65536 segments) of out-of-order
// arrivals in a bit ring: no allocation after construction.
#ifndef FERRY_DATAPLANE_TRANSPORT_RECEIVE_TRACKER_H_
#define FERRY_DATAPLANE_TRANSPORT_RECEIVE_TRACKER_H_

#include <cstdint>
#include <vector>

namespace ferry::transport {

enum class Arrival : uint8_t {
  kInOrder,      // the next expected segment: deliver it and what it unblocks
  kOutOfOrder,   // new, ahead of a hole: keep it
  kDuplicate,    // already held (out of order) or already delivered
  kBeyondWindow  // too far ahead to hold: drop it (the sender overran us)
};

class ReceiveTracker {
 public:
  // `window` segments may be held beyond the next expected one.
  ReceiveTracker(uint32_t first_seq, uint32_t window);

  // Forgets everything: the next segment expected is `first_seq`.
  void Restart(uint32_t first_seq);

  // Records a segment. For kInOrder, `*delivered` is how many segments
  // (this one and those held right after it) are now in order.
  Arrival OnSegment(uint32_t seq, uint32_t* delivered);

  // The same steps one at a time, for a receiver that may have to refuse
  // an in-order segment (no room to deliver it) and keep the rest held:
  // what OnSegment would say, without recording anything.
  Arrival Classify(uint32_t seq) const;
  // Records an out-of-order segment (Classify said kOutOfOrder).
  void Hold(uint32_t seq) {
    Set(seq);
    ++held_;
  }
  // The in-order segment was delivered: expect the next one.
  void Advance() { ++next_; }
  // Whether the next expected segment is already held; if so, TakeNext
  // delivers it (forgets it as held and advances).
  bool NextIsHeld() const { return held_ > 0 && Test(next_); }
  void TakeNext() {
    Clear(next_);
    --held_;
    ++next_;
  }
  uint32_t mask() const { return mask_; }

  // The next expected sequence number: the ACK to send.
  uint32_t cumulative_ack() const { return next_; }
  // Bit i set: segment cumulative_ack() + 1 + i is held.
  uint64_t SackBitmap() const;
  uint32_t held() const { return held_; }
  uint32_t next() const { return next_; }
  uint32_t window() const { return mask_ + 1; }

 private:
  bool Test(uint32_t seq) const {
    return (bits_[(seq & mask_) / 64] >> (seq % 64)) & 1;
  }
  void Set(uint32_t seq) { bits_[(seq & mask_) / 64] |= 1ull << (seq % 64); }
  void Clear(uint32_t seq) {
    bits_[(seq & mask_) / 64] &= ~(1ull << (seq % 64));
  }

  uint32_t next_;
  uint32_t mask_;
  uint32_t held_ = 0;
  std::vector<uint64_t> bits_;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_RECEIVE_TRACKER_H_

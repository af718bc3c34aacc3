// What a flow's sender has in flight, and what it must send again.
//
// Each transmitted segment has a slot (a fixed ring, sized to the largest
// window: no allocation after construction) with its last transmission
// time, whether the receiver SACKed it, and whether it is marked lost.
// ACKs carry the cumulative acknowledgement and a 64-bit SACK bitmap (bit i:
// ack + 1 + i held by the receiver). A segment counts as lost, and is
// retransmitted once, when kDupThresh segments after it have been SACKed
// (fast retransmit on SACK evidence, as RFC 6675); when the retransmission
// timer expires, the oldest unacknowledged segment is sent again.
#ifndef FERRY_DATAPLANE_TRANSPORT_SEND_TRACKER_H_
#define FERRY_DATAPLANE_TRANSPORT_SEND_TRACKER_H_

#include <cstdint>
#include <vector>

namespace ferry::transport {

class SendTracker {
 public:
  static constexpr uint32_t kDupThresh = 3;

  // `capacity`: the most segments ever in flight (rounded up to a power of
  // two).
  SendTracker(uint32_t first_seq, uint32_t capacity);
  // The ring's size for `capacity`: what capacity() will say.
  static uint32_t CapacityFor(uint32_t capacity);

  // Forgets everything: the next segment sent is `first_seq`.
  void Restart(uint32_t first_seq);

  uint32_t in_flight() const { return next_seq_ - una_; }
  uint32_t capacity() const { return mask_ + 1; }
  bool CanSend(uint32_t window) const {
    return in_flight() < window && in_flight() <= mask_;
  }
  uint32_t next_seq() const { return next_seq_; }
  uint32_t oldest_unacked() const { return una_; }

  // Records a first transmission; returns its sequence number.
  uint32_t OnSend(uint64_t now_ns);
  // Records a retransmission of `seq` (it is no longer considered lost).
  void OnRetransmit(uint32_t seq, uint64_t now_ns);

  struct AckResult {
    uint32_t newly_acked = 0;   // cumulative progress, in segments
    uint32_t newly_sacked = 0;  // segments newly reported held
    bool stale = false;         // older than what we know: ignored
  };
  // Inline (below): returned from a call, the result is packed through the
  // stack by stores of its parts and read back by loads across them, which
  // the store buffer cannot forward (a stall on every ACK).
  inline AckResult OnAck(uint32_t cumulative_ack, uint64_t sack_bitmap);

  // Segments newly inferred lost (SACK evidence) since the last call,
  // oldest first, written to `out` (at most `max`); returns how many.
  uint32_t TakeLost(uint32_t* out, uint32_t max);

  // When the oldest unacknowledged segment was last sent (for the RTO).
  uint64_t oldest_send_time_ns() const;
  // For a cumulative ACK up to `cumulative_ack`, before OnAck takes it:
  // when the newest segment it acknowledges was sent, if the ACK measures
  // how long an answer to that segment took. 0 when it does not: that
  // segment is not in flight, or was resent (which transmission the answer
  // is for is unknown), or was SACKed already (its answer came then), or
  // the oldest unacknowledged segment was resent (the ACK waited for a
  // hole to be filled, so it would measure the wait for the retransmission
  // timeout: under random loss each such sample raised the timeout, which
  // stretched the next sample, up to 125 ms on a path of 50 us).
  uint64_t AnswerSentNs(uint32_t cumulative_ack) const;

 private:
  // 8 bytes: a flow has a slot for every segment it may have in flight
  // (256), and an engine 10,000 flows. 61 bits of nanoseconds of the
  // monotonic clock last 73 years.
  struct Slot {
    uint64_t sent_ns : 61;
    uint64_t sacked : 1;
    uint64_t lost : 1;  // marked, waiting to be retransmitted
    uint64_t retransmitted : 1;
  };
  static_assert(sizeof(Slot) == 8);
  Slot& At(uint32_t seq) { return slots_[(seq - base_) & mask_]; }
  const Slot& At(uint32_t seq) const { return slots_[(seq - base_) & mask_]; }
  void MarkLost();

  uint32_t una_;       // oldest unacknowledged
  uint32_t next_seq_;  // next new segment
  uint32_t mask_;
  // The sequence number in slot 0. Moved to the next segment whenever
  // nothing is in flight (no slot in use): a flow with one segment in
  // flight at a time keeps using one slot instead of walking the ring,
  // which with thousands of flows is a miss to memory per segment.
  uint32_t base_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> lost_;  // marked lost, not yet taken (reserved)
};

inline SendTracker::AckResult SendTracker::OnAck(uint32_t cumulative_ack,
                                                 uint64_t sack_bitmap) {
  AckResult result;
  const uint32_t advance = cumulative_ack - una_;
  // An ACK below una_ (reordered, old) or beyond what was sent (corrupt or
  // forged) teaches nothing.
  if (advance > in_flight()) {
    result.stale = true;
    return result;
  }
  una_ = cumulative_ack;
  result.newly_acked = advance;
  for (uint32_t i = 0; i < 64 && sack_bitmap != 0; ++i, sack_bitmap >>= 1) {
    if ((sack_bitmap & 1) == 0) continue;
    const uint32_t seq = una_ + 1 + i;
    if (seq - una_ >= in_flight()) break;  // beyond what was sent
    Slot& slot = At(seq);
    if (!slot.sacked) {
      slot.sacked = true;
      ++result.newly_sacked;
    }
  }
  if (result.newly_sacked > 0 || result.newly_acked > 0) MarkLost();
  return result;
}

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_SEND_TRACKER_H_

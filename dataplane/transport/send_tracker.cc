#include "dataplane/transport/send_tracker.h"

#include <algorithm>

#include "dataplane/base/check.h"

namespace ferry::transport {

uint32_t SendTracker::CapacityFor(uint32_t capacity) {
  uint32_t size = 2;
  while (size < capacity && size < (1u << 20)) size *= 2;
  return size;
}

SendTracker::SendTracker(uint32_t first_seq, uint32_t capacity)
    : una_(first_seq), next_seq_(first_seq), base_(first_seq) {
  const uint32_t size = CapacityFor(capacity);
  mask_ = size - 1;
  slots_.resize(size);
  lost_.reserve(size);
}

void SendTracker::Restart(uint32_t first_seq) {
  una_ = next_seq_ = base_ = first_seq;
  lost_.clear();
}

uint32_t SendTracker::OnSend(uint64_t now_ns) {
  if (next_seq_ == una_) base_ = next_seq_;
  const uint32_t seq = next_seq_++;
  FERRY_DCHECK(now_ns < (uint64_t{1} << 61));
  At(seq) = Slot{now_ns, false, false, false};
  return seq;
}

void SendTracker::OnRetransmit(uint32_t seq, uint64_t now_ns) {
  if (seq - una_ >= in_flight()) return;  // not in flight any more
  Slot& slot = At(seq);
  slot.sent_ns = now_ns;
  slot.lost = false;
  slot.retransmitted = true;
}

void SendTracker::MarkLost() {
  // Walk back from the newest SACKed segment: an unSACKed segment with at
  // least kDupThresh SACKed segments after it is lost. A segment already
  // retransmitted is lost again only when a SACKed segment left after its
  // retransmission did (the repeat should have arrived first): without
  // this, a lost retransmission waits for the timeout.
  uint32_t sacked_after = 0;
  uint64_t newest_sacked_sent_ns = 0;
  for (uint32_t k = std::min(in_flight(), 65u); k > 0; --k) {
    const uint32_t seq = una_ + k - 1;
    Slot& slot = At(seq);
    if (slot.sacked) {
      ++sacked_after;
      newest_sacked_sent_ns = std::max(newest_sacked_sent_ns, slot.sent_ns);
      continue;
    }
    const bool repeat_overtaken =
        !slot.retransmitted || newest_sacked_sent_ns > slot.sent_ns;
    if (sacked_after >= kDupThresh && !slot.lost && repeat_overtaken) {
      slot.lost = true;
      lost_.push_back(seq);
    }
  }
  // Oldest first.
  std::sort(lost_.begin(), lost_.end(),
            [this](uint32_t a, uint32_t b) { return a - una_ < b - una_; });
}

uint32_t SendTracker::TakeLost(uint32_t* out, uint32_t max) {
  uint32_t n = 0;
  size_t keep = 0;
  for (size_t i = 0; i < lost_.size(); ++i) {
    const uint32_t seq = lost_[i];
    // Acknowledged meanwhile: nothing to resend.
    if (seq - una_ >= in_flight() || At(seq).sacked) continue;
    if (n < max) {
      out[n++] = seq;
    } else {
      lost_[keep++] = seq;
    }
  }
  lost_.resize(keep);
  return n;
}

uint64_t SendTracker::oldest_send_time_ns() const {
  return in_flight() == 0 ? 0 : At(una_).sent_ns;
}

uint64_t SendTracker::AnswerSentNs(uint32_t cumulative_ack) const {
  const uint32_t newest = cumulative_ack - 1;
  if (newest - una_ >= in_flight()) return 0;
  const Slot& slot = At(newest);
  if (slot.retransmitted || slot.sacked || At(una_).retransmitted) return 0;
  return slot.sent_ns;
}

}  // namespace ferry::transport

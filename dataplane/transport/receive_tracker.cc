#include "dataplane/transport/receive_tracker.h"

#include <algorithm>

namespace ferry::transport {

ReceiveTracker::ReceiveTracker(uint32_t first_seq, uint32_t window)
    : next_(first_seq) {
  // A power of two of at least 64 (one word), at most 65536.
  uint32_t size = 64;
  while (size < window && size < 65536) size *= 2;
  mask_ = size - 1;
  bits_.assign(size / 64, 0);
}

void ReceiveTracker::Restart(uint32_t first_seq) {
  next_ = first_seq;
  held_ = 0;
  std::fill(bits_.begin(), bits_.end(), 0);
}

Arrival ReceiveTracker::Classify(uint32_t seq) const {
  const uint32_t ahead = seq - next_;  // wraps: "behind" is huge
  if (ahead == 0) return Arrival::kInOrder;
  if (ahead > 0x80000000u) return Arrival::kDuplicate;  // already delivered
  if (ahead > mask_) return Arrival::kBeyondWindow;
  return Test(seq) ? Arrival::kDuplicate : Arrival::kOutOfOrder;
}

Arrival ReceiveTracker::OnSegment(uint32_t seq, uint32_t* delivered) {
  *delivered = 0;
  const Arrival arrival = Classify(seq);
  if (arrival == Arrival::kOutOfOrder) Hold(seq);
  if (arrival != Arrival::kInOrder) return arrival;
  // Deliver it and every held segment right after it.
  Advance();
  uint32_t n = 1;
  while (NextIsHeld()) {
    TakeNext();
    ++n;
  }
  *delivered = n;
  return Arrival::kInOrder;
}

uint64_t ReceiveTracker::SackBitmap() const {
  if (held_ == 0) return 0;
  uint64_t bitmap = 0;
  const uint32_t span = std::min<uint32_t>(64, mask_);
  for (uint32_t i = 0; i < span; ++i) {
    if (Test(next_ + 1 + i)) bitmap |= uint64_t{1} << i;
  }
  return bitmap;
}

}  // namespace ferry::transport

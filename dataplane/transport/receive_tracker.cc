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

Arrival ReceiveTracker::OnSegment(uint32_t seq, uint32_t* delivered) {
  *delivered = 0;
  const uint32_t ahead = seq - next_;  // wraps: "behind" is huge
  if (ahead == 0) {
    // Deliver it and every held segment right after it.
    uint32_t n = 1;
    ++next_;
    while (held_ > 0 && Test(next_)) {
      Clear(next_);
      --held_;
      ++next_;
      ++n;
    }
    *delivered = n;
    return Arrival::kInOrder;
  }
  if (ahead > 0x80000000u) return Arrival::kDuplicate;  // already delivered
  if (ahead > mask_) return Arrival::kBeyondWindow;
  if (Test(seq)) return Arrival::kDuplicate;
  Set(seq);
  ++held_;
  return Arrival::kOutOfOrder;
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

// Accepted flows still in their handshake, within one scope (an engine, or
// one listener), oldest first and bounded: however many SYNs arrive, the
// scope holds at most `bound` half-open flows, and the oldest makes room
// for the newest (a flood's SYNs come from addresses that never answer, so
// the oldest is the likeliest to be one of them).
//
// Engine thread only. A flow that completes its handshake or ends is
// counted out at once (Done) but its id stays in the ring until read: the
// reader skips ids its `is_live` check no longer recognises. The ring holds
// twice the bound; once it is full of such stale ids, the oldest is
// forgotten (a live flow forgotten so still counts, and ends by its own
// handshake timeout).
#ifndef FERRY_DATAPLANE_ENGINE_HALF_OPEN_QUEUE_H_
#define FERRY_DATAPLANE_ENGINE_HALF_OPEN_QUEUE_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ferry::engine {

class HalfOpenQueue {
 public:
  explicit HalfOpenQueue(uint32_t bound)
      : bound_(std::max<uint32_t>(bound, 1)), ring_(2 * bound_) {}

  uint32_t count() const { return count_; }
  bool full() const { return count_ >= bound_; }

  // A new half-open flow, by id.
  void Add(uint32_t id) {
    if (tail_ - head_ == ring_.size()) ++head_;  // full of stale ids
    ring_[tail_++ % ring_.size()] = id;
    ++count_;
  }

  // One of the scope's half-open flows completed or ended.
  void Done() {
    if (count_ > 0) --count_;
  }

  // Reads ids oldest first until one for which `is_live(id)` holds, and
  // returns it in `id`; false when none is left. The caller evicts that
  // flow (and calls Done for it).
  template <typename IsLive>
  bool PopOldestLive(IsLive&& is_live, uint32_t* id) {
    while (head_ != tail_) {
      const uint32_t oldest = ring_[head_++ % ring_.size()];
      if (is_live(oldest)) {
        *id = oldest;
        return true;
      }
    }
    return false;
  }

 private:
  const uint32_t bound_;
  std::vector<uint32_t> ring_;
  uint64_t head_ = 0;  // next to read
  uint64_t tail_ = 0;  // next to write
  uint32_t count_ = 0;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_HALF_OPEN_QUEUE_H_

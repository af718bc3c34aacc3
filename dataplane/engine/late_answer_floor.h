// An RTO floor learned from spurious retransmission timeouts.
//
// A timeout that turns out spurious (the peer had the first transmission
// all along, flow_receive.cc tells) proves that this engine's peers can
// take that long to answer: a descheduled engine on an oversubscribed
// host, a receive ring polled late. The round trips the flows measure do
// not show it (they leave out the peer's holding of its ACK and are
// mostly taken between such stalls), so every flow would time out again
// at the next stall, resend for nothing and cut its window. The floor
// keeps each flow's RTO above the latest answer a spurious timeout saw,
// with a quarter more, and halves every `half_life_ns` without a new one,
// so a single stall does not slow loss recovery for long.
//
// Pure function of the times it is given: tested with simulated clocks.
#ifndef FERRY_DATAPLANE_ENGINE_LATE_ANSWER_FLOOR_H_
#define FERRY_DATAPLANE_ENGINE_LATE_ANSWER_FLOOR_H_

#include <algorithm>
#include <cstdint>

namespace ferry::engine {

class LateAnswerFloor {
 public:
  // `cap_ns` bounds what one stall can teach (a peer that stalls longer
  // than that is better served by the RTO's own backoff).
  explicit LateAnswerFloor(uint64_t half_life_ns = 2'000'000'000,
                           uint64_t cap_ns = 50'000'000)
      : half_life_ns_(half_life_ns), cap_ns_(cap_ns) {}

  // A spurious timeout: the first transmission was answered `answer_ns`
  // after it was sent (a lower bound is fine).
  void Learn(uint64_t answer_ns, uint64_t now_ns) {
    const uint64_t wanted = std::min(answer_ns + answer_ns / 4, cap_ns_);
    if (wanted >= FloorNs(now_ns)) {
      floor_ns_ = wanted;
      halved_at_ns_ = now_ns;
    }
  }

  // The floor at `now_ns` (0 when nothing was learned or all has decayed).
  // On every RTO arm, so the common case is one compare.
  uint64_t FloorNs(uint64_t now_ns) {
    while (floor_ns_ != 0 && now_ns - halved_at_ns_ >= half_life_ns_) {
      floor_ns_ /= 2;
      halved_at_ns_ += half_life_ns_;
    }
    return floor_ns_;
  }

 private:
  const uint64_t half_life_ns_;
  const uint64_t cap_ns_;
  uint64_t floor_ns_ = 0;
  uint64_t halved_at_ns_ = 0;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_LATE_ANSWER_FLOOR_H_

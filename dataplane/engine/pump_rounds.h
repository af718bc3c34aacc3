// The flows of an engine that have something to send, served in rounds:
// each poll serves one round in order, and a flow that still has more to
// send after its turn (it used its burst, its window grew) goes to the end
// of the next round. When transmit backs up part way through a round, the
// flows not yet served open the next round, ahead of those that just had
// their turn: put behind them instead, the flows at the head of the list
// would be served in every round and the rest never, for as long as
// transmit stays backed up.
//
// Engine thread only. The caller keeps each flow listed at most once.
#ifndef FERRY_DATAPLANE_ENGINE_PUMP_ROUNDS_H_
#define FERRY_DATAPLANE_ENGINE_PUMP_ROUNDS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry::engine {

class PumpRounds {
 public:
  // Room for `flows` in each round, so that listing never allocates.
  void Reserve(size_t flows) {
    round_.reserve(flows);
    next_.reserve(flows);
  }

  bool empty() const { return round_.empty(); }
  size_t size() const { return round_.size(); }

  // To the end of the round (served in this one if it is running).
  void Add(uint32_t flow) { round_.push_back(flow); }

  // Serves the round: `serve(flow)` for each flow in order, which returns
  // whether the flow wants another turn, until `backed_up()`.
  template <typename BackedUp, typename Serve>
  void Run(BackedUp&& backed_up, Serve&& serve) {
    next_.clear();
    size_t i = 0;
    for (; i < round_.size(); ++i) {
      if (backed_up()) break;
      // By value: `serve` may Add, and the vector move.
      const uint32_t flow = round_[i];
      if (serve(flow)) next_.push_back(flow);
    }
    next_.insert(next_.begin(), round_.begin() + static_cast<ptrdiff_t>(i),
                 round_.end());
    round_.swap(next_);
  }

 private:
  std::vector<uint32_t> round_;
  std::vector<uint32_t> next_;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_PUMP_ROUNDS_H_

// Congestion control for a flow: how many segments may be in flight.
//
// kSwift is a delay-based controller in the manner of Swift (SIGCOMM '20):
// while the measured round trip stays under a target delay the window grows
// by about one segment per round trip; above it, the window shrinks in
// proportion to how far the delay overshoots, at most once per round trip.
// The target is the flow's base round trip (the smallest measured: the
// path and both hosts' fixed costs) plus target_delay_ns of queueing, so a
// path whose hosts add a millisecond of wake-up latency is not mistaken
// for a congested one;
// a loss shrinks it by the largest factor, as does a retransmission
// timeout; timeouts in a row (the path is gone, not congested) reset it to
// the minimum. Windows below one segment are allowed: the
// sender then paces one segment every rtt / window. kNone keeps a fixed
// window (for experiments and comparisons).
//
// Every parameter lives in CongestionConfig. Engine-thread only.
#ifndef FERRY_DATAPLANE_TRANSPORT_CONGESTION_CONTROL_H_
#define FERRY_DATAPLANE_TRANSPORT_CONGESTION_CONTROL_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ferry::transport {

enum class CongestionAlgorithm { kSwift, kNone };

// "swift" or "none".
bool ParseCongestionAlgorithm(absl::string_view text,
                              CongestionAlgorithm* algorithm);

struct CongestionConfig {
  CongestionAlgorithm algorithm = CongestionAlgorithm::kSwift;
  double initial_window = 16;  // segments
  // Segments. Below 1 the sender paces one segment every rtt / window
  // (Swift's large-incast regime); the default keeps one segment per round
  // trip, which request/response traffic needs to make progress at all.
  double min_window = 1;
  double max_window = 1024;           // segments
  uint64_t target_delay_ns = 50'000;  // queueing above the base RTT that
                                      // backs off
  double additive_increase = 1;       // segments per round trip
  double beta = 0.8;                  // how hard delay overshoot backs off
  double max_decrease = 0.5;          // largest multiplicative cut
  uint32_t timeouts_to_minimum = 3;   // consecutive RTOs that reset it
};

class CongestionControl {
 public:
  // `config` must outlive the controller: every flow of an engine shares
  // one copy (see FlowProfile).
  explicit CongestionControl(const CongestionConfig& config)
      : config_(&config), window_(config.initial_window) {}
  explicit CongestionControl(const CongestionConfig&& config) = delete;

  // An ACK acknowledged `acked` segments and measured `rtt_ns`.
  void OnAck(uint32_t acked, uint64_t rtt_ns, uint64_t now_ns);
  // Fast retransmit: segments were lost.
  void OnLoss(uint64_t now_ns, uint64_t rtt_ns);
  // A retransmission timeout, the `consecutive`-th in a row (1 for the
  // first one after progress).
  void OnTimeout(uint32_t consecutive);
  // The timeouts since `window_before` were spurious (the peer had the
  // segment all along): their cuts are undone.
  void UndoTimeout(double window_before);

  double window() const { return window_; }
  uint64_t base_rtt_ns() const { return base_rtt_ns_; }
  // Segments that may be in flight now (at least one, so that a paced flow
  // still makes progress).
  uint32_t segments_allowed() const {
    return window_ < 1 ? 1 : static_cast<uint32_t>(window_);
  }
  // With a window below one segment: the gap between transmissions.
  uint64_t pacing_interval_ns(uint64_t rtt_ns) const {
    return window_ < 1 ? static_cast<uint64_t>(rtt_ns / window_) : 0;
  }

 private:
  bool CanDecrease(uint64_t now_ns, uint64_t rtt_ns) const {
    return now_ns - last_decrease_ns_ >= rtt_ns;
  }
  void Clamp();

  const CongestionConfig* config_;
  double window_;
  uint64_t last_decrease_ns_ = 0;
  uint64_t base_rtt_ns_ = UINT64_MAX;  // smallest sample seen
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_CONGESTION_CONTROL_H_

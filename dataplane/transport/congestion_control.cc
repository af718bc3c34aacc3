#include "dataplane/transport/congestion_control.h"

#include <algorithm>

namespace ferry::transport {

bool ParseCongestionAlgorithm(absl::string_view text,
                              CongestionAlgorithm* algorithm) {
  if (text == "swift") {
    *algorithm = CongestionAlgorithm::kSwift;
  } else if (text == "none") {
    *algorithm = CongestionAlgorithm::kNone;
  } else {
    return false;
  }
  return true;
}

void CongestionControl::Clamp() {
  window_ = std::clamp(window_, config_->min_window, config_->max_window);
}

void CongestionControl::OnAck(uint32_t acked, uint64_t rtt_ns,
                              uint64_t now_ns) {
  if (rtt_ns > 0 && rtt_ns < base_rtt_ns_) base_rtt_ns_ = rtt_ns;
  if (config_->algorithm == CongestionAlgorithm::kNone || acked == 0) return;
  const uint64_t target = (base_rtt_ns_ == UINT64_MAX ? 0 : base_rtt_ns_) +
                          config_->target_delay_ns;
  if (rtt_ns < target) {
    // About additive_increase segments per round trip: each of the
    // window's worth of ACKed segments adds its share.
    if (window_ >= 1) {
      window_ += config_->additive_increase * acked / window_;
    } else {
      window_ += config_->additive_increase * acked;
    }
  } else if (CanDecrease(now_ns, rtt_ns)) {
    const double overshoot = static_cast<double>(rtt_ns - target) / rtt_ns;
    window_ *=
        std::max(1 - config_->beta * overshoot, 1 - config_->max_decrease);
    last_decrease_ns_ = now_ns;
  }
  Clamp();
}

void CongestionControl::OnLoss(uint64_t now_ns, uint64_t rtt_ns) {
  if (config_->algorithm == CongestionAlgorithm::kNone) return;
  if (!CanDecrease(now_ns, rtt_ns)) return;
  window_ *= 1 - config_->max_decrease;
  last_decrease_ns_ = now_ns;
  Clamp();
}

void CongestionControl::UndoTimeout(double window_before) {
  if (config_->algorithm == CongestionAlgorithm::kNone) return;
  window_ = std::max(window_, window_before);
  Clamp();
}

void CongestionControl::OnTimeout(uint32_t consecutive) {
  if (config_->algorithm == CongestionAlgorithm::kNone) return;
  if (consecutive >= config_->timeouts_to_minimum) {
    window_ = config_->min_window;
  } else {
    window_ *= 1 - config_->max_decrease;
  }
  Clamp();
}

}  // namespace ferry::transport

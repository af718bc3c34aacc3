#include "dataplane/transport/rtt_estimator.h"

#include <algorithm>

namespace ferry::transport {

const RttBounds RttEstimator::kDefaultBounds{};

void RttEstimator::AddSample(uint64_t rtt_ns) {
  if (!has_sample_) {
    srtt_ns_ = rtt_ns;
    rttvar_ns_ = rtt_ns / 2;
    has_sample_ = true;
  } else {
    // rttvar = 3/4 rttvar + 1/4 |srtt - rtt|; srtt = 7/8 srtt + 1/8 rtt.
    const uint64_t deviation =
        srtt_ns_ > rtt_ns ? srtt_ns_ - rtt_ns : rtt_ns - srtt_ns_;
    rttvar_ns_ = (3 * rttvar_ns_ + deviation) / 4;
    srtt_ns_ = (7 * srtt_ns_ + rtt_ns) / 8;
  }
  rto_ns_ = RtoFromEstimate();
}

void RttEstimator::OnSpuriousTimeout(uint64_t rtt_ns) {
  srtt_ns_ = std::max(srtt_ns_, rtt_ns);
  rttvar_ns_ = std::max(rttvar_ns_, rtt_ns / 2);
  has_sample_ = true;
  rto_ns_ = RtoFromEstimate();
}

void RttEstimator::EndBackoff() {
  if (has_sample_) rto_ns_ = RtoFromEstimate();
}

uint64_t RttEstimator::RtoFromEstimate() const {
  return std::clamp(srtt_ns_ + 4 * rttvar_ns_, bounds_->min_rto_ns,
                    bounds_->max_rto_ns);
}

void RttEstimator::OnTimeout() {
  rto_ns_ = std::min(rto_ns_ * 2, bounds_->max_rto_ns);
}

}  // namespace ferry::transport

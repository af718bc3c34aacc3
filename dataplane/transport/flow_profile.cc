#include "dataplane/transport/flow_profile.h"

#include <algorithm>

#include "dataplane/transport/send_tracker.h"

namespace ferry::transport {
namespace {

// Retransmissions back off, but never so far that fewer than
// kTriesWithinPeerTimeout fit in peer_timeout_ns: a silent peer is judged
// on many tries, not two (at 20% loss each way, 16 lost exchanges in a row
// happen once in 10^7).
constexpr uint64_t kTriesWithinPeerTimeout = 16;

}  // namespace

FlowProfile::FlowProfile(const FlowConfig& config)
    : config_(config), rto_bounds_(config.rtt) {
  config_.congestion.max_window =
      std::min<double>(config_.congestion.max_window,
                       SendTracker::CapacityFor(config_.max_in_flight));
  rto_bounds_.max_rto_ns =
      std::max(rto_bounds_.min_rto_ns,
               std::min(rto_bounds_.max_rto_ns,
                        config_.peer_timeout_ns / kTriesWithinPeerTimeout));
}

}  // namespace ferry::transport

// The constants every flow of one kind shares, computed once from a
// FlowConfig: an engine keeps one profile per path MSS, so that 10,000
// flows do not carry 10,000 copies of the same numbers. A copy in each
// flow made a third of its bytes, six of its cache lines, and a round
// trip at 10,000 flows misses on each line it touches.
#ifndef FERRY_DATAPLANE_TRANSPORT_FLOW_PROFILE_H_
#define FERRY_DATAPLANE_TRANSPORT_FLOW_PROFILE_H_

#include "dataplane/transport/flow_config.h"
#include "dataplane/transport/rtt_estimator.h"

namespace ferry::transport {

class FlowProfile {
 public:
  explicit FlowProfile(const FlowConfig& config);
  // Flows and their parts point into the profile: it must stay put.
  FlowProfile(const FlowProfile&) = delete;
  FlowProfile& operator=(const FlowProfile&) = delete;

  // The configuration, with the congestion window's ceiling lowered to
  // what the send tracker can hold in flight.
  const FlowConfig& config() const { return config_; }
  // The retransmission timeout's bounds, the ceiling lowered so that a
  // dead peer is tried several times within peer_timeout_ns.
  const RttBounds& rto_bounds() const { return rto_bounds_; }

 private:
  FlowConfig config_;
  RttBounds rto_bounds_;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_FLOW_PROFILE_H_

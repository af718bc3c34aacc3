// Retransmission timeout from measured round trips (RFC 6298's smoothing,
// in nanoseconds, with microsecond-scale bounds for datacenter paths).
//
// Samples come from the echoed timestamps in ACKs (so retransmitted
// segments need no special care: the echo names the transmission it
// answers). Each timeout doubles the RTO until a fresh sample arrives.
#ifndef FERRY_DATAPLANE_TRANSPORT_RTT_ESTIMATOR_H_
#define FERRY_DATAPLANE_TRANSPORT_RTT_ESTIMATOR_H_

#include <cstdint>

namespace ferry::transport {

struct RttBounds {
  uint64_t min_rto_ns = 200'000;        // 200 us
  uint64_t max_rto_ns = 1'000'000'000;  // 1 s
  uint64_t initial_rto_ns = 1'000'000;  // before any sample: 1 ms
};

class RttEstimator {
 public:
  // `bounds` must outlive the estimator: every flow of an engine shares
  // one copy (see FlowProfile).
  explicit RttEstimator(const RttBounds& bounds = kDefaultBounds)
      : bounds_(&bounds), rto_ns_(bounds.initial_rto_ns) {}
  explicit RttEstimator(const RttBounds&& bounds) = delete;

  void AddSample(uint64_t rtt_ns);
  // A retransmission timeout fired: back off.
  void OnTimeout();
  // The peer answers again, but with no sample to take (only resent
  // segments were answered): the backoff ends, the estimate stands.
  void EndBackoff();
  // The timeout was spurious: the answer to the first transmission came
  // after `rtt_ns`. As RFC 4015 responds, the estimate takes in at least
  // that round trip, so that the next timeout does not come as early.
  void OnSpuriousTimeout(uint64_t rtt_ns);

  uint64_t rto_ns() const { return rto_ns_; }
  uint64_t srtt_ns() const { return srtt_ns_; }
  uint64_t rttvar_ns() const { return rttvar_ns_; }
  bool has_sample() const { return has_sample_; }

 private:
  // srtt + 4 rttvar within the bounds (RFC 6298), before any backoff.
  uint64_t RtoFromEstimate() const;

  static const RttBounds kDefaultBounds;

  const RttBounds* bounds_;
  bool has_sample_ = false;
  uint64_t srtt_ns_ = 0;
  uint64_t rttvar_ns_ = 0;
  uint64_t rto_ns_;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_RTT_ESTIMATOR_H_

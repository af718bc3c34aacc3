// The latest ChannelTotals, published by ferryd's main thread (which owns
// the channel registry) for readers on other threads: the Prometheus
// exposer and the gRPC services. Control path only.
#ifndef FERRY_CONTROLPLANE_CHANNEL_TOTALS_SNAPSHOT_H_
#define FERRY_CONTROLPLANE_CHANNEL_TOTALS_SNAPSHOT_H_

#include "absl/synchronization/mutex.h"
#include "controlplane/channel_registry.h"

namespace ferry::controlplane {

class ChannelTotalsSnapshot {
 public:
  void Publish(const ChannelTotals& totals) {
    absl::MutexLock lock(&mu_);
    totals_ = totals;
  }
  ChannelTotals Read() const {
    absl::MutexLock lock(&mu_);
    return totals_;
  }

 private:
  mutable absl::Mutex mu_;
  ChannelTotals totals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_CHANNEL_TOTALS_SNAPSHOT_H_

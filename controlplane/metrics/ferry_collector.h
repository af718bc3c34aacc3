// Ferry's Prometheus metrics, computed at scrape time.
//
// prometheus-cpp's exposer calls Collect() on its own thread. Nothing here
// is kept up to date on the packet path: engines keep plain counters (see
// engine_counters.h), ports keep theirs, and Collect() reads them all when
// Prometheus asks. Channel totals, which live on ferryd's main thread, are
// published to the collector as a snapshot under a mutex (control path
// only).
//
// Naming: one ferry_ prefix, base units (seconds, bytes), _total on
// counters, labels bounded by configuration (port, engine, drop reason).
#ifndef FERRY_CONTROLPLANE_METRICS_FERRY_COLLECTOR_H_
#define FERRY_CONTROLPLANE_METRICS_FERRY_COLLECTOR_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "controlplane/channel_registry.h"
#include "controlplane/nic.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace ferry::controlplane {

inline constexpr char kFerryVersion[] = "0.1.0";

class FerryCollector : public prometheus::Collectable {
 public:
  // `nic` must outlive the collector's registration with the exposer.
  explicit FerryCollector(Nic* nic) : nic_(nic) {}

  // Main thread: the latest channel totals.
  void PublishChannelTotals(const ChannelTotals& totals) {
    absl::MutexLock lock(&mu_);
    channel_totals_ = totals;
  }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Nic* nic_;
  mutable absl::Mutex mu_;
  ChannelTotals channel_totals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_METRICS_FERRY_COLLECTOR_H_

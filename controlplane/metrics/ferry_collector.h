// Ferry's Prometheus metrics, computed at scrape time.
//
// prometheus-cpp's exposer calls Collect() on its own thread. Nothing here
// is kept up to date on the packet path: engines keep plain counters (see
// engine_counters.h), ports keep theirs, and Collect() reads them all when
// Prometheus asks. Channel totals, which live on ferryd's main thread, come
// from the snapshot that thread publishes.
//
// Naming: one ferry_ prefix, base units (seconds, bytes), _total on
// counters, labels bounded by configuration (port, engine, drop reason).
#ifndef FERRY_CONTROLPLANE_METRICS_FERRY_COLLECTOR_H_
#define FERRY_CONTROLPLANE_METRICS_FERRY_COLLECTOR_H_

#include <vector>

#include "controlplane/channel_totals_snapshot.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace ferry::controlplane {

inline constexpr char kFerryVersion[] = "0.1.0";

class FerryCollector : public prometheus::Collectable {
 public:
  // All must outlive the collector's registration with the exposer;
  // `sessions` may be null (no session metrics).
  FerryCollector(NicRegistry* nics, const ChannelTotalsSnapshot* channels,
                 SessionRegistry* sessions = nullptr)
      : nics_(nics), channels_(channels), sessions_(sessions) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  NicRegistry* nics_;
  const ChannelTotalsSnapshot* channels_;
  SessionRegistry* sessions_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_METRICS_FERRY_COLLECTOR_H_

// One-line "name=value" rendering of engine counters, for logs and tests
// (Prometheus export lives in the metrics collector).
#ifndef FERRY_CONTROLPLANE_STATS_FORMAT_H_
#define FERRY_CONTROLPLANE_STATS_FORMAT_H_

#include <string>

#include "controlplane/channel_registry.h"
#include "dataplane/engine/engine_counters.h"

namespace ferry::controlplane {

// Every counter (non-zero malformed-drop reasons only), in declaration order.
std::string FormatEngineStats(const engine::EngineStats& stats);

// attached=.. refused=.. reclaimed=.. live=.. and every channel counter.
std::string FormatChannelTotals(const ChannelTotals& totals);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_STATS_FORMAT_H_

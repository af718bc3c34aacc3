// What the daemon process holds, read from /proc/self at scrape time: the
// standard process_* metrics of Prometheus client libraries (which
// prometheus-cpp does not provide), for dashboards and soak tests that
// watch a long run for leaks.
#ifndef FERRY_CONTROLPLANE_METRICS_PROCESS_USAGE_H_
#define FERRY_CONTROLPLANE_METRICS_PROCESS_USAGE_H_

#include <cstdint>

namespace ferry::controlplane {

struct ProcessUsage {
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
};

// Fields it cannot read stay 0.
ProcessUsage ReadProcessUsage();

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_METRICS_PROCESS_USAGE_H_

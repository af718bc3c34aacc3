// The host's hugepage pools, read from sysfs at scrape time: ferryd's own
// packet memory comes from them, and so do other DPDK programs', so a pool
// running low is worth an alert before an attach or a channel fails.
#ifndef FERRY_CONTROLPLANE_METRICS_HOST_HUGEPAGES_H_
#define FERRY_CONTROLPLANE_METRICS_HOST_HUGEPAGES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::controlplane {

struct HugepagePool {
  std::string size;  // as sysfs names it: "2048kB", "1048576kB"
  uint64_t pages = 0;
  uint64_t free_pages = 0;
};

// One pool per page size under `dir` (normally /sys/kernel/mm/hugepages);
// none when it cannot be read.
std::vector<HugepagePool> ReadHugepagePools(
    const std::string& dir = "/sys/kernel/mm/hugepages");

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_METRICS_HOST_HUGEPAGES_H_

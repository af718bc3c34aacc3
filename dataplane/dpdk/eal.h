// Starts and stops DPDK's Environment Abstraction Layer, once per process.
#ifndef FERRY_DATAPLANE_DPDK_EAL_H_
#define FERRY_DATAPLANE_DPDK_EAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ferry::dpdk {

enum class HugepageMode {
  kAuto,     // use hugepages when some are free, else fall back with a log line
  kRequire,  // fail when none are free
  kOff,      // --no-huge: ordinary pages (no DMA to real NICs)
};

struct EalOptions {
  HugepageMode hugepages = HugepageMode::kAuto;
  // Memory for DPDK in MiB (hugepages or not).
  int memory_mb = 512;
  // PCI devices to allow. Empty: the PCI bus is not scanned at all, so
  // ferryd never touches NICs it was not given.
  std::vector<std::string> pci_allowlist;
  // Extra EAL arguments, appended last (expert use).
  std::vector<std::string> extra_args;
};

// Free 2 MiB hugepages and a mounted hugetlbfs; explains what is missing.
absl::Status CheckHugepagesAvailable(int memory_mb);

// Starts EAL in --in-memory mode: no runtime files and no hugepage files are
// left behind, even if the process is killed. Returns FAILED_PRECONDITION
// when hugepages are required but missing.
absl::Status StartEal(const EalOptions& options);

// Whether StartEal fell back to (or was asked for) ordinary pages.
bool EalUsesHugepages();

// Releases EAL resources; call after every port is closed.
void StopEal();

// Gives the calling (non-EAL) thread an lcore id so mempool per-core caches
// work on it. Engine threads call this once when they start.
absl::Status RegisterEngineThread();
void UnregisterEngineThread();

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_EAL_H_

#include "dataplane/dpdk/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/dpdk_log.h"

namespace ferry::dpdk {
namespace {

bool eal_started = false;
bool eal_hugepages = false;

long ReadLong(const std::string& path) {
  std::ifstream in(path);
  long v = -1;
  if (!(in >> v)) return -1;
  return v;
}

bool HugetlbfsMounted() {
  std::ifstream mounts("/proc/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string dev, dir, type;
    fields >> dev >> dir >> type;
    if (type == "hugetlbfs") return true;
  }
  return false;
}

}  // namespace

absl::Status CheckHugepagesAvailable(int memory_mb) {
  const long free_pages =
      ReadLong("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
  if (free_pages <= 0) {
    return absl::FailedPreconditionError(
        "no free 2 MiB hugepages (run deploy/setup-hugepages.sh)");
  }
  if (free_pages * 2 < memory_mb) {
    return absl::FailedPreconditionError(
        absl::StrFormat("only %d MiB of free hugepages, %d MiB wanted (run "
                        "deploy/setup-hugepages.sh)",
                        free_pages * 2, memory_mb));
  }
  if (!HugetlbfsMounted()) {
    return absl::FailedPreconditionError(
        "hugetlbfs is not mounted (run deploy/setup-hugepages.sh)");
  }
  return absl::OkStatus();
}

absl::Status StartEal(const EalOptions& options) {
  if (eal_started) return absl::FailedPreconditionError("EAL already started");
  bool use_huge = options.hugepages != HugepageMode::kOff;
  if (use_huge) {
    absl::Status huge = CheckHugepagesAvailable(options.memory_mb);
    if (!huge.ok()) {
      if (options.hugepages == HugepageMode::kRequire) return huge;
      FERRY_LOG(Warning, "%s; running with --no-huge (ordinary pages)",
                huge.message());
      use_huge = false;
    }
  }
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<std::string> args = {
      "ferryd",
      // With hugepages, --in-memory: no shared config, no runtime directory,
      // hugepage files unlinked at once, so nothing survives the process even
      // after SIGKILL. --no-huge cannot be combined with it (it implies
      // legacy memory); --no-shconf keeps that mode file-free too.
      use_huge ? "--in-memory" : "--no-shconf",
      "--no-telemetry",
      // One EAL lcore for the main thread, allowed on every CPU: EAL must not
      // pin the control thread; engines pin themselves.
      absl::StrFormat("--lcores=0@(0-%d)", cpus - 1),
      "-m",
      absl::StrCat(options.memory_mb),
  };
  if (!use_huge) args.push_back("--no-huge");
  if (options.pci_allowlist.empty()) {
    args.push_back("--no-pci");
  } else {
    for (const std::string& pci : options.pci_allowlist) {
      args.push_back("-a");
      args.push_back(pci);
    }
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ClearRecentDpdkLog();
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    return absl::InternalError(absl::StrFormat("DPDK EAL init failed: %s (%s)",
                                               rte_strerror(rte_errno),
                                               RecentDpdkLog()));
  }
  eal_started = true;
  eal_hugepages = use_huge;
  FERRY_LOG(Info, "DPDK EAL started (%s)",
            use_huge ? "hugepages" : "no hugepages");
  return absl::OkStatus();
}

bool EalUsesHugepages() { return eal_hugepages; }

void StopEal() {
  if (!eal_started) return;
  rte_eal_cleanup();
  eal_started = false;
}

absl::Status RegisterEngineThread() {
  if (rte_thread_register() != 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("rte_thread_register: %s", rte_strerror(rte_errno)));
  }
  return absl::OkStatus();
}

void UnregisterEngineThread() { rte_thread_unregister(); }

}  // namespace ferry::dpdk

#include "controlplane/metrics/process_usage.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace ferry::controlplane {

ProcessUsage ReadProcessUsage() {
  ProcessUsage usage;
  // statm: sizes in pages; the first is the virtual size, the second the
  // resident set (hugepages mapped by DPDK are not in it).
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    unsigned long long pages = 0;
    unsigned long long resident = 0;
    if (std::fscanf(statm, "%llu %llu", &pages, &resident) == 2) {
      const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
      usage.virtual_bytes = pages * page;
      usage.resident_bytes = resident * page;
    }
    std::fclose(statm);
  }
  if (DIR* fds = opendir("/proc/self/fd")) {
    uint64_t entries = 0;
    while (const dirent* entry = readdir(fds)) {
      if (entry->d_name[0] != '.') ++entries;
    }
    closedir(fds);
    // The directory being read is itself an open fd.
    usage.open_fds = entries > 0 ? entries - 1 : 0;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) usage.max_fds = limit.rlim_cur;
  return usage;
}

std::optional<ThreadSwitches> ReadThreadSwitches(pid_t tid) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/status";
  FILE* status = std::fopen(path.c_str(), "r");
  if (status == nullptr) return std::nullopt;
  ThreadSwitches switches;
  int found = 0;
  char line[256];
  unsigned long long value = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::sscanf(line, "voluntary_ctxt_switches: %llu", &value) == 1) {
      switches.voluntary = value;
      ++found;
    } else if (std::sscanf(line, "nonvoluntary_ctxt_switches: %llu", &value) ==
               1) {
      switches.involuntary = value;
      ++found;
    }
  }
  std::fclose(status);
  if (found != 2) return std::nullopt;
  return switches;
}

}  // namespace ferry::controlplane

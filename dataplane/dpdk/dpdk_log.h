// Routes DPDK's log output through Ferry's logger.
//
// DPDK writes to a FILE*; InstallDpdkLog() replaces it (before EAL starts)
// with a stream that prefixes each line with "dpdk:", prints it when its level
// is at or above the configured threshold, and keeps the last few lines so
// that a failed DPDK call can be reported as one line carrying DPDK's reason.
#ifndef FERRY_DATAPLANE_DPDK_DPDK_LOG_H_
#define FERRY_DATAPLANE_DPDK_DPDK_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::dpdk {

// `level`: "debug", "info", "notice", "warning", "error", "critical".
absl::Status InstallDpdkLog(absl::string_view level);

// DPDK's log lines (any level) since the last ClearRecentDpdkLog(), the
// first few joined with "; " (the first usually says what went wrong), or ""
// when there were none.
std::string RecentDpdkLog();
void ClearRecentDpdkLog();

// While alive, DPDK lines are kept but not printed: for calls whose failure
// the caller reports itself (probing a device named by the user).
class ScopedQuietDpdkLog {
 public:
  ScopedQuietDpdkLog();
  ~ScopedQuietDpdkLog();
  ScopedQuietDpdkLog(const ScopedQuietDpdkLog&) = delete;
  ScopedQuietDpdkLog& operator=(const ScopedQuietDpdkLog&) = delete;
};

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_DPDK_LOG_H_

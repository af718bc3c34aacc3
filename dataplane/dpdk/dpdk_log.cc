#include "dataplane/dpdk/dpdk_log.h"

#include <rte_log.h>
#include <stdio.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "dataplane/base/logging.h"

namespace ferry::dpdk {
namespace {

constexpr size_t kMaxRecentLines = 3;
std::mutex recent_mu;
std::vector<std::string> recent_lines;  // guarded by recent_mu
std::atomic<int> print_threshold{RTE_LOG_WARNING};
std::atomic<int> quiet_depth{0};

// DPDK calls this from whichever thread logs: the control thread at start-up
// and shutdown, rarely an engine thread (a PMD reporting an error). It is
// never on the per-packet path.
ssize_t WriteDpdkLog(void*, const char* buf, size_t size) {
  std::string line(buf, size);
  absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
  if (text.empty()) return static_cast<ssize_t>(size);
  {
    std::lock_guard<std::mutex> lock(recent_mu);
    if (recent_lines.size() < kMaxRecentLines) {
      recent_lines.emplace_back(text);
    }
  }
  const int level = rte_log_cur_msg_loglevel();
  if (level <= print_threshold.load() && quiet_depth.load() == 0) {
    const LogSeverity severity = level <= RTE_LOG_ERR ? LogSeverity::kError
                                 : level <= RTE_LOG_WARNING
                                     ? LogSeverity::kWarning
                                     : LogSeverity::kInfo;
    WriteLogLine(severity, "dpdk", 0, text);
  }
  return static_cast<ssize_t>(size);
}

}  // namespace

absl::Status InstallDpdkLog(absl::string_view level) {
  static constexpr struct {
    const char* name;
    int level;
  } kLevels[] = {{"debug", RTE_LOG_DEBUG},   {"info", RTE_LOG_INFO},
                 {"notice", RTE_LOG_NOTICE}, {"warning", RTE_LOG_WARNING},
                 {"error", RTE_LOG_ERR},     {"critical", RTE_LOG_CRIT}};
  int threshold = -1;
  for (const auto& l : kLevels) {
    if (level == l.name) threshold = l.level;
  }
  if (threshold < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not a DPDK log level (debug, info, notice, warning, error, "
        "critical)",
        level));
  }
  print_threshold.store(threshold);
  static FILE* stream = [] {
    cookie_io_functions_t io = {};
    io.write = WriteDpdkLog;
    FILE* f = fopencookie(nullptr, "w", io);
    if (f != nullptr) setvbuf(f, nullptr, _IOLBF, 0);
    return f;
  }();
  if (stream == nullptr) return absl::InternalError("fopencookie failed");
  rte_openlog_stream(stream);
  // Let DPDK produce everything down to the threshold (and INFO lines for
  // LastDpdkLogLine); the writer decides what is printed.
  rte_log_set_global_level(std::max(threshold, int{RTE_LOG_INFO}));
  return absl::OkStatus();
}

std::string RecentDpdkLog() {
  std::lock_guard<std::mutex> lock(recent_mu);
  return absl::StrJoin(recent_lines, "; ");
}

void ClearRecentDpdkLog() {
  std::lock_guard<std::mutex> lock(recent_mu);
  recent_lines.clear();
}

ScopedQuietDpdkLog::ScopedQuietDpdkLog() { quiet_depth.fetch_add(1); }
ScopedQuietDpdkLog::~ScopedQuietDpdkLog() { quiet_depth.fetch_sub(1); }

}  // namespace ferry::dpdk

#include "dataplane/base/logging.h"

#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "dataplane/base/clock.h"

namespace ferry {
namespace {

std::atomic<int> min_severity{static_cast<int>(LogSeverity::kInfo)};

const char* Basename(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash == nullptr ? path : slash + 1;
}

}  // namespace

void SetMinLogSeverity(LogSeverity severity) {
  min_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

bool LogSeverityEnabled(LogSeverity severity) {
  return static_cast<int>(severity) >=
         min_severity.load(std::memory_order_relaxed);
}

void WriteLogLine(LogSeverity severity, const char* file, int line,
                  absl::string_view message) {
  static constexpr char kLetters[] = {'I', 'W', 'E'};
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm local;
  localtime_r(&tv.tv_sec, &local);
  std::string out = absl::StrFormat(
      "%c%02d%02d %02d:%02d:%02d.%06d %s:%d] %s\n",
      kLetters[static_cast<int>(severity)], local.tm_mon + 1, local.tm_mday,
      local.tm_hour, local.tm_min, local.tm_sec, static_cast<int>(tv.tv_usec),
      Basename(file), line, message);
  // One write per line keeps concurrent lines whole.
  ssize_t ignored = write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

bool LogRateLimitAllows(std::atomic<int64_t>& last_ns) {
  const int64_t now = static_cast<int64_t>(MonotonicNanos());
  int64_t last = last_ns.load(std::memory_order_relaxed);
  if (now - last < 1'000'000'000) return false;
  return last_ns.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

}  // namespace ferry

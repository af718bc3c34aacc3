#include "dataplane/base/logging.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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

bool StderrIsJournal() {
  // systemd sets JOURNAL_STREAM to "device:inode" of the stream it connects
  // to stderr; a child whose stderr was redirected elsewhere inherits the
  // variable, so the stream itself is compared (see systemd.exec(5)).
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st;
  return fstat(STDERR_FILENO, &st) == 0 &&
         static_cast<unsigned long long>(st.st_dev) == device &&
         static_cast<unsigned long long>(st.st_ino) == inode;
}

void WriteLogLine(LogSeverity severity, const char* file, int line,
                  absl::string_view message) {
  static constexpr char kLetters[] = {'I', 'W', 'E'};
  // syslog priorities: info, warning, err.
  static constexpr int kJournalLevels[] = {6, 4, 3};
  static const bool journal = StderrIsJournal();
  if (journal) {
    // The journal stamps each line itself and reads its level from the
    // "<N>" prefix (sd-daemon(3)).
    const std::string out = absl::StrFormat(
        "<%d>%s:%d] %s\n", kJournalLevels[static_cast<int>(severity)],
        Basename(file), line, message);
    ssize_t ignored = write(STDERR_FILENO, out.data(), out.size());
    (void)ignored;
    return;
  }
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

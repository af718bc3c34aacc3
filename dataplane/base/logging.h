// Minimal leveled logging to stderr for control-path code.
//
// Debian's abseil (20220623) predates absl/log, so Ferry carries this small
// logger. It formats with absl::StrFormat and writes one line per call with a
// single write(2), so lines from different threads never interleave. It is not
// for the packet path: engine code uses FERRY_LOG_EVERY_SEC, which drops lines
// beyond one per second per call site.
#ifndef FERRY_DATAPLANE_BASE_LOGGING_H_
#define FERRY_DATAPLANE_BASE_LOGGING_H_

#include <atomic>
#include <cstdint>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace ferry {

enum class LogSeverity { kInfo = 0, kWarning = 1, kError = 2 };

// Whether stderr is the stream systemd connected to its journal.
bool StderrIsJournal();

// Writes "I1125 14:03:07.123456 file.cc:42] message\n" to stderr; when
// stderr is systemd's journal stream, "<6>file.cc:42] message\n" instead
// (the level as a syslog priority, no time: the journal keeps its own).
void WriteLogLine(LogSeverity severity, const char* file, int line,
                  absl::string_view message);

// Lines below this severity are dropped. Default: kInfo.
void SetMinLogSeverity(LogSeverity severity);
bool LogSeverityEnabled(LogSeverity severity);

// Returns true at most once per second for the given call-site state. Lock-free
// and safe from any thread; used to rate-limit logging on the engine thread.
bool LogRateLimitAllows(std::atomic<int64_t>& last_ns);

}  // namespace ferry

#define FERRY_LOG(severity, ...)                                          \
  do {                                                                    \
    if (::ferry::LogSeverityEnabled(::ferry::LogSeverity::k##severity)) { \
      ::ferry::WriteLogLine(::ferry::LogSeverity::k##severity, __FILE__,  \
                            __LINE__, ::absl::StrFormat(__VA_ARGS__));    \
    }                                                                     \
  } while (0)

#define FERRY_LOG_EVERY_SEC(severity, ...)                        \
  do {                                                            \
    static std::atomic<int64_t> ferry_log_last_ns{INT64_MIN / 2}; \
    if (::ferry::LogRateLimitAllows(ferry_log_last_ns)) {         \
      FERRY_LOG(severity, __VA_ARGS__);                           \
    }                                                             \
  } while (0)

#endif  // FERRY_DATAPLANE_BASE_LOGGING_H_

// What the daemon process holds, read from /proc/self at scrape time: the
// standard process_* metrics of Prometheus client libraries (which
// prometheus-cpp does not provide), for dashboards and soak tests that
// watch a long run for leaks.
#ifndef FERRY_CONTROLPLANE_METRICS_PROCESS_USAGE_H_
#define FERRY_CONTROLPLANE_METRICS_PROCESS_USAGE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace ferry::controlplane {

struct ProcessUsage {
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
};

// Fields it cannot read stay 0.
ProcessUsage ReadProcessUsage();

// How often the kernel switched a thread of this process off its CPU:
// voluntarily (it blocked or slept) and involuntarily (preempted, or it
// yielded to another runnable thread: sched_yield leaves a thread
// runnable, so the kernel counts it here).
struct ThreadSwitches {
  uint64_t voluntary = 0;
  uint64_t involuntary = 0;
};

// nullopt when the thread is gone or its status cannot be read.
std::optional<ThreadSwitches> ReadThreadSwitches(pid_t tid);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_METRICS_PROCESS_USAGE_H_

// What a msg_gen client measures: round trips into a latency histogram (an
// interval one printed every report interval, and the run's total after
// warm-up), counts, and the summary written as text and JSON.
#ifndef FERRY_BENCH_MSG_GEN_RUN_STATS_H_
#define FERRY_BENCH_MSG_GEN_RUN_STATS_H_

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "bench/latency_histogram.h"
#include "bench/msg_gen/msg_gen_options.h"

namespace ferry::bench {

class RunStats {
 public:
  RunStats(const MsgGenOptions& options, uint64_t start_ns);

  // A response arrived `latency_ns` after its request (of the request
  // size distribution's class `size_class`) was sent; before that, the
  // request waited `waited_ns` for the channel to take it.
  void OnRoundTrip(uint64_t now_ns, uint64_t latency_ns, size_t size_class = 0,
                   uint64_t waited_ns = 0);
  void OnVerifyFailure() { ++verify_failures_; }
  // Prints the interval line when one is due. Returns whether the run is
  // over (duration or message count reached).
  bool Tick(uint64_t now_ns);
  bool Done(uint64_t now_ns) const;

  uint64_t measured() const { return total_.count(); }
  uint64_t verify_failures() const { return verify_failures_; }
  const LatencyHistogram& total() const { return total_; }

  // Bytes per measured request (the distribution's mean as drawn).
  double MeanRequestSize() const;

  // The final summary on stdout, and as JSON to options.json_out if set.
  absl::Status Finish(uint64_t now_ns, const std::string& error);

 private:
  const MsgGenOptions options_;
  const uint64_t start_ns_;
  const uint64_t measure_from_ns_;
  uint64_t measure_end_ns_ = 0;
  uint64_t interval_start_ns_;
  uint64_t interval_count_ = 0;
  uint64_t completed_ = 0;  // including warm-up
  uint64_t verify_failures_ = 0;
  LatencyHistogram interval_;
  LatencyHistogram total_;
  // Measured round trips counted from the request's first try, the wait
  // for room in a full channel included, and how many waited at all: with
  // thousands of flows on a channel the round trips alone flatter.
  LatencyHistogram from_first_try_;
  uint64_t waited_ = 0;
  // With mixed request sizes: the measured round trips of each size.
  std::vector<LatencyHistogram> by_size_;
  // (seconds since start, RPC/s) per interval, for time-series plots.
  std::vector<std::pair<double, double>> series_;
  // The process's resource usage when measuring began (its first measured
  // round trip): context switches per round trip in the summary show what
  // a shared core costs (each is microseconds on a VM).
  rusage usage_at_measure_ = {};
};

}  // namespace ferry::bench

#endif  // FERRY_BENCH_MSG_GEN_RUN_STATS_H_

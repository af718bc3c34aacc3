#include "bench/msg_gen/run_stats.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::bench {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// "[us,fraction],..." of a histogram's distribution.
std::string CdfJson(const LatencyHistogram& h) {
  std::string cdf;
  for (const auto& [value, fraction] : h.Cdf()) {
    absl::StrAppend(&cdf, cdf.empty() ? "" : ",",
                    absl::StrFormat("[%.3f,%.6f]", Us(value), fraction));
  }
  return cdf;
}

std::string IpString(uint32_t ip) {
  return absl::StrFormat("%d.%d.%d.%d", ip >> 24, (ip >> 16) & 0xff,
                         (ip >> 8) & 0xff, ip & 0xff);
}

}  // namespace

const char* TransportName(TransportKind kind) {
  switch (kind) {
    case TransportKind::kFerry:
      return "ferry";
    case TransportKind::kTcp:
      return "tcp";
    case TransportKind::kUdp:
      return "udp";
  }
  return "unknown";
}

RunStats::RunStats(const MsgGenOptions& options, uint64_t start_ns)
    : options_(options),
      start_ns_(start_ns),
      measure_from_ns_(start_ns +
                       static_cast<uint64_t>(options.warmup_s * kNsPerSec)),
      interval_start_ns_(start_ns) {
  series_.reserve(4096);
  if (options.request_sizes.mixed()) {
    by_size_.resize(options.request_sizes.classes());
  }
}

void RunStats::OnRoundTrip(uint64_t now_ns, uint64_t latency_ns,
                           size_t size_class, uint64_t waited_ns) {
  ++completed_;
  ++interval_count_;
  interval_.Record(latency_ns);
  if (now_ns >= measure_from_ns_) {
    if (total_.count() == 0) getrusage(RUSAGE_SELF, &usage_at_measure_);
    total_.Record(latency_ns);
    from_first_try_.Record(latency_ns + waited_ns);
    if (waited_ns > 0) ++waited_;
    if (!by_size_.empty()) by_size_[size_class].Record(latency_ns);
  }
}

double RunStats::MeanRequestSize() const {
  if (by_size_.empty() || total_.count() == 0) return options_.request_size;
  double bytes = 0;
  for (size_t c = 0; c < by_size_.size(); ++c) {
    bytes += static_cast<double>(by_size_[c].count()) *
             options_.request_sizes.size(c);
  }
  return bytes / static_cast<double>(total_.count());
}

bool RunStats::Done(uint64_t now_ns) const {
  if (options_.messages > 0) return total_.count() >= options_.messages;
  return now_ns >= measure_from_ns_ +
                       static_cast<uint64_t>(options_.duration_s * kNsPerSec);
}

bool RunStats::Tick(uint64_t now_ns) {
  const uint64_t interval_ns =
      uint64_t{options_.report_interval_ms} * 1'000'000;
  if (now_ns - interval_start_ns_ >= interval_ns) {
    const double seconds = (now_ns - interval_start_ns_) / 1e9;
    const double rate = interval_count_ / seconds;
    series_.emplace_back((now_ns - start_ns_) / 1e9, rate);
    const double gbps =
        rate * (MeanRequestSize() + options_.response_size) * 8 / 1e9;
    if (!options_.quiet) {
      std::printf(
          "[%6.1f s]%s %10.0f RPC/s %7.3f Gb/s  p50 %8.1f us  p99 %8.1f us  "
          "p99.9 %8.1f us\n",
          (now_ns - start_ns_) / 1e9,
          now_ns <= measure_from_ns_ ? " warm-up" : "", rate, gbps,
          Us(interval_.Quantile(0.5)), Us(interval_.Quantile(0.99)),
          Us(interval_.Quantile(0.999)));
      std::fflush(stdout);
    }
    interval_.Reset();
    interval_count_ = 0;
    interval_start_ns_ = now_ns;
  }
  return Done(now_ns);
}

absl::Status RunStats::Finish(uint64_t now_ns, const std::string& error) {
  measure_end_ns_ = now_ns;
  const double seconds =
      now_ns > measure_from_ns_ ? (now_ns - measure_from_ns_) / 1e9 : 0;
  const uint64_t n = total_.count();
  const double rate = seconds > 0 ? n / seconds : 0;
  const double gbps =
      rate * (MeanRequestSize() + options_.response_size) * 8 / 1e9;
  std::printf(
      "summary: %s, %s request / %u B response, %u flow(s) x window %u: "
      "%lu round trips in %.2f s: %.0f RPC/s, %.3f Gb/s; latency p50 %.1f "
      "us, p99 %.1f us, p99.9 %.1f us, max %.1f us%s%s\n",
      TransportName(options_.transport),
      (options_.request_sizes.mixed()
           ? absl::StrFormat("mixed (mean %.0f B)", MeanRequestSize())
           : absl::StrFormat("%u B", options_.request_size))
          .c_str(),
      options_.response_size, options_.flows, options_.window,
      static_cast<unsigned long>(n), seconds, rate, gbps,
      Us(total_.Quantile(0.5)), Us(total_.Quantile(0.99)),
      Us(total_.Quantile(0.999)), Us(total_.max_ns()),
      verify_failures_ > 0
          ? absl::StrFormat("; %d VERIFY FAILURES", verify_failures_).c_str()
          : "",
      error.empty() ? "" : absl::StrCat("; error: ", error).c_str());
  // Context switches of this process while measuring (all its threads).
  uint64_t voluntary = 0;
  uint64_t involuntary = 0;
  if (n > 0) {
    rusage usage = {};
    getrusage(RUSAGE_SELF, &usage);
    voluntary =
        static_cast<uint64_t>(usage.ru_nvcsw - usage_at_measure_.ru_nvcsw);
    involuntary =
        static_cast<uint64_t>(usage.ru_nivcsw - usage_at_measure_.ru_nivcsw);
  }
  const double switches_per_rpc =
      n > 0 ? static_cast<double>(voluntary + involuntary) / n : 0;
  std::printf(
      "  this process's context switches: %.2f per round trip (%lu "
      "voluntary, %lu involuntary)\n",
      switches_per_rpc, static_cast<unsigned long>(voluntary),
      static_cast<unsigned long>(involuntary));
  if (waited_ > 0) {
    std::printf(
        "  %lu requests (%.1f%%) waited for room in the channel; from the "
        "first try: p50 %.1f us, p99.9 %.1f us, max %.1f us\n",
        static_cast<unsigned long>(waited_), n > 0 ? 100.0 * waited_ / n : 0,
        Us(from_first_try_.Quantile(0.5)), Us(from_first_try_.Quantile(0.999)),
        Us(from_first_try_.max_ns()));
  }
  std::string by_size;
  for (size_t c = 0; c < by_size_.size(); ++c) {
    const LatencyHistogram& h = by_size_[c];
    const uint32_t size = options_.request_sizes.size(c);
    std::printf("  %8u B requests: %lu round trips, p50 %.1f us, p99 %.1f us\n",
                size, static_cast<unsigned long>(h.count()),
                Us(h.Quantile(0.5)), Us(h.Quantile(0.99)));
    absl::StrAppend(
        &by_size, by_size.empty() ? "" : ",\n    ",
        absl::StrFormat("{\"size\": %u, \"round_trips\": %lu, \"p50_us\": "
                        "%.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, "
                        "\"latency_cdf_us\": [%s]}",
                        size, static_cast<unsigned long>(h.count()),
                        Us(h.Quantile(0.5)), Us(h.Quantile(0.99)),
                        Us(h.Quantile(0.999)), CdfJson(h)));
  }
  std::fflush(stdout);
  if (options_.json_out.empty()) return absl::OkStatus();
  const std::string cdf = CdfJson(total_);
  std::string series;
  for (const auto& [t, rate] : series_) {
    absl::StrAppend(&series, series.empty() ? "" : ",",
                    absl::StrFormat("[%.3f,%.1f]", t, rate));
  }
  std::string remotes;
  for (const MsgGenOptions::Server& server : options_.servers) {
    absl::StrAppend(&remotes, remotes.empty() ? "" : ",",
                    absl::StrFormat("%s:%d", IpString(server.ip), server.port));
  }
  const std::string json = absl::StrFormat(
      "{\n"
      "  \"parameters\": {\"transport\": \"%s\", \"remote\": \"%s\", "
      "\"request_size\": %u, \"response_size\": %u, \"window\": %u, "
      "\"flows\": %u, \"messages\": %lu, \"duration_s\": %.3f, "
      "\"warmup_s\": %.3f, \"verify\": %s, \"spin\": %s},\n"
      "  \"results\": {\"round_trips\": %lu, \"seconds\": %.6f, "
      "\"rpc_per_s\": %.1f, \"gbps\": %.6f, \"p50_us\": %.3f, "
      "\"p99_us\": %.3f, \"p999_us\": %.3f, \"min_us\": %.3f, "
      "\"max_us\": %.3f, \"mean_us\": %.3f, \"verify_failures\": %lu, "
      "\"voluntary_switches\": %lu, \"involuntary_switches\": %lu, "
      "\"switches_per_rpc\": %.4f, \"waited_requests\": %lu, "
      "\"first_try_p50_us\": %.3f, \"first_try_p999_us\": %.3f, "
      "\"first_try_max_us\": %.3f, \"error\": \"%s\"},\n"
      "  \"latency_cdf_us\": [%s],\n"
      "  \"rpc_per_s_series\": [%s],\n"
      "  \"by_size\": [%s]\n"
      "}\n",
      TransportName(options_.transport), remotes, options_.request_size,
      options_.response_size, options_.window, options_.flows,
      static_cast<unsigned long>(options_.messages), options_.duration_s,
      options_.warmup_s, options_.verify ? "true" : "false",
      options_.spin ? "true" : "false", static_cast<unsigned long>(n), seconds,
      rate, gbps, Us(total_.Quantile(0.5)), Us(total_.Quantile(0.99)),
      Us(total_.Quantile(0.999)), Us(total_.min_ns()), Us(total_.max_ns()),
      total_.mean_ns() / 1000.0, static_cast<unsigned long>(verify_failures_),
      static_cast<unsigned long>(voluntary),
      static_cast<unsigned long>(involuntary), switches_per_rpc,
      static_cast<unsigned long>(waited_), Us(from_first_try_.Quantile(0.5)),
      Us(from_first_try_.Quantile(0.999)), Us(from_first_try_.max_ns()), error,
      cdf, series, by_size);
  std::ofstream out(options_.json_out);
  out << json;
  out.close();
  if (!out) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", options_.json_out));
  }
  return absl::OkStatus();
}

}  // namespace ferry::bench

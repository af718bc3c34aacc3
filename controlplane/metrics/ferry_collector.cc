#include "controlplane/metrics/ferry_collector.h"

#include <limits>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/abi/ferry_channel_abi.h"
#include "controlplane/metrics/host_hugepages.h"
#include "controlplane/metrics/process_usage.h"
#include "dataplane/crypto/segment_aead.h"
#include "dataplane/engine/encryption_mode.h"
#include "dataplane/engine/idle_policy.h"
#include "dataplane/xdp/xdp_attachment.h"

namespace ferry::controlplane {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Families by name, in a stable order.
class Families {
 public:
  void Add(const std::string& name, const std::string& help, MetricType type,
           std::vector<ClientMetric::Label> labels, double value) {
    MetricFamily& family = families_[name];
    if (family.name.empty()) {
      family.name = name;
      family.help = help;
      family.type = type;
    }
    ClientMetric metric;
    metric.label = std::move(labels);
    if (type == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
  }

  // A histogram from per-bucket (not cumulative) counts; bounds in
  // seconds, one more count than bounds (the +Inf bucket).
  void AddHistogram(const std::string& name, const std::string& help,
                    std::vector<ClientMetric::Label> labels,
                    const std::vector<double>& bounds,
                    const std::vector<uint64_t>& counts, double sum) {
    MetricFamily& family = families_[name];
    if (family.name.empty()) {
      family.name = name;
      family.help = help;
      family.type = MetricType::Histogram;
    }
    ClientMetric metric;
    metric.label = std::move(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = i < bounds.size()
                               ? bounds[i]
                               : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back(bucket);
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = sum;
    family.metric.push_back(std::move(metric));
  }

  std::vector<MetricFamily> Take() {
    std::vector<MetricFamily> out;
    for (auto& [name, family] : families_) out.push_back(std::move(family));
    return out;
  }

 private:
  std::map<std::string, MetricFamily> families_;
};

// Engine counters published as labelled families of their own instead.
bool LabelledElsewhere(const std::string& name) {
  return absl::StartsWith(name, "transport_retransmits_") ||
         absl::StartsWith(name, "transport_handshake_") ||
         name == "transport_flows_active";
}

// An engine counter as a metric: nanosecond counters become seconds.
void AddEngineCounter(Families& f, const std::string& name, const char* help,
                      uint64_t value,
                      const std::vector<ClientMetric::Label>& labels) {
  if (LabelledElsewhere(name)) return;
  if (name == "ping_rtt_ns_max") {
    f.Add("ferry_engine_ping_rtt_max_seconds", help, MetricType::Gauge, labels,
          value / 1e9);
  } else if (name == "ping_rtt_ns_sum") {
    f.Add("ferry_engine_ping_rtt_seconds_total", help, MetricType::Counter,
          labels, value / 1e9);
  } else if (absl::EndsWith(name, "_ns")) {
    f.Add(absl::StrCat("ferry_engine_", name.substr(0, name.size() - 3),
                       "_seconds_total"),
          help, MetricType::Counter, labels, value / 1e9);
  } else {
    f.Add(absl::StrCat("ferry_engine_", name, "_total"), help,
          MetricType::Counter, labels, static_cast<double>(value));
  }
}

// The port's link and counters.
void CollectPort(Families& f, Nic& nic, const std::string& port) {
  const dpdk::LinkState link = nic.port().Link();
  f.Add("ferry_port_link_up", "1 when the port's link is up", MetricType::Gauge,
        {{"port", port}}, link.up ? 1 : 0);
  const NicConfig& config = nic.config();
  f.Add("ferry_port_encryption_info",
        "How the port's flows are encrypted: mode (off, preferred, "
        "required) and cipher",
        MetricType::Gauge,
        {{"port", port},
         {"mode", engine::EncryptionName(config.encryption)},
         {"cipher", config.trust != nullptr
                        ? crypto::AeadCipherName(config.trust->cipher)
                        : "none"}},
        1);
  const dpdk::PortStats stats = nic.port().Stats();
  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } port_counters[] = {
      {"ferry_port_rx_packets_total", "Frames received by the port",
       stats.rx_packets},
      {"ferry_port_tx_packets_total", "Frames sent by the port",
       stats.tx_packets},
      {"ferry_port_rx_bytes_total", "Bytes received by the port",
       stats.rx_bytes},
      {"ferry_port_tx_bytes_total", "Bytes sent by the port", stats.tx_bytes},
      {"ferry_port_rx_missed_total",
       "Frames the port dropped: no room in an RX queue", stats.rx_missed},
      {"ferry_port_rx_errors_total", "Erroneous frames received",
       stats.rx_errors},
      {"ferry_port_tx_errors_total", "Failed transmissions", stats.tx_errors},
      {"ferry_port_rx_no_mbuf_total", "RX buffer allocation failures",
       stats.rx_no_mbuf},
  };
  for (const auto& c : port_counters) {
    f.Add(c.name, c.help, MetricType::Counter, {{"port", port}},
          static_cast<double>(c.value));
  }
  // net_af_xdp: what Ferry's XDP program did with the interface's frames.
  if (const std::string iface = xdp::AfXdpInterface(nic.config().device);
      !iface.empty()) {
    absl::StatusOr<xdp::ProgramCounters> xdp = xdp::ReadProgramCounters(iface);
    if (xdp.ok()) {
      const struct {
        const char* verdict;
        uint64_t value;
      } verdicts[] = {{"ferry_ipv4", xdp->diverted_ipv4},
                      {"ferry_arp", xdp->diverted_arp},
                      {"kernel", xdp->passed}};
      for (const auto& v : verdicts) {
        f.Add("ferry_xdp_frames_total",
              "Frames Ferry's XDP program saw on the port's interface: "
              "diverted to Ferry (IPv4, ARP) or left to the kernel",
              MetricType::Counter, {{"port", port}, {"verdict", v.verdict}},
              static_cast<double>(v.value));
      }
    }
  }
  const dpdk::MbufUsage mbufs = nic.port().Mbufs();
  f.Add("ferry_port_mbufs", "Packet buffers in the port's pools",
        MetricType::Gauge, {{"port", port}}, static_cast<double>(mbufs.total));
  f.Add("ferry_port_mbufs_in_use",
        "Packet buffers out of the port's pools now (RX rings, in flight)",
        MetricType::Gauge, {{"port", port}}, static_cast<double>(mbufs.in_use));
}

// One engine's counters, reasons and RTT histogram.
void CollectEngine(Families& f, const std::string& port, size_t e,
                   const engine::EngineStats& s) {
  const std::vector<ClientMetric::Label> labels = {
      {"port", port}, {"engine", std::to_string(e)}};
#define FERRY_COLLECT_ENGINE(name, help) \
  AddEngineCounter(f, #name, help, s.name, labels);
  FERRY_ENGINE_COUNTERS(FERRY_COLLECT_ENGINE)
#undef FERRY_COLLECT_ENGINE
  // Transport families with a reason label.
  const struct {
    const char* family;
    const char* help;
    const char* reason;
    uint64_t value;
  } by_reason[] = {
      {"ferry_transport_retransmits_total",
       "Segments sent again, by what detected the loss", "sack",
       s.transport_retransmits_fast},
      {"ferry_transport_retransmits_total",
       "Segments sent again, by what detected the loss", "timeout",
       s.transport_retransmits_timeout},
      {"ferry_transport_handshake_failures_total",
       "Connects that failed, by reason", "refused",
       s.transport_handshake_refused},
      {"ferry_transport_handshake_failures_total",
       "Connects that failed, by reason", "timed_out",
       s.transport_handshake_timed_out},
      {"ferry_transport_handshake_failures_total",
       "Connects that failed, by reason", "unreachable",
       s.transport_handshake_unreachable},
  };
  for (const auto& c : by_reason) {
    std::vector<ClientMetric::Label> with_reason = labels;
    with_reason.push_back({"reason", c.reason});
    f.Add(c.family, c.help, MetricType::Counter, with_reason,
          static_cast<double>(c.value));
  }
  f.Add("ferry_transport_flows_active", "Flows open now", MetricType::Gauge,
        labels, static_cast<double>(s.transport_flows_active));
  std::vector<double> bounds;
  for (uint64_t us : engine::kRttBucketBoundsUs) bounds.push_back(us / 1e6);
  f.AddHistogram(
      "ferry_transport_rtt_seconds",
      "Flow round-trip times measured from echoed timestamps", labels, bounds,
      std::vector<uint64_t>(s.rtt_buckets.begin(), s.rtt_buckets.end()),
      s.rtt_sum_ns / 1e9);
  for (size_t r = 1; r < s.rx_drop_malformed.size(); ++r) {
    std::vector<ClientMetric::Label> with_reason = labels;
    with_reason.push_back(
        {"reason", net::DropReasonName(static_cast<net::DropReason>(r))});
    f.Add("ferry_engine_rx_malformed_drops_total",
          "Frames dropped as malformed, by reason", MetricType::Counter,
          with_reason, static_cast<double>(s.rx_drop_malformed[r]));
  }
}

// The engine thread's context switches, from the kernel. On a core of its
// own a busy engine makes none; many involuntary ones say it shares its
// core (it yields to, or is preempted by, other threads), which costs
// latency that no engine counter shows.
void CollectEngineSwitches(Families& f, const std::string& port, size_t e,
                           pid_t tid) {
  if (tid == 0) return;
  const std::optional<ThreadSwitches> switches = ReadThreadSwitches(tid);
  if (!switches) return;
  const struct {
    const char* kind;
    uint64_t value;
  } kinds[] = {{"voluntary", switches->voluntary},
               {"involuntary", switches->involuntary}};
  for (const auto& k : kinds) {
    f.Add("ferry_engine_context_switches_total",
          "Times the kernel switched the engine's thread off its CPU: "
          "voluntary (it slept, idle) or involuntary (it yielded to another "
          "runnable thread or was preempted: a shared core)",
          MetricType::Counter,
          {{"port", port}, {"engine", std::to_string(e)}, {"kind", k.kind}},
          static_cast<double>(k.value));
  }
}

// Channel totals, and the queues and drops of each live channel.
void CollectChannels(Families& f, const ChannelTotals& t) {
  f.Add("ferry_channels_attached_total", "Channels attached since start",
        MetricType::Counter, {}, static_cast<double>(t.attached));
  f.Add("ferry_channels_refused_total", "Channel attach requests refused",
        MetricType::Counter, {}, static_cast<double>(t.refused));
  f.Add("ferry_channels_reclaimed_total",
        "Channels freed after their application left", MetricType::Counter, {},
        static_cast<double>(t.reclaimed));
  f.Add("ferry_channels_live", "Channels attached now", MetricType::Gauge, {},
        static_cast<double>(t.live));
  // Per live channel: bounded by the channel limit of each engine.
  for (const ChannelSample& c : t.channels) {
    const std::vector<ClientMetric::Label> labels = {
        {"channel", std::to_string(c.id)},
        {"port", c.nic},
        {"engine", std::to_string(c.engine)}};
    f.Add("ferry_channel_tx_queued",
          "Messages the application queued that the engine has not taken",
          MetricType::Gauge, labels, c.tx_queued);
    f.Add("ferry_channel_rx_queued",
          "Messages delivered that the application has not read",
          MetricType::Gauge, labels, c.rx_queued);
    f.Add("ferry_channel_engine_buffers",
          "Channel buffers its engine holds: sent and not yet acknowledged, "
          "or receiving",
          MetricType::Gauge, labels, static_cast<double>(c.engine_buffers));
    const struct {
      const char* reason;
      uint64_t value;
    } drops[] = {{"bad_descriptor", c.bad_descriptors},
                 {"no_buffers", c.rx_no_buffers},
                 {"ring_full", c.rx_ring_full},
                 {"events_dropped", c.events_dropped}};
    for (const auto& d : drops) {
      std::vector<ClientMetric::Label> with_reason = labels;
      with_reason.push_back({"reason", d.reason});
      f.Add("ferry_channel_drops_total", "Per-channel drops, by reason",
            MetricType::Counter, with_reason, static_cast<double>(d.value));
    }
  }
#define FERRY_COLLECT_CHANNEL(name, help)                        \
  f.Add("ferry_channel_" #name "_total", help " (all channels)", \
        MetricType::Counter, {}, static_cast<double>(t.name));
  FERRY_CHANNEL_COUNTERS(FERRY_COLLECT_CHANNEL)
#undef FERRY_COLLECT_CHANNEL
}

// The process_* families every Prometheus client library exports.
void CollectProcess(Families& f) {
  const ProcessUsage usage = ReadProcessUsage();
  f.Add("process_resident_memory_bytes", "Resident memory size in bytes",
        MetricType::Gauge, {}, static_cast<double>(usage.resident_bytes));
  f.Add("process_virtual_memory_bytes", "Virtual memory size in bytes",
        MetricType::Gauge, {}, static_cast<double>(usage.virtual_bytes));
  f.Add("process_open_fds", "Number of open file descriptors",
        MetricType::Gauge, {}, static_cast<double>(usage.open_fds));
  f.Add("process_max_fds", "Maximum number of open file descriptors",
        MetricType::Gauge, {}, static_cast<double>(usage.max_fds));
}

}  // namespace

std::vector<MetricFamily> FerryCollector::Collect() const {
  Families f;
  f.Add("ferry_build_info", "Ferry build: version and ABI", MetricType::Gauge,
        {{"version", kFerryVersion},
         {"channel_abi", std::to_string(FERRY_CHANNEL_ABI_VERSION)}},
        1);
  nics_->ForEach([&](Nic& nic) {
    const std::string port = nic.port().name();
    CollectPort(f, nic, port);
    for (size_t e = 0; e < nic.num_engines(); ++e) {
      const engine::EngineConfig& config = nic.engine(e).config();
      f.Add("ferry_engine_info",
            "An engine: the core it is pinned to (-1: none) and its "
            "polling mode",
            MetricType::Gauge,
            {{"port", port},
             {"engine", std::to_string(e)},
             {"core", std::to_string(config.core)},
             {"polling", engine::PollingModeName(config.idle.mode)}},
            1);
      CollectEngine(f, port, e, nic.engine(e).ReadStats());
      CollectEngineSwitches(f, port, e, nic.engine(e).kernel_thread_id());
    }
  });
  CollectChannels(f, channels_->Read());
  if (sessions_ != nullptr) {
    const SessionRegistry::Occupancy sessions = sessions_->Count();
    f.Add("ferry_sessions", "Application sessions open", MetricType::Gauge, {},
          static_cast<double>(sessions.sessions));
    f.Add("ferry_sessions_max",
          "Sessions ferryd allows at once (--max_sessions)", MetricType::Gauge,
          {}, static_cast<double>(sessions.max_sessions));
  }
  for (const HugepagePool& pool : ReadHugepagePools()) {
    f.Add("ferry_host_hugepages", "The host's hugepages of this size",
          MetricType::Gauge, {{"size", pool.size}},
          static_cast<double>(pool.pages));
    f.Add("ferry_host_hugepages_free",
          "The host's hugepages of this size not yet taken", MetricType::Gauge,
          {{"size", pool.size}}, static_cast<double>(pool.free_pages));
  }
  CollectProcess(f);
  return f.Take();
}

}  // namespace ferry::controlplane

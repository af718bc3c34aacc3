// What it takes to attach a NIC: the device, its IPv4 identity, and how its
// engines run. Validated as a pure function before anything is touched, so a
// bad request or flag fails with one clear message and changes nothing.
#ifndef FERRY_CONTROLPLANE_NIC_CONFIG_H_
#define FERRY_CONTROLPLANE_NIC_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/crypto/flow_crypto.h"
#include "dataplane/engine/encryption_mode.h"
#include "dataplane/engine/fault_injector.h"
#include "dataplane/engine/idle_policy.h"
#include "dataplane/net/addresses.h"
#include "dataplane/transport/congestion_control.h"

namespace ferry::controlplane {

inline constexpr int kMaxEnginesPerNic =
    16;  // a flow id names its engine in 4 bits

// Textual form, as flags and (later) gRPC requests carry it.
struct NicSpec {
  std::string device;   // PCI address or vdev spec
  std::string ip;       // "10.0.0.2/24"
  std::string gateway;  // optional
  std::string mac;      // optional: the port's own MAC when empty
  int mtu = 1500;
  int engines = 1;
  std::string cores;  // optional: "2,3" or "2-3", one CPU per engine
  std::string polling = "adaptive";
  int sleep_after_idle_us = 500;
  // Fault injection on every engine's transmit path (tests, experiments).
  double fault_drop = 0;
  double fault_duplicate = 0;
  double fault_delay = 0;
  int fault_delay_us = 100;
  double fault_corrupt = 0;
  double fault_reorder = 0;
  int fault_seed = 1;
  // Congestion control of the NIC's flows: "swift" or "none" (a fixed
  // window, for experiments), and Swift's queueing-delay target.
  std::string cc = "swift";
  int cc_target_delay_us = 50;
  // Flows one application channel may hold on this NIC's engines.
  int max_flows_per_channel = 16384;
  // Slots in each engine's flow table, and how many of them the channels
  // of one session may hold together (room left for other sessions).
  int max_flows_per_engine = 16384;
  int max_flows_per_session = 12288;
  // A flow whose peer has been silent this long while it waits for an
  // answer ends ("the peer stopped answering").
  int peer_timeout_ms = 2000;
  // Segments with this many payload bytes or more are sent from the
  // application's buffers without a copy where the port allows it; 0:
  // always copy (the default: see docs/ARCHITECTURE.md, "Zero-copy
  // transmit", for what it costs and saves on each port).
  int tx_zero_copy_min_bytes = 0;
  // Encrypted flows: "off", "preferred" or "required", and how often each
  // flow's keys move to the next epoch (0: never). Empty: the daemon's
  // default (ferryd --encryption; the NIC registry fills it in), else off.
  std::string encryption;
  int key_rotation_ms = 60000;
};

struct NicConfig {
  std::string device;
  net::Ipv4Prefix ip;
  std::optional<net::Ipv4Address> gateway;
  std::optional<net::MacAddress> mac;
  int mtu = 1500;
  int engines = 1;
  std::vector<int> cores;  // empty, or one per engine
  engine::IdlePolicyConfig idle;
  engine::FaultConfig faults;
  transport::CongestionConfig congestion;
  uint32_t max_flows_per_channel = 16384;
  uint32_t max_flows_per_engine = 16384;
  uint32_t max_flows_per_session = 12288;
  uint64_t peer_timeout_ns = 2'000'000'000;
  uint32_t tx_zero_copy_min_bytes = 0;
  engine::Encryption encryption = engine::Encryption::kOff;
  uint64_t key_rotation_ns = 60'000'000'000;
  // The node key and trust list, set by the NIC registry when the flows
  // are encrypted (null otherwise).
  const crypto::TrustConfig* trust = nullptr;
};

// "0,2-3" -> {0, 2, 3}. Each CPU must be below `num_cpus`; no repeats.
absl::StatusOr<std::vector<int>> ParseCoreList(absl::string_view text,
                                               int num_cpus);

// Checks every field; the message names the offending one (e.g. "--ip: ...").
absl::StatusOr<NicConfig> ValidateNicSpec(const NicSpec& spec, int num_cpus);

// A NIC file (ferryd --nics_file): one NIC per line, as `key=value` words
// named like ferryd's NIC flags ("device=net_memif1,role=client
// ip=10.71.0.1/24 gateway=10.71.0.254 engines=2"); blank lines and lines
// starting with '#' are skipped. Unset keys keep NicSpec's defaults. The
// message of an error names the line and the key.
absl::StatusOr<std::vector<NicSpec>> ParseNicFile(absl::string_view text);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NIC_CONFIG_H_

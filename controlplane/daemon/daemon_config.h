// ferryd's configuration: the flags as given (DaemonFlags) and what they
// mean once checked (DaemonConfig). VerifyDaemonConfig is a pure function:
// it touches nothing, so a bad flag fails with one message that names it
// and nothing has been started.
#ifndef FERRY_CONTROLPLANE_DAEMON_DAEMON_CONFIG_H_
#define FERRY_CONTROLPLANE_DAEMON_DAEMON_CONFIG_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controlplane/device_policy.h"
#include "controlplane/nic_config.h"
#include "controlplane/session_registry.h"
#include "dataplane/base/logging.h"
#include "dataplane/channel/channel_segment.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {

// Every flag of ferryd, as text and numbers (see ferryd_main.cc for each
// flag's meaning and default).
struct DaemonFlags {
  NicSpec nic;                 // --device, --ip and the NIC's other flags
  std::string nics_file;       // its path, for messages
  std::string nics_file_text;  // --nics_file's contents (ParseNicFile)
  std::string allow_device_interfaces;
  std::string allow_device_files;
  std::string hugepages = "auto";
  int memory_mb = 512;
  std::string log_level = "info";
  std::string ping;
  int ping_count = 5;
  int ping_interval_ms = 200;
  int stats_interval_s = 0;
  int max_sessions = 256;
  int max_connections_per_user = 128;
  int max_channels_per_session = 16;
  int max_channel_mb = 256;
  int session_memory_mb = 1024;
  int session_open_timeout_ms = 2000;
  int max_unopened_sessions_per_user = 256;
  int session_heartbeat_timeout_ms = 1000;
  int session_linger_ms = 5000;
  std::string channel_socket;
  std::string node_key_file;
  std::string trusted_peers_file;
  std::string channel_socket_mode = "0660";
  std::string channel_pages = "auto";
  std::string metrics_address;
  std::string grpc_socket;
  std::string grpc_socket_mode = "0660";
  std::string grpc_socket_group;
  std::string admin_socket;
  std::string admin_socket_mode = "0600";
  std::string grpc_tls_admin_names;
  std::string grpc_tls_address;
  std::string grpc_tls_cert;
  std::string grpc_tls_key;
  std::string grpc_tls_client_ca;
};

struct DaemonConfig {
  LogSeverity log_severity = LogSeverity::kInfo;
  // The NIC the flags attach at start, if any (its spec as given too: the
  // NIC registry attaches from the spec).
  std::optional<NicSpec> nic_spec;
  std::optional<NicConfig> nic;
  // The NICs of --nics_file, checked, attached after the flags' NIC.
  std::vector<NicSpec> more_nics;
  // What device specs from the API may name besides the harmless keys.
  DevicePolicy api_devices;
  dpdk::HugepageMode hugepages = dpdk::HugepageMode::kAuto;
  int memory_mb = 512;
  struct Ping {
    net::Ipv4Address target;
    uint32_t count = 5;
    absl::Duration interval;
  };
  std::optional<Ping> ping;
  absl::Duration stats_interval;  // zero: no periodic stats lines
  SessionLimits session_limits;
  uint32_t max_connections_per_user = 128;
  std::string channel_socket;
  // Encrypted flows: the node key (made there on first need) and the
  // trust list (empty: nobody).
  std::string node_key_file;
  std::string trusted_peers_file;
  // The mode of every NIC that names none (--encryption).
  std::string default_encryption = "required";
  int channel_socket_mode = 0660;
  channel::SegmentMemory channel_pages = channel::SegmentMemory::kAuto;
  std::string metrics_address;  // empty: no Prometheus endpoint
  std::string grpc_socket;
  int grpc_socket_mode = 0660;
  int socket_gid = -1;  // the sockets' group, -1: unchanged
  std::string admin_socket;
  int admin_socket_mode = 0600;
  // TCP with TLS (empty address: none), and the certificate names that
  // are administrators there.
  std::string tls_address;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::set<std::string> tls_admin_names;
};

// A group's id by name, or nothing when there is no such group.
using GroupLookup = std::function<std::optional<int>(const std::string&)>;

// The system's group database (getgrnam), or a numeric group id as given
// (a container's group database need not know the host's groups: a
// Kubernetes pod shares the socket's group by number).
std::optional<int> SystemGroupId(const std::string& name);

// Checks every flag; INVALID_ARGUMENT names the first bad one
// ("--max_sessions: must be 1..4096").
absl::StatusOr<DaemonConfig> VerifyDaemonConfig(const DaemonFlags& flags,
                                                int num_cpus,
                                                const GroupLookup& groups);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_DAEMON_DAEMON_CONFIG_H_

#include "controlplane/daemon/daemon_config.h"

#include <grp.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "controlplane/api/admin_socket.h"
#include "dataplane/base/status_macros.h"

namespace ferry::controlplane {
namespace {

absl::Status Bad(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// The flag's value when it lies in [lo, hi].
absl::StatusOr<int> InRange(const char* flag, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    return Bad(absl::StrFormat("--%s: must be %d..%d", flag, lo, hi));
  }
  return value;
}

absl::StatusOr<int> OctalMode(const char* flag, const std::string& text) {
  char* end = nullptr;
  const long mode = std::strtol(text.c_str(), &end, 8);
  if (text.empty() || *end != '\0' || mode < 0 || mode > 0777) {
    return Bad(absl::StrFormat(
        "--%s: '%s' is not an octal permission like 0660", flag, text));
  }
  return static_cast<int>(mode);
}

absl::StatusOr<LogSeverity> ParseLogLevel(absl::string_view text) {
  if (text == "info") return LogSeverity::kInfo;
  if (text == "warning") return LogSeverity::kWarning;
  if (text == "error") return LogSeverity::kError;
  return Bad(
      absl::StrFormat("--log_level: '%s' is not info, warning or error", text));
}

absl::StatusOr<dpdk::HugepageMode> ParseHugepageMode(absl::string_view text) {
  if (text == "auto") return dpdk::HugepageMode::kAuto;
  if (text == "require") return dpdk::HugepageMode::kRequire;
  if (text == "off") return dpdk::HugepageMode::kOff;
  return Bad(
      absl::StrFormat("--hugepages: '%s' is not auto, require or off", text));
}

// The NIC that --device and --ip attach at start, and which host
// interfaces and files specs from the API may name.
absl::Status VerifyDevices(const DaemonFlags& flags, int num_cpus,
                           DaemonConfig* config) {
  for (absl::string_view name :
       absl::StrSplit(flags.allow_device_interfaces, ',', absl::SkipEmpty())) {
    config->api_devices.interfaces.insert(std::string(name));
  }
  for (absl::string_view path :
       absl::StrSplit(flags.allow_device_files, ',', absl::SkipEmpty())) {
    if (path[0] != '/') {
      return Bad(absl::StrFormat(
          "--allow_device_files: '%s' is not an absolute path", path));
    }
    config->api_devices.files.insert(std::string(path));
  }
  DevicePolicy operator_devices;
  operator_devices.any_host_resource = true;
  if (!flags.nics_file_text.empty()) {
    absl::StatusOr<std::vector<NicSpec>> nics =
        ParseNicFile(flags.nics_file_text);
    if (!nics.ok()) {
      return Bad(absl::StrFormat("--nics_file %s: %s", flags.nics_file,
                                 nics.status().message()));
    }
    for (size_t i = 0; i < nics->size(); ++i) {
      const NicSpec& spec = (*nics)[i];
      absl::Status s = CheckDeviceSpec(spec.device, operator_devices);
      if (s.ok()) s = ValidateNicSpec(spec, num_cpus).status();
      if (!s.ok()) {
        return Bad(absl::StrFormat("--nics_file %s: NIC %d (%s): %s",
                                   flags.nics_file, i + 1, spec.device,
                                   s.message()));
      }
    }
    config->more_nics = *std::move(nics);
  }
  // A NIC from flags is optional, but a partial one is a mistake.
  if (flags.nic.device.empty() && flags.nic.ip.empty()) return absl::OkStatus();
  if (absl::Status s = CheckDeviceSpec(flags.nic.device, operator_devices);
      !s.ok()) {
    return Bad(absl::StrCat("--device: ", s.message()));
  }
  absl::StatusOr<NicConfig> nic = ValidateNicSpec(flags.nic, num_cpus);
  if (!nic.ok()) return Bad(nic.status().message());
  config->nic_spec = flags.nic;
  config->nic = *nic;
  return absl::OkStatus();
}

absl::Status VerifyPing(const DaemonFlags& flags, DaemonConfig* config) {
  if (flags.ping.empty()) return absl::OkStatus();
  absl::StatusOr<net::Ipv4Address> ip = net::Ipv4Address::Parse(flags.ping);
  if (!ip.ok()) return Bad(absl::StrCat("--ping: ", ip.status().message()));
  if (flags.ping_count < 1 || flags.ping_interval_ms < 1) {
    return Bad("--ping_count and --ping_interval_ms must be >= 1");
  }
  if (!config->nic.has_value()) return Bad("--ping needs --device and --ip");
  config->ping =
      DaemonConfig::Ping{*ip, static_cast<uint32_t>(flags.ping_count),
                         absl::Milliseconds(flags.ping_interval_ms)};
  return absl::OkStatus();
}

absl::Status VerifySessionLimits(const DaemonFlags& f, DaemonConfig* config) {
  SessionLimits& limits = config->session_limits;
  ASSIGN_OR_RETURN(const int sessions,
                   InRange("max_sessions", f.max_sessions, 1, 4096));
  limits.max_sessions = static_cast<uint32_t>(sessions);
  ASSIGN_OR_RETURN(const int connections,
                   InRange("max_connections_per_user",
                           f.max_connections_per_user, 1, 65536));
  config->max_connections_per_user = static_cast<uint32_t>(connections);
  ASSIGN_OR_RETURN(
      const int channels,
      InRange("max_channels_per_session", f.max_channels_per_session, 1, 1024));
  limits.max_channels_per_session = static_cast<uint32_t>(channels);
  ASSIGN_OR_RETURN(const int open_ms,
                   InRange("session_open_timeout_ms", f.session_open_timeout_ms,
                           100, 60000));
  limits.open_timeout = absl::Milliseconds(open_ms);
  ASSIGN_OR_RETURN(const int unopened,
                   InRange("max_unopened_sessions_per_user",
                           f.max_unopened_sessions_per_user, 1, 65536));
  limits.max_unopened_per_user = static_cast<uint32_t>(unopened);
  ASSIGN_OR_RETURN(const int heartbeat_ms,
                   InRange("session_heartbeat_timeout_ms",
                           f.session_heartbeat_timeout_ms, 100, 60000));
  limits.default_heartbeat_timeout = absl::Milliseconds(heartbeat_ms);
  ASSIGN_OR_RETURN(const int channel_mb,
                   InRange("max_channel_mb", f.max_channel_mb, 1, 65536));
  limits.max_channel_bytes = uint64_t{static_cast<uint32_t>(channel_mb)} << 20;
  ASSIGN_OR_RETURN(
      const int session_mb,
      InRange("session_memory_mb", f.session_memory_mb, 1, 1 << 20));
  limits.max_session_memory_bytes = uint64_t{static_cast<uint32_t>(session_mb)}
                                    << 20;
  ASSIGN_OR_RETURN(
      const int linger_ms,
      InRange("session_linger_ms", f.session_linger_ms, 0, 600000));
  limits.default_linger = absl::Milliseconds(linger_ms);
  return absl::OkStatus();
}

// The three sockets of the API and the channel socket: where they are,
// who may open them.
absl::Status VerifySockets(const DaemonFlags& f, const GroupLookup& groups,
                           DaemonConfig* config) {
  ASSIGN_OR_RETURN(config->channel_socket_mode,
                   OctalMode("channel_socket_mode", f.channel_socket_mode));
  if (f.channel_pages == "auto") {
    config->channel_pages = channel::SegmentMemory::kAuto;
  } else if (f.channel_pages == "huge") {
    config->channel_pages = channel::SegmentMemory::kHugepages;
  } else if (f.channel_pages == "small") {
    config->channel_pages = channel::SegmentMemory::kOrdinaryPages;
  } else {
    return Bad(absl::StrFormat(
        "--channel_pages: '%s' is not auto, huge or small", f.channel_pages));
  }
  ASSIGN_OR_RETURN(config->grpc_socket_mode,
                   OctalMode("grpc_socket_mode", f.grpc_socket_mode));
  ASSIGN_OR_RETURN(config->admin_socket_mode,
                   OctalMode("admin_socket_mode", f.admin_socket_mode));
  if ((config->admin_socket_mode & 0077) != 0) {
    return Bad(
        "--admin_socket_mode: the admin socket is root's alone (0600 or "
        "0700)");
  }
  if (!f.grpc_socket_group.empty()) {
    const std::optional<int> gid = groups(f.grpc_socket_group);
    if (!gid.has_value()) {
      return Bad(absl::StrFormat("--grpc_socket_group: no group '%s'",
                                 f.grpc_socket_group));
    }
    config->socket_gid = *gid;
  }
  config->channel_socket = f.channel_socket;
  config->node_key_file = f.node_key_file;
  config->trusted_peers_file = f.trusted_peers_file;
  const std::string mode =
      f.nic.encryption.empty() ? "required" : f.nic.encryption;
  if (mode != "off" && mode != "preferred" && mode != "required") {
    return Bad("--encryption: must be off, preferred or required");
  }
  config->default_encryption = mode;
  config->grpc_socket = f.grpc_socket;
  config->admin_socket = f.admin_socket.empty()
                             ? DefaultAdminSocket(f.grpc_socket)
                             : f.admin_socket;
  if (config->admin_socket == f.grpc_socket) {
    return Bad(
        "--admin_socket: must differ from --grpc_socket (the application "
        "socket)");
  }
  if (!f.grpc_tls_address.empty() &&
      (f.grpc_tls_cert.empty() || f.grpc_tls_key.empty())) {
    return Bad(
        "--grpc_tls_address needs --grpc_tls_cert and --grpc_tls_key (TCP "
        "is only offered with TLS)");
  }
  for (absl::string_view name :
       absl::StrSplit(f.grpc_tls_admin_names, ',', absl::SkipEmpty())) {
    config->tls_admin_names.insert(std::string(name));
  }
  if (!config->tls_admin_names.empty() && f.grpc_tls_client_ca.empty()) {
    return Bad(
        "--grpc_tls_admin_names needs --grpc_tls_client_ca (only a "
        "verified certificate names an administrator)");
  }
  config->tls_address = f.grpc_tls_address;
  config->tls_cert = f.grpc_tls_cert;
  config->tls_key = f.grpc_tls_key;
  config->tls_client_ca = f.grpc_tls_client_ca;
  config->metrics_address = f.metrics_address;
  return absl::OkStatus();
}

}  // namespace

std::optional<int> SystemGroupId(const std::string& name) {
  if (!name.empty() && name.size() <= 9 &&
      name.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoi(name);  // at most 999,999,999: fits
  }
  const struct group* entry = getgrnam(name.c_str());
  if (entry == nullptr) return std::nullopt;
  return static_cast<int>(entry->gr_gid);
}

absl::StatusOr<DaemonConfig> VerifyDaemonConfig(const DaemonFlags& flags,
                                                int num_cpus,
                                                const GroupLookup& groups) {
  DaemonConfig config;
  ASSIGN_OR_RETURN(config.log_severity, ParseLogLevel(flags.log_level));
  RETURN_IF_ERROR(VerifyDevices(flags, num_cpus, &config));
  ASSIGN_OR_RETURN(config.hugepages, ParseHugepageMode(flags.hugepages));
  ASSIGN_OR_RETURN(config.memory_mb,
                   InRange("memory_mb", flags.memory_mb, 64, 1 << 20));
  RETURN_IF_ERROR(VerifyPing(flags, &config));
  if (flags.stats_interval_s < 0) {
    return Bad("--stats_interval_s: must be >= 0");
  }
  config.stats_interval = absl::Seconds(flags.stats_interval_s);
  RETURN_IF_ERROR(VerifySessionLimits(flags, &config));
  RETURN_IF_ERROR(VerifySockets(flags, groups, &config));
  return config;
}

}  // namespace ferry::controlplane

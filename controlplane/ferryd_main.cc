// ferryd: owns a NIC through DPDK and runs its engines.
//
//   ferryd --device=net_af_packet0,iface=veth0 --ip=10.77.0.2/24
//
// Every flag can also come from a file: --flagfile=/etc/ferry/ferryd.flags
// (one --flag=value per line). Bad configuration ends with one line
// "ferryd: error: ..." and exit status 2; nothing is attached.
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/ferry_attach_abi.h"
#include "controlplane/api/admin_socket.h"
#include "controlplane/api/api_server.h"
#include "controlplane/api/api_services.h"
#include "controlplane/api/caller_role.h"
#include "controlplane/api/flow_service.h"
#include "controlplane/api/peer_table.h"
#include "controlplane/api/session_service.h"
#include "controlplane/channel_registry.h"
#include "controlplane/channel_totals_snapshot.h"
#include "controlplane/completion_waiter.h"
#include "controlplane/device_policy.h"
#include "controlplane/flow_directory.h"
#include "controlplane/flow_opener.h"
#include "controlplane/metrics/ferry_collector.h"
#include "controlplane/nic.h"
#include "controlplane/nic_config.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"
#include "controlplane/stats_format.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/dpdk_log.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/net/addresses.h"
#include "prometheus/exposer.h"

ABSL_FLAG(std::string, device, "",
          "NIC to attach: a PCI address (0000:3b:00.0) or a DPDK vdev spec "
          "(net_af_packet0,iface=veth0; net_memif0,role=server,socket=PATH)");
ABSL_FLAG(std::string, allow_device_interfaces, "",
          "Host interfaces (comma separated) that device specs attached "
          "through the admin API may name (iface=, remote=, rx_iface=...); "
          "--device itself may name any");
ABSL_FLAG(std::string, allow_device_files, "",
          "Host files (absolute paths, comma separated) that device specs "
          "attached through the admin API may name (rx_pcap=, tx_pcap=, "
          "xdp_prog=, a memif socket with socket-abstract=no)");
ABSL_FLAG(std::string, ip, "", "IPv4 address and prefix, e.g. 10.0.0.2/24");
ABSL_FLAG(std::string, gateway, "",
          "IPv4 next hop for destinations outside the subnet");
ABSL_FLAG(std::string, mac, "", "MAC address (default: the port's own)");
ABSL_FLAG(int, mtu, 1500, "MTU in bytes, 576..9000");
ABSL_FLAG(int, engines, 1, "Engines (threads, queue pairs) for the NIC");
ABSL_FLAG(std::string, cores, "",
          "CPUs to pin engines to, one per engine: '2,3' or '2-3' "
          "(default: not pinned)");
ABSL_FLAG(std::string, polling, "adaptive",
          "busy: engines spin on dedicated cores; adaptive: spin while there "
          "is traffic, sleep when idle");
ABSL_FLAG(int, sleep_after_idle_us, 500,
          "adaptive polling: idle time before an engine sleeps");
ABSL_FLAG(std::string, hugepages, "auto",
          "auto: hugepages if free, else ordinary pages with a warning; "
          "require: fail without them; off: ordinary pages (--no-huge)");
ABSL_FLAG(int, memory_mb, 512, "DPDK memory in MiB");
ABSL_FLAG(std::string, dpdk_log_level, "error",
          "Lowest DPDK log level printed: debug, info, notice, warning, "
          "error, critical");
ABSL_FLAG(std::string, log_level, "info", "info, warning or error");
ABSL_FLAG(std::string, ping, "",
          "Debug: send ICMP echo requests to this IPv4 address from engine 0");
ABSL_FLAG(int, ping_count, 5, "Debug: echo requests to send with --ping");
ABSL_FLAG(int, ping_interval_ms, 200, "Debug: interval between pings");
ABSL_FLAG(double, fault_drop, 0,
          "Testing: probability that a transmitted frame is dropped");
ABSL_FLAG(double, fault_duplicate, 0,
          "Testing: probability that a transmitted frame is sent twice");
ABSL_FLAG(double, fault_delay, 0,
          "Testing: probability that a transmitted frame is held back "
          "--fault_delay_us (later frames overtake it)");
ABSL_FLAG(int, fault_delay_us, 100, "Testing: how long --fault_delay holds");
ABSL_FLAG(int, fault_seed, 1, "Testing: seed of the fault injector");
ABSL_FLAG(std::string, cc, "swift",
          "Congestion control of flows: swift (delay based) or none (a "
          "fixed window, for experiments)");
ABSL_FLAG(int, cc_target_delay_us, 50,
          "Swift: queueing delay above the base RTT that backs off (raise "
          "it where CPU scheduling, not the network, delays packets)");
ABSL_FLAG(int, max_flows_per_channel, 16384,
          "Quota: flows (connected and accepted) one application channel "
          "may hold on the --device NIC (1..65536)");
ABSL_FLAG(int, max_flows_per_engine, 16384,
          "Slots in each engine's flow table on the --device NIC (1..65535)");
ABSL_FLAG(int, max_flows_per_session, 12288,
          "Quota: flows the channels of one session may hold together on "
          "one engine of the --device NIC, so that others keep room "
          "(1..65535)");
ABSL_FLAG(int, max_sessions, 256,
          "Quota: application sessions open at once (1..4096)");
ABSL_FLAG(int, max_connections_per_user, 128,
          "Quota: connections one user (by the kernel's peer credentials) "
          "may hold to each of ferryd's Unix sockets (1..65536)");
ABSL_FLAG(int, max_channels_per_session, 16,
          "Quota: channels one application session may hold");
ABSL_FLAG(int, max_channel_mb, 256,
          "Quota: shared memory of one application channel, MiB (1..65536)");
ABSL_FLAG(int, session_memory_mb, 1024,
          "Quota: shared memory of all of one session's channels together, "
          "MiB (1..1048576); ferryd holds at most --max_sessions times this "
          "for applications");
ABSL_FLAG(int, session_open_timeout_ms, 2000,
          "How long a new session stream may take to send `open` before "
          "ferryd ends it (100..60000)");
ABSL_FLAG(int, max_unopened_sessions_per_user, 256,
          "Quota: session streams of one user waiting to send `open` "
          "(1..65536)");
ABSL_FLAG(int, session_heartbeat_timeout_ms, 1000,
          "How long a session may stay silent before ferryd ends it, unless "
          "the session asks for another (100..60000)");
ABSL_FLAG(int, session_linger_ms, 5000,
          "When a session ends (its application exits, crashes or hangs), "
          "how long its channels may take to deliver what they had "
          "accepted before their flows are reset, unless the session asks "
          "for another (0..600000; 0: reset at once)");
ABSL_FLAG(int, stats_interval_s, 0,
          "Log every engine's counters this often (0: only at exit)");
ABSL_FLAG(std::string, channel_socket, FERRY_DEFAULT_CHANNEL_SOCKET,
          "Unix socket where applications attach channels ('@name': an "
          "abstract socket)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:10960",
          "Where Prometheus scrapes /metrics (host:port; port 0 picks one; "
          "empty: no metrics endpoint)");
ABSL_FLAG(std::string, grpc_socket, "/run/ferry/ferryd.sock",
          "Unix socket of the gRPC application API: sessions, channels and "
          "each session's own flows ('@name': abstract)");
ABSL_FLAG(std::string, grpc_socket_mode, "0660",
          "Permissions of the application socket (octal): who may be an "
          "application");
ABSL_FLAG(std::string, grpc_socket_group, "",
          "Group of the application and channel sockets (empty: root's): "
          "its members may run applications");
ABSL_FLAG(std::string, admin_socket, "",
          "Unix socket of the gRPC admin API: NICs, stats, every session's "
          "flows (empty: admin.sock next to --grpc_socket, or "
          "--grpc_socket plus '.admin')");
ABSL_FLAG(std::string, admin_socket_mode, "0600",
          "Permissions of the admin socket (octal; owned by root)");
ABSL_FLAG(std::string, grpc_tls_admin_names, "",
          "TLS: client certificate names (common name or subject "
          "alternative name, comma separated) that are administrators; "
          "every other verified client is an application");
ABSL_FLAG(std::string, grpc_tls_address, "",
          "Also serve the gRPC API on this host:port, with TLS only (empty: "
          "Unix socket only)");
ABSL_FLAG(std::string, grpc_tls_cert, "", "TLS: server certificate (PEM)");
ABSL_FLAG(std::string, grpc_tls_key, "", "TLS: server private key (PEM)");
ABSL_FLAG(std::string, grpc_tls_client_ca, "",
          "TLS: require client certificates signed by this CA (PEM)");
ABSL_FLAG(std::string, channel_socket_mode, "0660",
          "Permissions of the channel socket (octal): who may attach");

namespace ferry {
namespace {

constexpr int kExitBadConfig = 2;
constexpr int kExitRuntimeError = 1;

[[noreturn]] void Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "ferryd: error: %s\n", std::string(message).c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

absl::StatusOr<dpdk::HugepageMode> ParseHugepageMode(absl::string_view text) {
  if (text == "auto") return dpdk::HugepageMode::kAuto;
  if (text == "require") return dpdk::HugepageMode::kRequire;
  if (text == "off") return dpdk::HugepageMode::kOff;
  return absl::InvalidArgumentError(
      absl::StrFormat("--hugepages: '%s' is not auto, require or off", text));
}

bool ParseLogLevel(absl::string_view text, LogSeverity* severity) {
  if (text == "info") {
    *severity = LogSeverity::kInfo;
  } else if (text == "warning") {
    *severity = LogSeverity::kWarning;
  } else if (text == "error") {
    *severity = LogSeverity::kError;
  } else {
    return false;
  }
  return true;
}

// The flag's value when it lies in [lo, hi]; otherwise ferryd stops with a
// message naming the range.
int IntFlagInRangeOrFail(const char* flag, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    Fail(kExitBadConfig, absl::StrFormat("--%s: must be %d..%d", flag, lo, hi));
  }
  return value;
}

int ParseOctalModeOrFail(const char* flag, const std::string& text) {
  char* end = nullptr;
  const long mode = std::strtol(text.c_str(), &end, 8);
  if (text.empty() || *end != '\0' || mode < 0 || mode > 0777) {
    Fail(kExitBadConfig,
         absl::StrFormat("--%s: '%s' is not an octal permission like 0660",
                         flag, text));
  }
  return static_cast<int>(mode);
}

void LogAllStats(controlplane::NicRegistry& nics,
                 controlplane::ChannelRegistry& channels) {
  nics.ForEach([](controlplane::Nic& nic) {
    for (size_t i = 0; i < nic.num_engines(); ++i) {
      FERRY_LOG(Info, "stats engine=%d %s", i,
                controlplane::FormatEngineStats(nic.engine(i).ReadStats()));
    }
  });
  channels.Reap();
  FERRY_LOG(Info, "stats channels %s",
            controlplane::FormatChannelTotals(channels.Totals()));
}

void StartPing(controlplane::NicRegistry& nics, const std::string& name,
               net::Ipv4Address target) {
  // A virtual wire (memif) comes up only once its peer connects; pings
  // sent before that are lost.
  const absl::Time link_deadline = absl::Now() + absl::Seconds(30);
  bool up = false;
  while (!up && absl::Now() < link_deadline) {
    nics.With(name, [&](controlplane::Nic& nic) { up = nic.port().Link().up; })
        .IgnoreError();
    if (!up) absl::SleepFor(absl::Milliseconds(10));
  }
  if (!up)
    FERRY_LOG(Warning, "ping: link still down after 30 s, pinging anyway");
  engine::EngineCommand ping;
  ping.type = engine::CommandType::kStartPing;
  ping.ip = target;
  ping.count = static_cast<uint32_t>(absl::GetFlag(FLAGS_ping_count));
  ping.interval_ns =
      static_cast<uint64_t>(absl::GetFlag(FLAGS_ping_interval_ms)) * 1000000;
  std::unique_ptr<engine::Completion> completion =
      std::make_unique<engine::Completion>();
  const absl::Status status = nics.Run(controlplane::EngineRef{name, 0}, ping,
                                       completion, absl::Seconds(5));
  if (!status.ok()) FERRY_LOG(Error, "ping: %s", status.message());
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Ferry daemon: attaches NICs through DPDK and runs their engines.\n"
      "  ferryd [--device=SPEC --ip=A.B.C.D/LEN] [flags]\n"
      "Without --device, NICs are attached through the gRPC API.");
  absl::ParseCommandLine(argc, argv);

  // Everything is checked before anything is started.
  LogSeverity severity;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &severity)) {
    Fail(kExitBadConfig, absl::StrFormat("--log_level: '%s' is not info, "
                                         "warning or error",
                                         absl::GetFlag(FLAGS_log_level)));
  }
  SetMinLogSeverity(severity);
  controlplane::NicSpec spec;
  spec.device = absl::GetFlag(FLAGS_device);
  spec.ip = absl::GetFlag(FLAGS_ip);
  spec.gateway = absl::GetFlag(FLAGS_gateway);
  spec.mac = absl::GetFlag(FLAGS_mac);
  spec.mtu = absl::GetFlag(FLAGS_mtu);
  spec.engines = absl::GetFlag(FLAGS_engines);
  spec.cores = absl::GetFlag(FLAGS_cores);
  spec.polling = absl::GetFlag(FLAGS_polling);
  spec.sleep_after_idle_us = absl::GetFlag(FLAGS_sleep_after_idle_us);
  spec.fault_drop = absl::GetFlag(FLAGS_fault_drop);
  spec.fault_duplicate = absl::GetFlag(FLAGS_fault_duplicate);
  spec.fault_delay = absl::GetFlag(FLAGS_fault_delay);
  spec.fault_delay_us = absl::GetFlag(FLAGS_fault_delay_us);
  spec.fault_seed = absl::GetFlag(FLAGS_fault_seed);
  spec.cc = absl::GetFlag(FLAGS_cc);
  spec.cc_target_delay_us = absl::GetFlag(FLAGS_cc_target_delay_us);
  spec.max_flows_per_channel = absl::GetFlag(FLAGS_max_flows_per_channel);
  spec.max_flows_per_engine = absl::GetFlag(FLAGS_max_flows_per_engine);
  spec.max_flows_per_session = absl::GetFlag(FLAGS_max_flows_per_session);
  const int num_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  // A NIC from flags is optional, but a partial one is a mistake.
  const bool nic_from_flags = !spec.device.empty() || !spec.ip.empty();
  std::optional<controlplane::NicConfig> nic_config;
  controlplane::DevicePolicy api_devices;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_allow_device_interfaces), ',',
                      absl::SkipEmpty())) {
    api_devices.interfaces.insert(std::string(name));
  }
  for (absl::string_view path : absl::StrSplit(
           absl::GetFlag(FLAGS_allow_device_files), ',', absl::SkipEmpty())) {
    if (path[0] != '/') {
      Fail(kExitBadConfig,
           absl::StrFormat("--allow_device_files: '%s' is not an absolute "
                           "path",
                           path));
    }
    api_devices.files.insert(std::string(path));
  }
  if (nic_from_flags) {
    controlplane::DevicePolicy operator_devices;
    operator_devices.any_host_resource = true;
    if (absl::Status s =
            controlplane::CheckDeviceSpec(spec.device, operator_devices);
        !s.ok()) {
      Fail(kExitBadConfig, absl::StrCat("--device: ", s.message()));
    }
    absl::StatusOr<controlplane::NicConfig> config =
        controlplane::ValidateNicSpec(spec, num_cpus);
    if (!config.ok()) Fail(kExitBadConfig, config.status().message());
    nic_config = *config;
  }

  absl::StatusOr<dpdk::HugepageMode> huge =
      ParseHugepageMode(absl::GetFlag(FLAGS_hugepages));
  if (!huge.ok()) Fail(kExitBadConfig, huge.status().message());
  const int memory_mb = IntFlagInRangeOrFail(
      "memory_mb", absl::GetFlag(FLAGS_memory_mb), 64, 1 << 20);
  std::optional<net::Ipv4Address> ping_target;
  if (!absl::GetFlag(FLAGS_ping).empty()) {
    absl::StatusOr<net::Ipv4Address> ip =
        net::Ipv4Address::Parse(absl::GetFlag(FLAGS_ping));
    if (!ip.ok()) {
      Fail(kExitBadConfig, absl::StrCat("--ping: ", ip.status().message()));
    }
    if (absl::GetFlag(FLAGS_ping_count) < 1 ||
        absl::GetFlag(FLAGS_ping_interval_ms) < 1) {
      Fail(kExitBadConfig, "--ping_count and --ping_interval_ms must be >= 1");
    }
    if (!nic_from_flags) Fail(kExitBadConfig, "--ping needs --device and --ip");
    ping_target = *ip;
  }
  if (absl::GetFlag(FLAGS_stats_interval_s) < 0) {
    Fail(kExitBadConfig, "--stats_interval_s: must be >= 0");
  }
  controlplane::SessionLimits session_limits;
  session_limits.max_sessions = static_cast<uint32_t>(IntFlagInRangeOrFail(
      "max_sessions", absl::GetFlag(FLAGS_max_sessions), 1, 4096));
  const uint32_t max_connections_per_user =
      static_cast<uint32_t>(IntFlagInRangeOrFail(
          "max_connections_per_user",
          absl::GetFlag(FLAGS_max_connections_per_user), 1, 65536));
  session_limits.max_channels_per_session =
      static_cast<uint32_t>(IntFlagInRangeOrFail(
          "max_channels_per_session",
          absl::GetFlag(FLAGS_max_channels_per_session), 1, 1024));
  session_limits.open_timeout = absl::Milliseconds(IntFlagInRangeOrFail(
      "session_open_timeout_ms", absl::GetFlag(FLAGS_session_open_timeout_ms),
      100, 60000));
  session_limits.max_unopened_per_user =
      static_cast<uint32_t>(IntFlagInRangeOrFail(
          "max_unopened_sessions_per_user",
          absl::GetFlag(FLAGS_max_unopened_sessions_per_user), 1, 65536));
  session_limits.default_heartbeat_timeout =
      absl::Milliseconds(IntFlagInRangeOrFail(
          "session_heartbeat_timeout_ms",
          absl::GetFlag(FLAGS_session_heartbeat_timeout_ms), 100, 60000));
  session_limits.max_channel_bytes =
      uint64_t{static_cast<uint32_t>(IntFlagInRangeOrFail(
          "max_channel_mb", absl::GetFlag(FLAGS_max_channel_mb), 1, 65536))}
      << 20;
  session_limits.max_session_memory_bytes =
      uint64_t{static_cast<uint32_t>(IntFlagInRangeOrFail(
          "session_memory_mb", absl::GetFlag(FLAGS_session_memory_mb), 1,
          1 << 20))}
      << 20;
  session_limits.default_linger = absl::Milliseconds(IntFlagInRangeOrFail(
      "session_linger_ms", absl::GetFlag(FLAGS_session_linger_ms), 0, 600000));
  const int channel_socket_mode = ParseOctalModeOrFail(
      "channel_socket_mode", absl::GetFlag(FLAGS_channel_socket_mode));
  const int grpc_socket_mode = ParseOctalModeOrFail(
      "grpc_socket_mode", absl::GetFlag(FLAGS_grpc_socket_mode));
  const int admin_socket_mode = ParseOctalModeOrFail(
      "admin_socket_mode", absl::GetFlag(FLAGS_admin_socket_mode));
  if ((admin_socket_mode & 0077) != 0) {
    Fail(kExitBadConfig,
         "--admin_socket_mode: the admin socket is root's alone (0600 or "
         "0700)");
  }
  int socket_gid = -1;
  if (const std::string group = absl::GetFlag(FLAGS_grpc_socket_group);
      !group.empty()) {
    const struct group* entry = getgrnam(group.c_str());
    if (entry == nullptr) {
      Fail(kExitBadConfig,
           absl::StrFormat("--grpc_socket_group: no group '%s'", group));
    }
    socket_gid = static_cast<int>(entry->gr_gid);
  }
  std::string admin_socket = absl::GetFlag(FLAGS_admin_socket);
  if (admin_socket.empty()) {
    admin_socket =
        controlplane::DefaultAdminSocket(absl::GetFlag(FLAGS_grpc_socket));
  }
  if (admin_socket == absl::GetFlag(FLAGS_grpc_socket)) {
    Fail(kExitBadConfig,
         "--admin_socket: must differ from --grpc_socket (the application "
         "socket)");
  }
  if (!absl::GetFlag(FLAGS_grpc_tls_address).empty() &&
      (absl::GetFlag(FLAGS_grpc_tls_cert).empty() ||
       absl::GetFlag(FLAGS_grpc_tls_key).empty())) {
    Fail(kExitBadConfig,
         "--grpc_tls_address needs --grpc_tls_cert and --grpc_tls_key (TCP "
         "is only offered with TLS)");
  }
  std::set<std::string> tls_admin_names;
  for (absl::string_view name : absl::StrSplit(
           absl::GetFlag(FLAGS_grpc_tls_admin_names), ',', absl::SkipEmpty())) {
    tls_admin_names.insert(std::string(name));
  }
  if (!tls_admin_names.empty() &&
      absl::GetFlag(FLAGS_grpc_tls_client_ca).empty()) {
    Fail(kExitBadConfig,
         "--grpc_tls_admin_names needs --grpc_tls_client_ca (only a "
         "verified certificate names an administrator)");
  }
  if (absl::Status s =
          dpdk::InstallDpdkLog(absl::GetFlag(FLAGS_dpdk_log_level));
      !s.ok()) {
    Fail(kExitBadConfig, absl::StrCat("--dpdk_log_level: ", s.message()));
  }

  // Signals are taken synchronously by this thread; engine threads inherit
  // the blocked mask and never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  dpdk::EalOptions eal;
  eal.hugepages = *huge;
  eal.memory_mb = memory_mb;
  if (nic_config.has_value() && dpdk::IsPciAddress(nic_config->device)) {
    eal.pci_allowlist.push_back(nic_config->device);
  }
  if (absl::Status s = dpdk::StartEal(eal); !s.ok()) {
    Fail(absl::IsFailedPrecondition(s) ? kExitBadConfig : kExitRuntimeError,
         absl::StrCat("--hugepages=", absl::GetFlag(FLAGS_hugepages), ": ",
                      s.message()));
  }
  auto nics = std::make_unique<controlplane::NicRegistry>(num_cpus);
  // Anything that fails from here releases what was started, then exits.
  auto fail_started = [&](int code, absl::string_view message) {
    nics.reset();
    dpdk::StopEal();
    Fail(code, message);
  };
  std::string first_nic;
  if (nic_config.has_value()) {
    absl::StatusOr<std::string> name = nics->Attach(spec);
    if (!name.ok()) {
      fail_started(absl::IsInvalidArgument(name.status()) ? kExitBadConfig
                                                          : kExitRuntimeError,
                   absl::StrCat("--device: ", name.status().message()));
    }
    first_nic = *name;
  }
  absl::StatusOr<std::unique_ptr<controlplane::SessionRegistry>> sessions =
      controlplane::SessionRegistry::Create(session_limits);
  if (!sessions.ok()) {
    fail_started(kExitRuntimeError, sessions.status().message());
  }
  absl::StatusOr<std::unique_ptr<controlplane::ChannelRegistry>> channels =
      controlplane::ChannelRegistry::Create(nics.get(), sessions->get(),
                                            absl::GetFlag(FLAGS_channel_socket),
                                            channel_socket_mode);
  if (!channels.ok()) {
    fail_started(kExitBadConfig, absl::StrCat("--channel_socket: ",
                                              channels.status().message()));
  }
  controlplane::ChannelTotalsSnapshot channel_totals;
  auto collector = std::make_shared<controlplane::FerryCollector>(
      nics.get(), &channel_totals);
  std::unique_ptr<prometheus::Exposer> exposer;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_address);
      !address.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      channels->reset();
      fail_started(kExitBadConfig,
                   absl::StrFormat("--metrics_address: cannot listen on "
                                   "'%s': %s",
                                   address, e.what()));
    }
    exposer->RegisterCollectable(collector);
    const std::vector<int> ports = exposer->GetListeningPorts();
    FERRY_LOG(Info, "metrics at http://%s:%d/metrics",
              address.substr(0, address.rfind(':')),
              ports.empty() ? 0 : ports[0]);
  }
  controlplane::FlowDirectory flow_directory(nics.get());
  // Outlives the gRPC servers: their Connects wait on it.
  controlplane::CompletionWaiter completion_waiter;
  controlplane::FlowOpener flow_opener(nics.get(), sessions->get(),
                                       &completion_waiter);
  // Each gRPC server has its own service objects, built for its surface,
  // and its own record of who is connected.
  struct Surface {
    explicit Surface(controlplane::CallerRole role, uint32_t connections,
                     controlplane::NicRegistry* nics,
                     controlplane::ChannelTotalsSnapshot* totals,
                     controlplane::FlowDirectory* flows,
                     controlplane::FlowOpener* opener,
                     controlplane::SessionRegistry* sessions,
                     const std::string& channel_socket,
                     const controlplane::DevicePolicy& devices)
        : peers(connections),
          nic(nics, role, devices),
          stats(nics, totals, role),
          flow(flows, opener, sessions, role),
          session(sessions, nics, channel_socket, role, &peers) {}
    std::vector<grpc::Service*> services() {
      return {&nic, &stats, &flow, &session};
    }
    controlplane::PeerTable peers;
    controlplane::NicServiceImpl nic;
    controlplane::StatsServiceImpl stats;
    controlplane::FlowServiceImpl flow;
    controlplane::SessionServiceImpl session;
  };
  auto surface = [&](controlplane::CallerRole role) {
    return std::make_unique<Surface>(
        std::move(role), max_connections_per_user, nics.get(), &channel_totals,
        &flow_directory, &flow_opener, sessions->get(),
        absl::GetFlag(FLAGS_channel_socket), api_devices);
  };
  std::unique_ptr<Surface> admin_surface =
      surface(controlplane::CallerRole::Fixed(controlplane::ApiRole::kAdmin));
  std::unique_ptr<Surface> app_surface = surface(
      controlplane::CallerRole::Fixed(controlplane::ApiRole::kApplication));
  std::unique_ptr<Surface> tls_surface =
      surface(controlplane::CallerRole::ByCertificate(tls_admin_names));
  std::vector<std::unique_ptr<controlplane::ApiServer>> api;
  auto start_api =
      [&](absl::StatusOr<std::unique_ptr<controlplane::ApiServer>> server) {
        if (!server.ok()) {
          api.clear();
          exposer.reset();
          channels->reset();
          fail_started(kExitBadConfig, server.status().message());
        }
        api.push_back(*std::move(server));
      };
  start_api(controlplane::ApiServer::StartUnix(
      {"admin_socket", admin_socket, admin_socket_mode, -1,
       &admin_surface->peers},
      admin_surface->services()));
  start_api(controlplane::ApiServer::StartUnix(
      {"grpc_socket", absl::GetFlag(FLAGS_grpc_socket), grpc_socket_mode,
       socket_gid, &app_surface->peers},
      app_surface->services()));
  if (!absl::GetFlag(FLAGS_grpc_tls_address).empty()) {
    start_api(controlplane::ApiServer::StartTls(
        controlplane::TlsListener{absl::GetFlag(FLAGS_grpc_tls_address),
                                  absl::GetFlag(FLAGS_grpc_tls_cert),
                                  absl::GetFlag(FLAGS_grpc_tls_key),
                                  absl::GetFlag(FLAGS_grpc_tls_client_ca)},
        tls_surface->services()));
  }
  if (socket_gid >= 0 && absl::GetFlag(FLAGS_channel_socket)[0] != '@' &&
      chown(absl::GetFlag(FLAGS_channel_socket).c_str(), static_cast<uid_t>(-1),
            static_cast<gid_t>(socket_gid)) != 0) {
    api.clear();
    exposer.reset();
    channels->reset();
    fail_started(
        kExitBadConfig,
        absl::StrFormat("--channel_socket: chown %s: %s",
                        absl::GetFlag(FLAGS_channel_socket), strerror(errno)));
  }
  FERRY_LOG(Info, "gRPC admin API at %s", admin_socket);
  FERRY_LOG(Info, "gRPC application API at %s%s",
            absl::GetFlag(FLAGS_grpc_socket),
            absl::GetFlag(FLAGS_grpc_tls_address).empty()
                ? ""
                : absl::StrCat(" and ", absl::GetFlag(FLAGS_grpc_tls_address),
                               " (TLS)"));
  if (nic_config.has_value()) {
    nics->With(first_nic,
               [&](controlplane::Nic& nic) {
                 FERRY_LOG(
                     Info,
                     "ferryd ready: %s on %s (%s), %d engine(s), channels at "
                     "%s",
                     nic_config->ip.ToString(), nic.port().name(),
                     nic.port().mac().ToString(), nic.num_engines(),
                     absl::GetFlag(FLAGS_channel_socket));
               })
        .IgnoreError();
  } else {
    FERRY_LOG(Info, "ferryd ready: no NIC yet, channels at %s",
              absl::GetFlag(FLAGS_channel_socket));
  }
  if (ping_target.has_value()) StartPing(*nics, first_nic, *ping_target);

  const absl::Duration stats_interval =
      absl::Seconds(absl::GetFlag(FLAGS_stats_interval_s));
  absl::Time next_stats = absl::Now() + stats_interval;
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  while (true) {
    std::vector<pollfd> fds = {{signal_fd, POLLIN, 0},
                               {(*sessions)->wake_fd(), POLLIN, 0}};
    const std::vector<pollfd> channel_fds = (*channels)->fds();
    fds.insert(fds.end(), channel_fds.begin(), channel_fds.end());
    // Wake at least every 100 ms to free channels the engines handed back.
    absl::Duration wait = absl::Milliseconds(100);
    if (stats_interval > absl::ZeroDuration()) {
      wait = std::min(wait,
                      std::max(next_stats - absl::Now(), absl::ZeroDuration()));
    }
    poll(fds.data(), fds.size(),
         static_cast<int>(absl::ToInt64Milliseconds(
             absl::Ceil(wait, absl::Milliseconds(1)))));
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      const ssize_t n = read(signal_fd, &info, sizeof(info));
      if (n == sizeof(info)) {
        FERRY_LOG(Info, "ferryd: %s, shutting down",
                  strsignal(static_cast<int>(info.ssi_signo)));
        break;
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents != 0) (*channels)->OnReadable(fds[i].fd);
    }
    // Sessions end by their stream (gRPC threads) or here, when their
    // heartbeats stop; either way their channels are closed on this thread.
    (*sessions)->ExpireOverdue();
    (*channels)->CloseSessionChannels();
    (*channels)->Reap();
    channel_totals.Publish((*channels)->Totals());
    if (stats_interval > absl::ZeroDuration() && absl::Now() >= next_stats) {
      LogAllStats(*nics, **channels);
      next_stats += stats_interval;
    }
  }
  close(signal_fd);
  // No scrape or RPC may read an engine being stopped.
  api.clear();
  exposer.reset();
  LogAllStats(*nics, **channels);
  channels->reset();  // connections closed; engines still own the channels
  nics.reset();       // engines stopped, ports closed
  dpdk::StopEal();
  FERRY_LOG(Info, "ferryd: stopped");
  return 0;
}

}  // namespace
}  // namespace ferry

int main(int argc, char** argv) { return ferry::Main(argc, argv); }

// ferryd: owns NICs through DPDK and runs their engines. This file only
// defines the flags and delegates: controlplane/daemon/daemon_config.h
// checks them, controlplane/daemon/daemon.h runs the daemon.
//
//   ferryd --device=net_af_packet0,iface=veth0 --ip=10.77.0.2/24
//
// Every flag can also come from a file: --flagfile=/etc/ferry/ferryd.conf
// (one --flag=value per line; the packaged unit starts ferryd that way), and
// --check_config checks them without starting anything. Bad configuration ends
// with one line "ferryd: error: ..." and exit status 2 (a failure at run time:
// 1); nothing is attached.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "client/abi/ferry_attach_abi.h"
#include "controlplane/daemon/daemon.h"
#include "controlplane/daemon/daemon_config.h"
#include "controlplane/node_identity.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/dpdk_log.h"

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
ABSL_FLAG(std::string, nics_file, "",
          "More NICs to attach at start: a file with one NIC per line as "
          "key=value words named like the NIC flags (device=SPEC "
          "ip=A.B.C.D/LEN gateway=... engines=N ...); '#' starts a comment");
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
ABSL_FLAG(bool, print_node_key, false,
          "Print this ferryd's public node key (making --node_key_file when "
          "there is none) and exit: what other hosts put in their "
          "--trusted_peers_file");
ABSL_FLAG(bool, check_config, false,
          "Check the configuration (flags, --flagfile, --nics_file) and exit: "
          "status 0 and 'configuration OK', or 2 and the first error; "
          "nothing is attached or started (ferryctl config check FILE)");
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
ABSL_FLAG(double, fault_corrupt, 0,
          "Testing: probability that one bit of a transmitted frame (any "
          "header or the payload) is flipped");
ABSL_FLAG(double, fault_reorder, 0,
          "Testing: probability that a transmitted frame goes out after the "
          "frames queued behind it");
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
ABSL_FLAG(int, peer_timeout_ms, 2000,
          "A flow whose peer has been silent this long while the flow waits "
          "for an answer (data unacknowledged, keepalives unanswered) ends "
          "with \"peer stopped answering\" (10..3600000)");
ABSL_FLAG(std::string, encryption, "required",
          "Encrypted flows: off, preferred (when the peer encrypts too) or "
          "required (a peer that does not is refused), for the --device NIC "
          "and every NIC that names no mode of its own (--nics_file lines, "
          "API attaches). Needs the node key and trusted peers "
          "(--node_key_file, --trusted_peers_file or ferryctl node trust; "
          "docs/SECURITY.md)");
ABSL_FLAG(int, key_rotation_ms, 60000,
          "Encrypted flows move their keys to the next epoch this often "
          "(0: never; 0..86400000)");
ABSL_FLAG(std::string, node_key_file, "/var/lib/ferry/node.key",
          "This ferryd's X25519 key for encrypted flows, made there (0600) "
          "when a NIC first needs it; its public key is logged");
ABSL_FLAG(std::string, trusted_peers_file, "",
          "The node keys this ferryd trusts: one base64 public key per line, "
          "optionally followed by a name; '#' comments");
ABSL_FLAG(int, tx_zero_copy_min_bytes, 0,
          "Segments carrying at least this many payload bytes go out from "
          "the application's buffers without a copy, where the port allows "
          "it (memif, af_packet, tap); smaller ones are copied. 0 (the "
          "default): always copy, which measured as fast on those ports, "
          "whose drivers copy every frame anyway (0..65535)");
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
          "Group of the application and channel sockets, by name or "
          "number (empty: root's): its members may run applications");
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
ABSL_FLAG(std::string, channel_pages, "auto",
          "Channel memory: huge (2 MiB hugepages, reserved whole at attach), "
          "small (4 KiB pages, taken as the channel uses them: idle "
          "channels cost little) or auto (huge while there are some free)");

namespace ferry {
namespace {

[[noreturn]] void Fail(const absl::Status& status) {
  std::fprintf(stderr, "ferryd: error: %s\n",
               std::string(status.message()).c_str());
  std::fflush(stderr);
  std::_Exit(absl::IsInvalidArgument(status) ? 2 : 1);
}

controlplane::DaemonFlags ReadFlags() {
  controlplane::DaemonFlags f;
  controlplane::NicSpec& nic = f.nic;
  nic.device = absl::GetFlag(FLAGS_device);
  nic.ip = absl::GetFlag(FLAGS_ip);
  nic.gateway = absl::GetFlag(FLAGS_gateway);
  nic.mac = absl::GetFlag(FLAGS_mac);
  nic.mtu = absl::GetFlag(FLAGS_mtu);
  nic.engines = absl::GetFlag(FLAGS_engines);
  nic.cores = absl::GetFlag(FLAGS_cores);
  nic.polling = absl::GetFlag(FLAGS_polling);
  nic.sleep_after_idle_us = absl::GetFlag(FLAGS_sleep_after_idle_us);
  nic.fault_drop = absl::GetFlag(FLAGS_fault_drop);
  nic.fault_duplicate = absl::GetFlag(FLAGS_fault_duplicate);
  nic.fault_delay = absl::GetFlag(FLAGS_fault_delay);
  nic.fault_delay_us = absl::GetFlag(FLAGS_fault_delay_us);
  nic.fault_corrupt = absl::GetFlag(FLAGS_fault_corrupt);
  nic.fault_reorder = absl::GetFlag(FLAGS_fault_reorder);
  nic.fault_seed = absl::GetFlag(FLAGS_fault_seed);
  nic.cc = absl::GetFlag(FLAGS_cc);
  nic.cc_target_delay_us = absl::GetFlag(FLAGS_cc_target_delay_us);
  nic.max_flows_per_channel = absl::GetFlag(FLAGS_max_flows_per_channel);
  nic.max_flows_per_engine = absl::GetFlag(FLAGS_max_flows_per_engine);
  nic.max_flows_per_session = absl::GetFlag(FLAGS_max_flows_per_session);
  nic.peer_timeout_ms = absl::GetFlag(FLAGS_peer_timeout_ms);
  nic.tx_zero_copy_min_bytes = absl::GetFlag(FLAGS_tx_zero_copy_min_bytes);
  nic.encryption = absl::GetFlag(FLAGS_encryption);
  nic.key_rotation_ms = absl::GetFlag(FLAGS_key_rotation_ms);
  f.node_key_file = absl::GetFlag(FLAGS_node_key_file);
  f.trusted_peers_file = absl::GetFlag(FLAGS_trusted_peers_file);
  f.allow_device_interfaces = absl::GetFlag(FLAGS_allow_device_interfaces);
  f.allow_device_files = absl::GetFlag(FLAGS_allow_device_files);
  f.nics_file = absl::GetFlag(FLAGS_nics_file);
  if (!f.nics_file.empty()) {
    // Read here, so that checking the configuration stays a pure function.
    std::ifstream in(f.nics_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      Fail(absl::InvalidArgumentError(
          absl::StrCat("--nics_file: cannot read ", f.nics_file)));
    }
    f.nics_file_text = text.str();
  }
  f.hugepages = absl::GetFlag(FLAGS_hugepages);
  f.memory_mb = absl::GetFlag(FLAGS_memory_mb);
  f.log_level = absl::GetFlag(FLAGS_log_level);
  f.ping = absl::GetFlag(FLAGS_ping);
  f.ping_count = absl::GetFlag(FLAGS_ping_count);
  f.ping_interval_ms = absl::GetFlag(FLAGS_ping_interval_ms);
  f.stats_interval_s = absl::GetFlag(FLAGS_stats_interval_s);
  f.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  f.max_connections_per_user = absl::GetFlag(FLAGS_max_connections_per_user);
  f.max_channels_per_session = absl::GetFlag(FLAGS_max_channels_per_session);
  f.max_channel_mb = absl::GetFlag(FLAGS_max_channel_mb);
  f.session_memory_mb = absl::GetFlag(FLAGS_session_memory_mb);
  f.session_open_timeout_ms = absl::GetFlag(FLAGS_session_open_timeout_ms);
  f.max_unopened_sessions_per_user =
      absl::GetFlag(FLAGS_max_unopened_sessions_per_user);
  f.session_heartbeat_timeout_ms =
      absl::GetFlag(FLAGS_session_heartbeat_timeout_ms);
  f.session_linger_ms = absl::GetFlag(FLAGS_session_linger_ms);
  f.channel_socket = absl::GetFlag(FLAGS_channel_socket);
  f.channel_socket_mode = absl::GetFlag(FLAGS_channel_socket_mode);
  f.channel_pages = absl::GetFlag(FLAGS_channel_pages);
  f.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  f.grpc_socket = absl::GetFlag(FLAGS_grpc_socket);
  f.grpc_socket_mode = absl::GetFlag(FLAGS_grpc_socket_mode);
  f.grpc_socket_group = absl::GetFlag(FLAGS_grpc_socket_group);
  f.admin_socket = absl::GetFlag(FLAGS_admin_socket);
  f.admin_socket_mode = absl::GetFlag(FLAGS_admin_socket_mode);
  f.grpc_tls_admin_names = absl::GetFlag(FLAGS_grpc_tls_admin_names);
  f.grpc_tls_address = absl::GetFlag(FLAGS_grpc_tls_address);
  f.grpc_tls_cert = absl::GetFlag(FLAGS_grpc_tls_cert);
  f.grpc_tls_key = absl::GetFlag(FLAGS_grpc_tls_key);
  f.grpc_tls_client_ca = absl::GetFlag(FLAGS_grpc_tls_client_ca);
  return f;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Ferry daemon: attaches NICs through DPDK and runs their engines.\n"
      "  ferryd [--device=SPEC --ip=A.B.C.D/LEN] [flags]\n"
      "Without --device, NICs are attached through the gRPC API.");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_print_node_key)) {
    absl::StatusOr<crypto::KeyPair> key =
        controlplane::LoadOrCreateNodeKey(absl::GetFlag(FLAGS_node_key_file));
    if (!key.ok()) {
      Fail(absl::FailedPreconditionError(
          absl::StrCat("--node_key_file: ", key.status().message())));
    }
    std::printf("%s\n",
                controlplane::PublicKeyToText(key->public_key()).c_str());
    return 0;
  }
  // Everything is checked before anything is started.
  absl::StatusOr<controlplane::DaemonConfig> config =
      controlplane::VerifyDaemonConfig(
          ReadFlags(), static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)),
          controlplane::SystemGroupId);
  if (!config.ok()) Fail(config.status());
  if (absl::GetFlag(FLAGS_check_config)) {
    std::printf("ferryd: configuration OK\n");
    return 0;
  }
  SetMinLogSeverity(config->log_severity);
  if (absl::Status s =
          dpdk::InstallDpdkLog(absl::GetFlag(FLAGS_dpdk_log_level));
      !s.ok()) {
    Fail(absl::InvalidArgumentError(
        absl::StrCat("--dpdk_log_level: ", s.message())));
  }
  absl::StatusOr<std::unique_ptr<controlplane::Daemon>> daemon =
      controlplane::Daemon::Create(*config);
  if (!daemon.ok()) Fail(daemon.status());
  (*daemon)->Run();
  (*daemon)->Shutdown();
  return 0;
}

}  // namespace
}  // namespace ferry

// Read by LeakSanitizer (the --config=asan build) and by nothing else.
// DPDK 22.11's af_xdp PMD never frees the BPF object it loads for xdp_prog=
// (libbpf's allocations) nor, on close, the umem handle libxdp made.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libbpf.so\nleak:xsk_umem__create\n";
}

int main(int argc, char** argv) { return ferry::Main(argc, argv); }

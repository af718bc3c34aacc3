#include "controlplane/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "controlplane/api/api_server.h"
#include "controlplane/api/api_services.h"
#include "controlplane/api/caller_role.h"
#include "controlplane/api/flow_service.h"
#include "controlplane/api/node_service.h"
#include "controlplane/api/peer_table.h"
#include "controlplane/api/session_service.h"
#include "controlplane/channel_registry.h"
#include "controlplane/channel_totals_snapshot.h"
#include "controlplane/completion_waiter.h"
#include "controlplane/daemon/service_notify.h"
#include "controlplane/flow_directory.h"
#include "controlplane/flow_opener.h"
#include "controlplane/metrics/ferry_collector.h"
#include "controlplane/nic.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"
#include "controlplane/stats_format.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/port.h"
#include "prometheus/exposer.h"

namespace ferry::controlplane {
namespace {

// A failure the operator fixes by changing the configuration.
absl::Status BadConfig(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// A failure at run time (no memory, no hugepages left, a device that does
// not answer).
absl::Status RuntimeError(absl::string_view message) {
  return absl::InternalError(message);
}

const char* HugepageModeName(dpdk::HugepageMode mode) {
  switch (mode) {
    case dpdk::HugepageMode::kAuto:
      return "auto";
    case dpdk::HugepageMode::kRequire:
      return "require";
    case dpdk::HugepageMode::kOff:
      return "off";
  }
  return "?";
}

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

// Each gRPC server has its own service objects, built for its surface, and
// its own record of who is connected.
struct Daemon::Surface {
  Surface(CallerRole role, uint32_t connections, NicRegistry* nics,
          ChannelTotalsSnapshot* totals, FlowDirectory* flows,
          FlowOpener* opener, SessionRegistry* sessions, NodeTrust* trust,
          const std::string& channel_socket, const DevicePolicy& devices)
      : peers(connections),
        nic(nics, role, devices),
        stats(nics, totals, role),
        flow(flows, opener, sessions, role),
        session(sessions, nics, channel_socket, role, &peers),
        node(trust, role) {}
  std::vector<grpc::Service*> services() {
    return {&nic, &stats, &flow, &session, &node};
  }
  PeerTable peers;
  NicServiceImpl nic;
  StatsServiceImpl stats;
  FlowServiceImpl flow;
  SessionServiceImpl session;
  NodeServiceImpl node;
};

Daemon::Daemon(const DaemonConfig& config) : config_(config) {}

Daemon::~Daemon() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(
    const DaemonConfig& config) {
  std::unique_ptr<Daemon> daemon(new Daemon(config));
  if (absl::Status s = daemon->Start(); !s.ok()) {
    daemon->Shutdown();
    return s;
  }
  return daemon;
}

absl::Status Daemon::Start() {
  // Signals are taken synchronously by Run; threads started from here on
  // (engines, gRPC) inherit the blocked mask and never see them.
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) {
    return RuntimeError(absl::StrCat("signalfd: ", strerror(errno)));
  }
  num_cpus_ = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));

  dpdk::EalOptions eal;
  eal.hugepages = config_.hugepages;
  eal.memory_mb = config_.memory_mb;
  if (config_.nic.has_value() && dpdk::IsPciAddress(config_.nic->device)) {
    eal.pci_allowlist.push_back(config_.nic->device);
  }
  for (const NicSpec& spec : config_.more_nics) {
    if (dpdk::IsPciAddress(spec.device)) {
      eal.pci_allowlist.push_back(spec.device);
    }
  }
  if (absl::Status s = dpdk::StartEal(eal); !s.ok()) {
    const std::string message = absl::StrCat(
        "--hugepages=", HugepageModeName(config_.hugepages), ": ", s.message());
    return absl::IsFailedPrecondition(s) ? BadConfig(message)
                                         : RuntimeError(message);
  }
  eal_started_ = true;
  trust_ = std::make_unique<NodeTrust>(config_.node_key_file,
                                       config_.trusted_peers_file);
  nics_ = std::make_unique<NicRegistry>(num_cpus_, trust_.get());
  nics_->set_default_encryption(config_.default_encryption);
  if (config_.nic_spec.has_value()) {
    absl::StatusOr<std::string> name = nics_->Attach(*config_.nic_spec);
    if (!name.ok()) {
      const std::string message =
          absl::StrCat("--device: ", name.status().message());
      return absl::IsInvalidArgument(name.status()) ? BadConfig(message)
                                                    : RuntimeError(message);
    }
    first_nic_ = *name;
  }
  for (const NicSpec& spec : config_.more_nics) {
    absl::StatusOr<std::string> name = nics_->Attach(spec);
    if (!name.ok()) {
      const std::string message = absl::StrFormat(
          "--nics_file (%s): %s", spec.device, name.status().message());
      return absl::IsInvalidArgument(name.status()) ? BadConfig(message)
                                                    : RuntimeError(message);
    }
    if (first_nic_.empty()) first_nic_ = *name;
    FERRY_LOG(Info, "NIC %s: %s", *name, spec.ip);
  }
  absl::StatusOr<std::unique_ptr<SessionRegistry>> sessions =
      SessionRegistry::Create(config_.session_limits);
  if (!sessions.ok()) return RuntimeError(sessions.status().message());
  sessions_ = *std::move(sessions);
  absl::StatusOr<std::unique_ptr<ChannelRegistry>> channels =
      ChannelRegistry::Create(
          nics_.get(), sessions_.get(), config_.channel_socket,
          config_.channel_socket_mode, config_.channel_pages);
  if (!channels.ok()) {
    return BadConfig(
        absl::StrCat("--channel_socket: ", channels.status().message()));
  }
  channels_ = *std::move(channels);
  channel_totals_ = std::make_unique<ChannelTotalsSnapshot>();
  collector_ = std::make_shared<FerryCollector>(
      nics_.get(), channel_totals_.get(), sessions_.get());
  if (!config_.metrics_address.empty()) {
    const std::string& address = config_.metrics_address;
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      return BadConfig(absl::StrFormat(
          "--metrics_address: cannot listen on '%s': %s", address, e.what()));
    }
    exposer_->RegisterCollectable(collector_);
    const std::vector<int> ports = exposer_->GetListeningPorts();
    FERRY_LOG(Info, "metrics at http://%s:%d/metrics",
              address.substr(0, address.rfind(':')),
              ports.empty() ? 0 : ports[0]);
  }
  flow_directory_ = std::make_unique<FlowDirectory>(nics_.get());
  completion_waiter_ = std::make_unique<CompletionWaiter>();
  flow_opener_ = std::make_unique<FlowOpener>(nics_.get(), sessions_.get(),
                                              completion_waiter_.get());
  if (absl::Status s = StartApi(); !s.ok()) return s;
  LogReady();
  // Under systemd (Type=notify) the unit becomes active only now: every
  // socket is listening and the NICs given at start are attached.
  if (absl::Status s = NotifyServiceManager(absl::StrCat(
          "READY=1\nSTATUS=serving channels at ", config_.channel_socket));
      !s.ok()) {
    FERRY_LOG(Warning, "service manager: %s", s.message());
  }
  if (config_.ping.has_value()) StartPing();
  return absl::OkStatus();
}

absl::Status Daemon::StartApi() {
  auto surface = [&](CallerRole role) {
    return std::make_unique<Surface>(
        std::move(role), config_.max_connections_per_user, nics_.get(),
        channel_totals_.get(), flow_directory_.get(), flow_opener_.get(),
        sessions_.get(), trust_.get(), config_.channel_socket,
        config_.api_devices);
  };
  admin_surface_ = surface(CallerRole::Fixed(ApiRole::kAdmin));
  app_surface_ = surface(CallerRole::Fixed(ApiRole::kApplication));
  tls_surface_ = surface(CallerRole::ByCertificate(config_.tls_admin_names));
  auto start = [&](absl::StatusOr<std::unique_ptr<ApiServer>> server) {
    if (!server.ok()) return BadConfig(server.status().message());
    api_.push_back(*std::move(server));
    return absl::OkStatus();
  };
  absl::Status s = start(ApiServer::StartUnix(
      {"admin_socket", config_.admin_socket, config_.admin_socket_mode, -1,
       &admin_surface_->peers},
      admin_surface_->services()));
  if (s.ok()) {
    s = start(ApiServer::StartUnix(
        {"grpc_socket", config_.grpc_socket, config_.grpc_socket_mode,
         config_.socket_gid, &app_surface_->peers},
        app_surface_->services()));
  }
  if (s.ok() && !config_.tls_address.empty()) {
    s = start(
        ApiServer::StartTls(TlsListener{config_.tls_address, config_.tls_cert,
                                        config_.tls_key, config_.tls_client_ca},
                            tls_surface_->services()));
  }
  if (!s.ok()) return s;
  const std::string& channel_socket = config_.channel_socket;
  if (config_.socket_gid >= 0 && channel_socket[0] != '@' &&
      chown(channel_socket.c_str(), static_cast<uid_t>(-1),
            static_cast<gid_t>(config_.socket_gid)) != 0) {
    return BadConfig(absl::StrFormat("--channel_socket: chown %s: %s",
                                     channel_socket, strerror(errno)));
  }
  FERRY_LOG(Info, "gRPC admin API at %s", config_.admin_socket);
  FERRY_LOG(Info, "gRPC application API at %s%s", config_.grpc_socket,
            config_.tls_address.empty()
                ? ""
                : absl::StrCat(" and ", config_.tls_address, " (TLS)"));
  return absl::OkStatus();
}

void Daemon::LogReady() {
  if (!config_.nic.has_value()) {
    FERRY_LOG(Info, "ferryd ready: no NIC yet, channels at %s",
              config_.channel_socket);
    return;
  }
  nics_
      ->With(first_nic_,
             [&](Nic& nic) {
               FERRY_LOG(Info,
                         "ferryd ready: %s on %s (%s), %d engine(s), "
                         "channels at %s",
                         config_.nic->ip.ToString(), nic.port().name(),
                         nic.port().mac().ToString(), nic.num_engines(),
                         config_.channel_socket);
             })
      .IgnoreError();
}

void Daemon::StartPing() {
  // A virtual wire (memif) comes up only once its peer connects; pings
  // sent before that are lost.
  const absl::Time link_deadline = absl::Now() + absl::Seconds(30);
  bool up = false;
  while (!up && absl::Now() < link_deadline) {
    nics_->With(first_nic_, [&](Nic& nic) { up = nic.port().Link().up; })
        .IgnoreError();
    if (!up) absl::SleepFor(absl::Milliseconds(10));
  }
  if (!up) {
    FERRY_LOG(Warning, "ping: link still down after 30 s, pinging anyway");
  }
  engine::EngineCommand ping;
  ping.type = engine::CommandType::kStartPing;
  ping.ip = config_.ping->target;
  ping.count = config_.ping->count;
  ping.interval_ns =
      static_cast<uint64_t>(absl::ToInt64Nanoseconds(config_.ping->interval));
  std::unique_ptr<engine::Completion> completion =
      std::make_unique<engine::Completion>();
  const absl::Status status =
      nics_->Run(EngineRef{first_nic_, 0}, ping, completion, absl::Seconds(5));
  if (!status.ok()) FERRY_LOG(Error, "ping: %s", status.message());
}

void Daemon::LogAllStats() {
  // The first NIC's lines are "stats engine=N", as they were before there
  // could be several; every other NIC's name theirs first.
  bool first = true;
  nics_->ForEach([&](Nic& nic) {
    const std::string prefix =
        first ? "" : absl::StrCat("nic=", nic.port().name(), " ");
    for (size_t i = 0; i < nic.num_engines(); ++i) {
      FERRY_LOG(Info, "stats %sengine=%d %s", prefix, i,
                FormatEngineStats(nic.engine(i).ReadStats()));
    }
    first = false;
  });
  channels_->Reap();
  FERRY_LOG(Info, "stats channels %s",
            FormatChannelTotals(channels_->Totals()));
}

void Daemon::Run() {
  ran_ = true;
  const absl::Duration stats_interval = config_.stats_interval;
  absl::Time next_stats = absl::Now() + stats_interval;
  while (true) {
    std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0},
                               {sessions_->wake_fd(), POLLIN, 0}};
    const std::vector<pollfd> channel_fds = channels_->fds();
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
      if (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
        FERRY_LOG(Info, "ferryd: %s, shutting down",
                  strsignal(static_cast<int>(info.ssi_signo)));
        return;
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents != 0) channels_->OnReadable(fds[i].fd);
    }
    // Sessions end by their stream (gRPC threads) or here, when their
    // heartbeats stop; either way their channels are closed on this thread.
    sessions_->ExpireOverdue();
    channels_->CloseSessionChannels();
    channels_->Reap();
    channel_totals_->Publish(channels_->Totals());
    if (stats_interval > absl::ZeroDuration() && absl::Now() >= next_stats) {
      LogAllStats();
      next_stats += stats_interval;
    }
  }
}

void Daemon::Shutdown() {
  NotifyServiceManager("STOPPING=1").IgnoreError();
  // No scrape or RPC may read an engine being stopped.
  api_.clear();
  exposer_.reset();
  if (ran_ && channels_ != nullptr) LogAllStats();
  channels_.reset();  // connections closed; engines still own the channels
  nics_.reset();      // engines stopped, ports closed
  if (eal_started_) {
    dpdk::StopEal();
    eal_started_ = false;
    if (ran_) FERRY_LOG(Info, "ferryd: stopped");
  }
  if (signal_fd_ >= 0) {
    close(signal_fd_);
    signal_fd_ = -1;
  }
}

}  // namespace ferry::controlplane

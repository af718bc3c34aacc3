// ferryd as an object: what it starts, in which order, and how it stops.
// ferryd_main.cc only parses flags and delegates here.
//
// Lifecycle, all on the main thread:
//  - Create(config) blocks SIGINT and SIGTERM on the calling thread (every
//    thread started later inherits the mask, so only Run sees them), then
//    starts in order: DPDK's EAL; the NIC registry and the NIC the flags
//    name, if any; the session registry; the channel socket; the Prometheus
//    endpoint; the flow directory, the completion waiter and the flow
//    opener; the gRPC servers (admin socket, application socket, TLS). On
//    failure it releases what it started and returns INVALID_ARGUMENT for
//    configuration the operator must change, another code for a failure at
//    run time.
//  - Run() serves the channel socket, ends sessions whose heartbeats
//    stopped, reaps the channels engines handed back and publishes channel
//    totals, until a signal arrives. Blocking; returns once.
//  - Shutdown() (also run by the destructor) stops in reverse order: the
//    gRPC servers and the metrics endpoint first (no RPC or scrape may read
//    an engine being stopped), then the channel socket (connections closed;
//    engines still own their channels), then the NICs (engines stopped,
//    ports closed), then the EAL.
#ifndef FERRY_CONTROLPLANE_DAEMON_DAEMON_H_
#define FERRY_CONTROLPLANE_DAEMON_DAEMON_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/daemon/daemon_config.h"

namespace prometheus {
class Exposer;
}

namespace ferry::controlplane {

class ApiServer;
class ChannelRegistry;
class ChannelTotalsSnapshot;
class CompletionWaiter;
class FerryCollector;
class FlowDirectory;
class FlowOpener;
class NicRegistry;
class NodeTrust;
class SessionRegistry;

class Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(
      const DaemonConfig& config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void Run();
  void Shutdown();

 private:
  struct Surface;  // one gRPC server's services and connection records

  explicit Daemon(const DaemonConfig& config);
  absl::Status Start();
  absl::Status StartApi();
  void LogReady();
  void StartPing();
  void LogAllStats();

  const DaemonConfig config_;
  int num_cpus_ = 1;
  int signal_fd_ = -1;
  bool eal_started_ = false;
  bool ran_ = false;  // Run was called: Shutdown logs the last stats
  std::string first_nic_;
  // In the order Start creates them; Shutdown releases them backwards.
  std::unique_ptr<NodeTrust> trust_;
  std::unique_ptr<NicRegistry> nics_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::unique_ptr<ChannelRegistry> channels_;
  std::unique_ptr<ChannelTotalsSnapshot> channel_totals_;
  std::shared_ptr<FerryCollector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<FlowDirectory> flow_directory_;
  // Outlives the gRPC servers: their Connects wait on it.
  std::unique_ptr<CompletionWaiter> completion_waiter_;
  std::unique_ptr<FlowOpener> flow_opener_;
  std::unique_ptr<Surface> admin_surface_;
  std::unique_ptr<Surface> app_surface_;
  std::unique_ptr<Surface> tls_surface_;
  std::vector<std::unique_ptr<ApiServer>> api_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_DAEMON_DAEMON_H_

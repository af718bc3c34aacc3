// Every NIC ferryd has attached, and which engines serve channels.
//
// Thread-safe: gRPC threads attach, detach and read NICs; the main thread
// places channels on engines; the exposer thread reads counters. One mutex
// guards the set, held for control-path work only (an attach holds it while
// DPDK probes the device). Engines never take it.
#ifndef FERRY_CONTROLPLANE_NIC_REGISTRY_H_
#define FERRY_CONTROLPLANE_NIC_REGISTRY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/engine_commands.h"
#include "controlplane/nic.h"
#include "controlplane/nic_config.h"
#include "controlplane/node_identity.h"

namespace ferry::controlplane {

class NicRegistry : public EngineCommands {
 public:
  // `trust` (may be null: no NIC may encrypt) must outlive the registry.
  explicit NicRegistry(int num_cpus, NodeTrust* trust = nullptr)
      : num_cpus_(num_cpus),
        trust_(trust),
        group_(std::make_unique<engine::EngineGroup>(
            engine::EngineGroup::kMaxEngines)) {}
  ~NicRegistry() override;  // detaches every NIC (engines stopped, ports
                            // closed)

  // The encryption mode of NICs whose spec names none (before any Attach).
  void set_default_encryption(std::string mode) {
    default_encryption_ = std::move(mode);
  }

  // Validates `spec` and attaches the NIC. INVALID_ARGUMENT for a bad spec
  // or a device DPDK refuses, ALREADY_EXISTS for a device or IPv4 address
  // already in use; nothing is left behind on failure. Returns its name.
  absl::StatusOr<std::string> Attach(const NicSpec& spec);
  // NOT_FOUND, or FAILED_PRECONDITION while channels live on its engines.
  // Flows of other NICs' channels that leave through it are reset.
  absl::Status Detach(const std::string& name);

  // The routes the NICs make (see NicService.ListRoutes), and the one a
  // connect to `dst` (from `local` when set) takes when its channel's NIC
  // has no say: NOT_FOUND when there is none.
  struct RouteInfo {
    std::string destination;  // "10.70.0.0/24" or "default"
    std::string nic;
    net::Ipv4Address local_ip;
    std::optional<net::Ipv4Address> gateway;
  };
  std::vector<RouteInfo> Routes();
  absl::StatusOr<RouteInfo> RouteTo(net::Ipv4Address dst,
                                    net::Ipv4Address local);

  // Calls `fn` for each NIC, under the lock (keep it short).
  void ForEach(const std::function<void(Nic&)>& fn);
  // Calls `fn` with the named NIC under the lock; NOT_FOUND if none.
  absl::Status With(const std::string& name,
                    const std::function<void(Nic&)>& fn);

  // EngineCommands. Post runs under the lock (a command ring has one
  // producer at a time); completions are waited for outside every lock
  // (engine::Engine::Await, or a CompletionWaiter), so that a slow engine
  // stalls nobody else.
  absl::Status Post(const EngineRef& where, engine::EngineCommand command,
                    engine::Completion* completion) override;
  absl::Status Run(const EngineRef& where, const engine::EngineCommand& command,
                   std::unique_ptr<engine::Completion>& completion,
                   absl::Duration timeout) override;
  absl::StatusOr<NicSummary> FindNic(const std::string& nic) override;
  std::vector<NicSummary> Nics() override;

  // Main thread, for channels, in two steps so that nothing slow (building
  // a channel's segment) happens under the lock: ChooseEngine picks the
  // next engine (round-robin over every NIC's engines; FAILED_PRECONDITION
  // when no NIC is attached) and says its doorbell; AttachToEngine hands it
  // the channel, which then counts against that NIC until ChannelGone, or
  // answers NOT_FOUND when the NIC was detached meanwhile (the channel is
  // then destroyed without having been used).
  struct Choice {
    EngineRef where;
    int doorbell_fd = -1;
  };
  absl::StatusOr<Choice> ChooseEngine();
  absl::Status AttachToEngine(const Choice& choice,
                              std::unique_ptr<channel::EngineChannel> channel);
  // Posts a channel's detach to its engine: drained for up to `linger`
  // first (zero: its flows are reset at once).
  void DetachChannel(const EngineRef& where, uint64_t channel_id,
                     absl::Duration linger = absl::ZeroDuration());
  // Collects channels the engines handed back; `gone` runs for each (under
  // the lock) and the NIC's channel count drops.
  void ReapChannels(
      const std::function<void(std::unique_ptr<channel::EngineChannel>)>& gone);

 private:
  struct Entry {
    std::unique_ptr<Nic> nic;
    size_t channels = 0;  // placed and not yet reaped
  };
  Entry* FindLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int num_cpus_;
  NodeTrust* const trust_;
  std::string default_encryption_ = "off";
  // Every engine of every NIC (see engine_group.h); outlives the NICs.
  const std::unique_ptr<engine::EngineGroup> group_;
  absl::Mutex mu_;
  std::vector<Entry> nics_ ABSL_GUARDED_BY(mu_);
  size_t next_engine_ ABSL_GUARDED_BY(mu_) = 0;
  // Group indexes and interface slots taken by attached NICs.
  uint32_t used_engines_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t used_interfaces_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NIC_REGISTRY_H_

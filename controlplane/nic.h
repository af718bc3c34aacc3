// An attached NIC: one DPDK port and the engines that drive its queues.
//
// Control thread only. Attach opens the port with one queue pair per engine
// and starts the engines (engine i owns queue i and runs on cores[i]); the
// destructor stops the engines before it closes the port, so no engine ever
// touches a closed queue. The engines join the daemon's EngineGroup at the
// indexes given (they name them in flow ids), and the NIC appears in its
// interface table at `interface` once they run.
#ifndef FERRY_CONTROLPLANE_NIC_H_
#define FERRY_CONTROLPLANE_NIC_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/nic_config.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/engine/engine.h"

namespace ferry::controlplane {

class Nic {
 public:
  // EAL must be running. `group` must outlive the NIC; `engine_indexes`
  // has one free index of it per engine.
  static absl::StatusOr<std::unique_ptr<Nic>> Attach(
      const NicConfig& config, engine::EngineGroup* group,
      const std::vector<int>& engine_indexes, int interface);
  ~Nic();
  // Takes the NIC out of the interface table, stops its engines and
  // leaves the group; the port stays open (packets of its pool may still
  // be with other engines) until the destructor.
  void StopEngines();
  // After StopEngines, once no other engine can hand this NIC's engines
  // anything: frees what waits in their rings and destroys them (their
  // flows give back held packets, which may be another NIC's).
  void ReleaseEngines();
  Nic(const Nic&) = delete;
  Nic& operator=(const Nic&) = delete;

  const NicConfig& config() const { return config_; }
  const dpdk::Port& port() const { return *port_; }
  size_t num_engines() const { return engines_.size(); }
  engine::Engine& engine(size_t i) { return *engines_[i]; }
  int interface() const { return interface_; }
  // Its engines' bits in the group (bit i: index i).
  uint32_t engine_mask() const;
  const std::vector<int>& engine_indexes() const { return engine_indexes_; }

 private:
  Nic(const NicConfig& config, engine::EngineGroup* group,
      const std::vector<int>& engine_indexes, int interface)
      : config_(config),
        group_(group),
        engine_indexes_(engine_indexes),
        interface_(interface) {}

  NicConfig config_;
  engine::EngineGroup* group_;
  std::vector<int> engine_indexes_;
  int interface_;
  bool published_ = false;
  std::unique_ptr<dpdk::Port> port_;
  std::vector<std::unique_ptr<engine::Engine>> engines_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NIC_H_

// An attached NIC: one DPDK port and the engines that drive its queues.
//
// Control thread only. Attach opens the port with one queue pair per engine
// and starts the engines (engine i owns queue i and runs on cores[i]); the
// destructor stops the engines before it closes the port, so no engine ever
// touches a closed queue.
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
  // EAL must be running.
  static absl::StatusOr<std::unique_ptr<Nic>> Attach(const NicConfig& config);
  ~Nic();
  Nic(const Nic&) = delete;
  Nic& operator=(const Nic&) = delete;

  const NicConfig& config() const { return config_; }
  const dpdk::Port& port() const { return *port_; }
  size_t num_engines() const { return engines_.size(); }
  engine::Engine& engine(size_t i) { return *engines_[i]; }

 private:
  explicit Nic(const NicConfig& config) : config_(config) {}

  NicConfig config_;
  std::unique_ptr<dpdk::Port> port_;
  // Declared before the engines: destroyed after them (it holds packets
  // in flight between them, freed before the port closes).
  std::unique_ptr<engine::EngineGroup> group_;
  std::vector<std::unique_ptr<engine::Engine>> engines_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NIC_H_

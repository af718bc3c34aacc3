// The seam between the control plane and the engines: what a control-plane
// object needs to reach an engine (post a command, run one and wait) and to
// know the attached NICs. NicRegistry is the real one, over DPDK ports and
// engine threads; FakeEngineCommands (engine_commands_fake.h) answers
// commands inline, so that what sits on top (FlowOpener, FlowDirectory) is
// unit-tested in milliseconds without DPDK or ferryd.
//
// Thread-safe: called from gRPC threads and the completion waiter.
#ifndef FERRY_CONTROLPLANE_ENGINE_COMMANDS_H_
#define FERRY_CONTROLPLANE_ENGINE_COMMANDS_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/engine/command.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {

// How long a control-path command may wait for its engine (a busy engine
// answers within a poll; one that does not is stuck or stopping).
inline constexpr absl::Duration kEngineTimeout = absl::Seconds(2);

// Where a channel lives: a NIC (by port name) and one of its engines.
struct EngineRef {
  std::string nic;
  size_t engine = 0;
};

// What the control plane needs to know of an attached NIC.
struct NicSummary {
  std::string name;  // the port's name
  size_t engines = 0;
  net::Ipv4Prefix address;
  // Engine i's index among all the daemon's engines: what flow ids name
  // (bits 16-19). Empty: the same as i.
  std::vector<int> group_indexes;
  // The engine of this NIC whose flow ids name `group_index`, or -1.
  int EngineOfGroupIndex(int group_index) const {
    if (group_indexes.empty()) {
      return group_index < static_cast<int>(engines) ? group_index : -1;
    }
    for (size_t i = 0; i < group_indexes.size(); ++i) {
      if (group_indexes[i] == group_index) return static_cast<int>(i);
    }
    return -1;
  }
};

class EngineCommands {
 public:
  virtual ~EngineCommands() = default;

  // Posts `command` to the engine and returns at once: NOT_FOUND for an
  // unknown NIC, UNAVAILABLE for an engine that is missing or stopped,
  // RESOURCE_EXHAUSTED while its command ring is full. The completion is
  // waited for outside every lock.
  virtual absl::Status Post(const EngineRef& where,
                            engine::EngineCommand command,
                            engine::Completion* completion) = 0;
  // Post, then waits up to `timeout` (DEADLINE_EXCEEDED; the completion is
  // then abandoned to the engine, which frees it).
  virtual absl::Status Run(const EngineRef& where,
                           const engine::EngineCommand& command,
                           std::unique_ptr<engine::Completion>& completion,
                           absl::Duration timeout) = 0;
  // NOT_FOUND when the NIC is not attached.
  virtual absl::StatusOr<NicSummary> FindNic(const std::string& nic) = 0;
  // Every attached NIC, in the order they were attached.
  virtual std::vector<NicSummary> Nics() = 0;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_ENGINE_COMMANDS_H_

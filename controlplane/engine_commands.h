// The seam between the control plane and the engines: what a control-plane
// object needs to reach an engine (post a command, run one and wait) and to
// know a NIC's address. NicRegistry is the real one, over DPDK ports and
// engine threads; FakeEngineCommands (engine_commands_fake.h) answers
// commands inline, so that what sits on top (FlowOpener) is unit-tested in
// milliseconds without DPDK or ferryd.
//
// Thread-safe: called from gRPC threads and the completion waiter.
#ifndef FERRY_CONTROLPLANE_ENGINE_COMMANDS_H_
#define FERRY_CONTROLPLANE_ENGINE_COMMANDS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/engine/command.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {

// Where a channel lives: a NIC (by port name) and one of its engines.
struct EngineRef {
  std::string nic;
  size_t engine = 0;
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
  // The NIC's address and prefix; NOT_FOUND when it is not attached.
  virtual absl::StatusOr<net::Ipv4Prefix> NicAddress(
      const std::string& nic) = 0;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_ENGINE_COMMANDS_H_

// Listening and connecting for a session's channel: the Flow RPCs that
// change state. Each is one kFlowOp command (engine/flow_op.h) to the
// engine that serves the channel, the same operation as the channel's own
// control ring.
//
// Thread-safe (gRPC threads); holds no state of its own.
#ifndef FERRY_CONTROLPLANE_FLOW_OPENER_H_
#define FERRY_CONTROLPLANE_FLOW_OPENER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controlplane/completion_waiter.h"
#include "controlplane/engine_commands.h"
#include "controlplane/session_registry.h"
#include "dataplane/engine/command.h"
#include "dataplane/net/addresses.h"

namespace ferry::controlplane {

struct OpenedFlow {
  uint64_t flow = 0;
  std::string nic;
  uint32_t local_ip = 0;  // host byte order
  uint16_t local_port = 0;
  uint32_t remote_ip = 0;
  uint16_t remote_port = 0;
  absl::Duration engine_time;  // posting the request to its answer
};

// What a Connect asks for.
struct ConnectTarget {
  uint64_t session = 0;
  std::string token;
  uint64_t channel = 0;
  uint32_t remote_ip = 0;  // host byte order
  uint32_t remote_port = 0;
  uint32_t local_port = 0;  // 0: the engine picks one
  uint32_t local_ip = 0;    // 0: the route's NIC
};

class FlowOpener {
 public:
  // `engines` reaches the channels' engines (the NIC registry, or a fake);
  // `waiter` carries every Connect's wait for its handshake.
  FlowOpener(EngineCommands* engines, SessionRegistry* sessions,
             CompletionWaiter* waiter)
      : nics_(engines), sessions_(sessions), waiter_(waiter) {}

  // Each call checks the session (id, token) and its channel first
  // (NOT_FOUND). A failure the engine answered carries its ferry_status
  // (FerryStatusOf, flow_status.h).
  //
  // Listen (on every NIC, or only on the one with address `local`)
  // returns the channel's NIC's address; ALREADY_EXISTS when another
  // channel listens on `port`, INVALID_ARGUMENT when no NIC has `local`.
  absl::StatusOr<net::Ipv4Address> Listen(uint64_t session,
                                          const std::string& token,
                                          uint64_t channel, uint32_t port,
                                          net::Ipv4Address local = {});
  absl::Status StopListening(uint64_t session, const std::string& token,
                             uint64_t channel, uint32_t port);
  // Starts a handshake and returns; `done` gets the flow, or UNAVAILABLE
  // (refused, unreachable), DEADLINE_EXCEEDED (after `timeout`),
  // CANCELLED (`*cancel` turned true), RESOURCE_EXHAUSTED or
  // INVALID_ARGUMENT. It runs on this thread when the request never
  // reaches an engine, else on the waiter's thread. A flow whose handshake
  // ends after the wait gave up is reset by its engine: nobody could learn
  // its handle.
  using Connected = std::function<void(absl::StatusOr<OpenedFlow>)>;
  void Connect(const ConnectTarget& target, absl::Duration timeout,
               const std::atomic<bool>* cancel, Connected done);
  // Resets a flow that Connect gave but its caller never received (the
  // call ended first); returns at once.
  void Reset(const OpenedFlow& flow, uint64_t channel);

 private:
  static engine::EngineCommand FlowOpCommand(const SessionChannel& where,
                                             const engine::FlowOp& op,
                                             engine::Completion* completion);
  // Listen or unlisten `port` for the session's channel: the engine's
  // result, or why the engine never answered.
  absl::StatusOr<engine::FlowOpResult> PortOp(engine::FlowOpKind kind,
                                              uint64_t session,
                                              const std::string& token,
                                              uint64_t channel, uint32_t port,
                                              net::Ipv4Address local,
                                              std::string* nic);
  // The session's channel, if the target can be a peer at all.
  absl::StatusOr<SessionChannel> CheckTarget(const ConnectTarget& target,
                                             absl::Duration timeout);
  // The engine's answer to a connect.
  static absl::StatusOr<OpenedFlow> Answer(const ConnectTarget& target,
                                           const std::string& nic,
                                           const engine::FlowOpResult& result,
                                           absl::Duration engine_time);
  static absl::Status ConnectFailure(const ConnectTarget& target,
                                     ferry_status status);

  EngineCommands* nics_;
  SessionRegistry* sessions_;
  CompletionWaiter* waiter_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_FLOW_OPENER_H_

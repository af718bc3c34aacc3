// Listening and connecting for a session's channel: the Flow RPCs that
// change state. Each is one kChannelCtrl command to the engine that serves
// the channel, the same operation as the channel's own control ring.
//
// Thread-safe (gRPC threads); holds no state of its own.
#ifndef FERRY_CONTROLPLANE_FLOW_OPENER_H_
#define FERRY_CONTROLPLANE_FLOW_OPENER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"

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

class FlowOpener {
 public:
  FlowOpener(NicRegistry* nics, SessionRegistry* sessions)
      : nics_(nics), sessions_(sessions) {}

  // Each call checks the session (id, token) and its channel first
  // (NOT_FOUND). On failure `*reason` is the channel ABI's ferry_status (0
  // when the request never reached an engine).
  //
  // ALREADY_EXISTS when another channel listens on `port`.
  // ALREADY_EXISTS when another channel listens on `port`.
  absl::StatusOr<uint32_t> Listen(uint64_t session, const std::string& token,
                                  uint64_t channel, uint32_t port,
                                  uint16_t* reason);
  absl::Status StopListening(uint64_t session, const std::string& token,
                             uint64_t channel, uint32_t port, uint16_t* reason);
  // Waits for the handshake up to `timeout`: UNAVAILABLE (refused,
  // unreachable), DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INVALID_ARGUMENT.
  absl::StatusOr<OpenedFlow> Connect(uint64_t session, const std::string& token,
                                     uint64_t channel, uint32_t remote_ip,
                                     uint32_t remote_port, uint32_t local_port,
                                     absl::Duration timeout, uint16_t* reason);

 private:
  struct PortReply {
    std::string nic;
    ferry_ctrl reply;
  };
  // LISTEN or UNLISTEN of `port` for the session's channel.
  absl::StatusOr<PortReply> PortCall(uint16_t op, uint64_t session,
                                     const std::string& token, uint64_t channel,
                                     uint32_t port, uint16_t* reason);
  // Runs `request` on the channel's engine; the reply, or why not.
  absl::StatusOr<ferry_ctrl> Run(const SessionChannel& where,
                                 const ferry_ctrl& request,
                                 absl::Duration timeout);

  NicRegistry* nics_;
  SessionRegistry* sessions_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_FLOW_OPENER_H_

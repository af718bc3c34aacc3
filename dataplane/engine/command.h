// Commands from the control thread to an engine, and their completions.
//
// The control thread pushes an EngineCommand into the engine's SPSC command
// ring and waits on its Completion; the engine executes it between bursts
// and completes it. Neither side ever blocks the other: if the control
// thread gives up waiting, the Completion is handed over to whichever side
// finishes last, which frees it.
#ifndef FERRY_DATAPLANE_ENGINE_COMMAND_H_
#define FERRY_DATAPLANE_ENGINE_COMMAND_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "dataplane/engine/fault_injector.h"
#include "dataplane/engine/flow_op.h"
#include "dataplane/net/addresses.h"

namespace ferry::engine {

class Completion {
 public:
  virtual ~Completion() = default;

  // Engine thread. `message` must be a string literal (no allocation).
  // False when the control thread had given up waiting: nobody reads the
  // result (and the completion is freed).
  bool Complete(absl::StatusCode code, const char* message) {
    code_ = code;
    message_ = message;
    if (state_.exchange(kDone, std::memory_order_acq_rel) == kAbandoned) {
      delete this;
      return false;
    }
    return true;
  }

  // Engine thread: whether the control thread gave up waiting (nobody will
  // read the result).
  bool abandoned() const {
    return state_.load(std::memory_order_acquire) == kAbandoned;
  }

  // Control thread.
  bool done() const { return state_.load(std::memory_order_acquire) == kDone; }
  absl::Status status() const { return absl::Status(code_, message_); }
  // Gives up waiting, unless the engine completed meanwhile: then false,
  // and the caller keeps the completion and its result (a connect that
  // succeeded must be handed out, or its flow would belong to nobody).
  // When true, Complete() frees it.
  bool TryAbandon() {
    int expected = kPending;
    return state_.compare_exchange_strong(expected, kAbandoned,
                                          std::memory_order_acq_rel);
  }

 private:
  static constexpr int kPending = 0;
  static constexpr int kDone = 1;
  static constexpr int kAbandoned = 2;
  std::atomic<int> state_{kPending};
  absl::StatusCode code_ = absl::StatusCode::kOk;
  const char* message_ = "";
};

enum class CommandType : uint8_t {
  kNoop,       // round trip through the engine loop
  kStartPing,  // send `count` ICMP echo requests to `ip`, `interval_ns` apart
  kStopPing,
  kListFlows,  // copy flows from slot `start` into `flow_list`
  kSetFaults,  // replace the transmit path's fault injection by `faults`
  // A flow operation (flow_op.h) on behalf of channel `channel_id`, from
  // the gRPC API: what the channel's own control ring would do, answered in
  // the FlowOpCompletion. A connect completes when its handshake ends. A
  // close or reset with `channel_id` 0 reaches any channel's flow (an
  // operator's); otherwise only that channel's, so that a check and the
  // close cannot race a reuse.
  kFlowOp,
  // Interface `count` (another NIC) is being detached and its engines
  // (the bits of `start`) have stopped: flows through it are reset, and
  // the packets those engines handed to this one are freed (they are that
  // NIC's, whose pool goes).
  kInterfaceGone,
};

// The completion of a kFlowOp command: `result` is filled by the engine
// before Complete().
class FlowOpCompletion : public Completion {
 public:
  FlowOpResult result;
};

struct FlowListResult;  // transport_endpoint.h

struct EngineCommand {
  CommandType type = CommandType::kNoop;
  net::Ipv4Address ip;
  uint32_t count = 0;
  uint64_t interval_ns = 0;
  uint16_t payload_size = 56;
  uint32_t start = 0;                   // kListFlows
  FlowListResult* flow_list = nullptr;  // kListFlows: owned by completion
  FaultConfig faults;                   // kSetFaults (validated)
  uint64_t channel_id = 0;              // kFlowOp
  FlowOp flow_op;                       // kFlowOp
  // Owned as described above; a FlowOpCompletion for kFlowOp.
  Completion* completion = nullptr;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_COMMAND_H_

// Engine, commands from the control plane: the ring they arrive on and
// what each does (see command.h), on the engine thread.
#include "dataplane/engine/engine.h"
#include "dataplane/engine/flow_op_codec.h"
#include "dataplane/net/wire.h"

namespace ferry::engine {

bool Engine::DrainCommands_st(uint64_t now_ns) {
  if (commands_.EmptyHint()) return false;
  EngineCommand command;
  while (commands_.TryPop(&command)) {
    counters_.commands.Inc();
    ExecuteCommand_st(command, now_ns);
  }
  return true;
}

void Engine::ExecuteCommand_st(const EngineCommand& command, uint64_t now_ns) {
  absl::StatusCode code = absl::StatusCode::kOk;
  const char* message = "";
  switch (command.type) {
    case CommandType::kNoop:
      break;
    case CommandType::kStartPing:
      if (command.count == 0 || command.interval_ns == 0 ||
          command.payload_size < kPingTimestampSize ||
          static_cast<int>(command.payload_size) >
              config_.mtu - static_cast<int>(net::kIpv4HeaderSize +
                                             net::kIcmpEchoHeaderSize)) {
        code = absl::StatusCode::kInvalidArgument;
        message = "ping needs count > 0, interval > 0, 8 <= size <= MTU-28";
        break;
      }
      pinger_.active = true;
      pinger_.dst = command.ip;
      pinger_.remaining = command.count;
      pinger_.interval_ns = command.interval_ns;
      pinger_.payload_size = command.payload_size;
      pinger_.next_send_ns = now_ns;
      pinger_.id = static_cast<uint16_t>(0xfe00 | config_.id);
      HousekeepingDue_st(now_ns);
      break;
    case CommandType::kStopPing:
      pinger_.active = false;
      break;
    case CommandType::kListFlows:
      if (command.flow_list == nullptr) {
        code = absl::StatusCode::kInvalidArgument;
        message = "no result buffer";
        break;
      }
      transport_->ListFlows_st(command.start, command.flow_list);
      break;
    case CommandType::kSetFaults:
      // Frames already held back still go out when due (FlushTx_st).
      faults_ = FaultInjector(command.faults);
      break;
    case CommandType::kFlowOp:
      if (!RunFlowOp_st(command, now_ns, &code, &message)) return;
      break;
    case CommandType::kInterfaceGone:
      transport_->InterfaceGone_st(static_cast<int>(command.count), now_ns);
      // Its engines (bits of `start`) stopped before this command was
      // posted: what they handed over is all in the rings, and nothing
      // more comes. Freed unread: it was for flows that are gone.
      if (config_.group != nullptr) {
        for (uint32_t mask = command.start; mask != 0; mask &= mask - 1) {
          config_.group->DrainRing(__builtin_ctz(mask), group_index());
        }
      }
      break;
  }
  if (command.completion != nullptr) {
    command.completion->Complete(code, message);
  }
}

bool Engine::RunFlowOp_st(const EngineCommand& command, uint64_t now_ns,
                          absl::StatusCode* code, const char** message) {
  auto* completion = static_cast<FlowOpCompletion*>(command.completion);
  if (completion == nullptr) {
    *code = absl::StatusCode::kInvalidArgument;
    *message = "no result buffer";
    return true;
  }
  // The channel may have been posted to this engine just before the
  // request (an application listens right after it attached).
  ApplyChannelChanges_st(now_ns);
  channel::EngineChannel* channel = nullptr;
  if (command.channel_id != 0) {
    channel = channels_.Find_st(command.channel_id);
    // A draining channel's flows may still be closed or reset; nothing
    // new starts on it.
    const bool ends_a_flow = command.flow_op.kind == FlowOpKind::kClose ||
                             command.flow_op.kind == FlowOpKind::kReset;
    if (channel == nullptr || (channel->draining() && !ends_a_flow)) {
      *code = absl::StatusCode::kNotFound;
      *message = "no such channel on this engine";
      return true;
    }
  }
  // The transport completes a connect itself when its handshake ends.
  return transport_->ApplyFlowOp_st(
      channel, command.flow_op, now_ns, &completion->result,
      TransportEndpoint::ConnectAnswer{completion});
}

bool Engine::OnCtrlRequest_st(channel::EngineChannel& channel,
                              const ferry_ctrl& request, ferry_ctrl* reply) {
  const std::optional<FlowOp> op = DecodeFlowOp(request);
  FlowOpResult result;
  if (!op.has_value()) {
    result.status = FERRY_STATUS_BAD_REQUEST;
  } else if (!transport_->ApplyFlowOp_st(&channel, *op, now_ns_, &result,
                                         {nullptr, request.id})) {
    return false;  // the transport answers when the handshake ends
  }
  *reply = EncodeFlowOpReply(request.id, request.op, result);
  return true;
}

}  // namespace ferry::engine

// Engine, commands from the control plane: the ring they arrive on and
// what each does (see command.h), on the engine thread.
#include "dataplane/engine/engine.h"
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
      next_timer_ns_ = now_ns;
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
    case CommandType::kCloseFlow:
      if (!transport_->CloseFlow_st(command.flow_id, command.abort, now_ns,
                                    command.channel_id)) {
        code = absl::StatusCode::kNotFound;
        message = "no such flow on this engine";
      }
      break;
    case CommandType::kChannelCtrl: {
      auto* completion = static_cast<CtrlCompletion*>(command.completion);
      // The channel may have been posted to this engine just before the
      // request (an application listens right after it attached).
      ApplyChannelChanges_st(now_ns);
      channel::EngineChannel* channel = channels_.Find_st(command.channel_id);
      if (channel == nullptr || channel->draining() || completion == nullptr) {
        code = absl::StatusCode::kNotFound;
        message = "no such channel on this engine";
        break;
      }
      ferry_ctrl reply = {};
      reply.id = command.ctrl.id;
      reply.op = command.ctrl.op;
      if (!transport_->OnCtrl_st(*channel, command.ctrl, &reply, now_ns,
                                 completion)) {
        return;  // the transport completes it when the handshake ends
      }
      completion->reply = reply;
      break;
    }
  }
  if (command.completion != nullptr) {
    command.completion->Complete(code, message);
  }
}

}  // namespace ferry::engine

// The channel control ring's wire format (ferry_ctrl, shared memory the
// application writes) to and from the engine's typed FlowOp. The decoder
// is the only place that reads a request's argument bytes.
#ifndef FERRY_DATAPLANE_ENGINE_FLOW_OP_CODEC_H_
#define FERRY_DATAPLANE_ENGINE_FLOW_OP_CODEC_H_

#include <cstring>
#include <optional>

#include "client/abi/ferry_channel_abi.h"
#include "dataplane/engine/flow_op.h"

namespace ferry::engine {

// Nothing for an operation the ring does not carry (answered BAD_REQUEST).
inline std::optional<FlowOp> DecodeFlowOp(const ferry_ctrl& request) {
  ferry_ctrl_flow_args args;
  static_assert(sizeof(args) == sizeof(request.args));
  std::memcpy(&args, request.args, sizeof(args));
  FlowOp op;
  switch (request.op) {
    case FERRY_CTRL_NOOP:
      op.kind = FlowOpKind::kPing;
      break;
    case FERRY_CTRL_LISTEN:
      op.kind = FlowOpKind::kListen;
      break;
    case FERRY_CTRL_UNLISTEN:
      op.kind = FlowOpKind::kUnlisten;
      break;
    case FERRY_CTRL_CONNECT:
      op.kind = FlowOpKind::kConnect;
      break;
    case FERRY_CTRL_CLOSE:
      op.kind = FlowOpKind::kClose;
      break;
    default:
      return std::nullopt;
  }
  op.local_port = args.local_port;
  op.local_ip = net::Ipv4Address{args.local_ip};
  op.remote_ip = net::Ipv4Address{args.remote_ip};
  op.remote_port = args.remote_port;
  op.flow = args.flow;
  return op;
}

// The reply to request `id` (operation `op`, echoed back).
inline ferry_ctrl EncodeFlowOpReply(uint64_t id, uint16_t op,
                                    const FlowOpResult& result) {
  ferry_ctrl reply = {};
  reply.id = id;
  reply.op = op;
  reply.status = static_cast<uint16_t>(result.status);
  ferry_ctrl_flow_args out = {};
  out.flow = result.flow;
  out.local_ip = result.local_ip.value;
  out.local_port = result.local_port;
  out.remote_ip = result.remote_ip.value;
  out.remote_port = result.remote_port;
  std::memcpy(reply.args, &out, sizeof(out));
  return reply;
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_FLOW_OP_CODEC_H_

// One flow operation as an engine executes it, on behalf of a channel:
// listen, stop listening, connect, close or reset. Both ways in translate
// into it: the channel's control ring (ferry_ctrl, see flow_op_codec.h) and
// ferryd's gRPC API (FlowOpener, FlowDirectory, as a kFlowOp command). The
// engine answers with a FlowOpResult whose status is the channel ABI's
// ferry_status, which both ways hand back unchanged.
#ifndef FERRY_DATAPLANE_ENGINE_FLOW_OP_H_
#define FERRY_DATAPLANE_ENGINE_FLOW_OP_H_

#include <cstdint>

#include "client/abi/ferry_channel_abi.h"
#include "dataplane/net/addresses.h"

namespace ferry::engine {

enum class FlowOpKind : uint8_t {
  kPing,      // nothing: a round trip through the engine
  kListen,    // accept flows to `local_port`
  kUnlisten,  // stop accepting on `local_port`
  kConnect,   // open a flow to remote_ip:remote_port (local_port 0: any);
              // answered when the handshake ends
  kClose,     // orderly close of `flow` after what is queued on it
  kReset,     // reset `flow` now (the peer hears a RST)
};

struct FlowOp {
  FlowOpKind kind = FlowOpKind::kPing;
  uint16_t local_port = 0;
  // Listen: accept only flows to this address (one NIC's); connect: leave
  // from the NIC with this address. 0.0.0.0: every NIC, or the route's.
  net::Ipv4Address local_ip;
  net::Ipv4Address remote_ip;
  uint16_t remote_port = 0;
  uint64_t flow = 0;
};

struct FlowOpResult {
  ferry_status status = FERRY_STATUS_OK;
  uint64_t flow = 0;          // connect: the new flow; close, reset: the flow
  net::Ipv4Address local_ip;  // connect: the address of the NIC it took
  uint16_t local_port = 0;
  net::Ipv4Address remote_ip;
  uint16_t remote_port = 0;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_FLOW_OP_H_

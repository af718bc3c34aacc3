// The client library, control: listen, connect and close (through the session's
// gRPC API, or the channel's control ring), and the channel's settings.
#include <cerrno>
#include <cstring>

#include "client/channel_state.h"

namespace ferry::client {

// Sends a control request and waits for its answer. Answers to requests
// whose caller gave up waiting are skipped.
int CtrlCall(ferry_channel* ch, ferry_ctrl request, int timeout_ms,
             ferry_ctrl* reply) {
  request.id = ch->next_ctrl_id++;
  if (!ch->ctrl_sq.TryPush(request)) return -EAGAIN;
  if (ch->ctrl_sq.Publish()) Kick(ch->engine_fd);
  bool got = false;
  return WaitFor(
      ch, ch->ctrl_cq,
      [&] {
        ferry_ctrl answer;
        while (!got && ch->ctrl_cq.TryPop(&answer)) {
          if (answer.id == request.id) {
            *reply = answer;
            got = true;
          }
        }
        return got;
      },
      timeout_ms);
}

}  // namespace ferry::client

namespace {

using ferry::client::CallGuard;
using ferry::client::CtrlCall;

int FlowCall(ferry_channel* ch, uint16_t op, const ferry_ctrl_flow_args& args,
             int timeout_ms, ferry_ctrl_flow_args* out) {
  if (ch->session != nullptr && op != FERRY_CTRL_CLOSE) {
    // The session's channels listen and connect through ferryd's API (its
    // quotas and checks apply); the engine does the same as for the ring.
    // A close stays on the ring, behind the messages already queued there.
    const int rc = ch->session->client->FlowCall(ch->id, op, args, timeout_ms,
                                                 out, nullptr);
    if (rc == 0 && out->local_ip != 0) ch->local_ip = out->local_ip;
    return rc;
  }
  ferry_ctrl request = {};
  request.op = op;
  std::memcpy(request.args, &args, sizeof(args));
  ferry_ctrl reply = {};
  const int rc = CtrlCall(ch, request, timeout_ms, &reply);
  if (rc != 0) return rc;
  std::memcpy(out, reply.args, sizeof(*out));
  if (out->local_ip != 0) ch->local_ip = out->local_ip;
  return ferry_status_errno(reply.status);
}

// LISTEN or UNLISTEN on a local port (of the NIC with `local_ip`, or all).
int PortCall(ferry_channel* channel, uint16_t op, uint32_t local_ip,
             uint16_t port, int timeout_ms) {
  if (channel == nullptr || port == 0) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.local_port = port;
  args.local_ip = local_ip;
  ferry_ctrl_flow_args out = {};
  return FlowCall(channel, op, args, timeout_ms, &out);
}

}  // namespace

extern "C" {

void ferry_set_wait_spin_ns(ferry_channel* channel, uint64_t ns) {
  if (channel != nullptr) channel->wait_spin_ns = ns;
}

uint64_t ferry_channel_id(const ferry_channel* channel) { return channel->id; }

int ferry_wait_fd(const ferry_channel* channel) { return channel->app_fd; }

int ferry_ping_engine(ferry_channel* channel, int timeout_ms) {
  if (channel == nullptr) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl request = {};
  request.op = FERRY_CTRL_NOOP;
  ferry_ctrl reply = {};
  const int rc = CtrlCall(channel, request, timeout_ms, &reply);
  if (rc != 0) return rc;
  return reply.status == FERRY_STATUS_OK ? 0 : -EPROTO;
}

int ferry_listen(ferry_channel* channel, uint16_t port, int timeout_ms) {
  return PortCall(channel, FERRY_CTRL_LISTEN, 0, port, timeout_ms);
}

int ferry_listen_on(ferry_channel* channel, uint32_t local_ip, uint16_t port,
                    int timeout_ms) {
  return PortCall(channel, FERRY_CTRL_LISTEN, local_ip, port, timeout_ms);
}

int ferry_unlisten(ferry_channel* channel, uint16_t port, int timeout_ms) {
  return PortCall(channel, FERRY_CTRL_UNLISTEN, 0, port, timeout_ms);
}

int ferry_connect(ferry_channel* channel, uint32_t remote_ip,
                  uint16_t remote_port, uint16_t local_port, int timeout_ms,
                  uint64_t* flow) {
  return ferry_connect_ex(channel, remote_ip, remote_port, local_port,
                          timeout_ms, flow, nullptr);
}

int ferry_connect_ex(ferry_channel* channel, uint32_t remote_ip,
                     uint16_t remote_port, uint16_t local_port, int timeout_ms,
                     uint64_t* flow, ferry_flow_addr* addr) {
  return ferry_connect_from(channel, 0, remote_ip, remote_port, local_port,
                            timeout_ms, flow, addr);
}

int ferry_connect_from(ferry_channel* channel, uint32_t local_ip,
                       uint32_t remote_ip, uint16_t remote_port,
                       uint16_t local_port, int timeout_ms, uint64_t* flow,
                       ferry_flow_addr* addr) {
  if (channel == nullptr || flow == nullptr || remote_ip == 0 ||
      remote_port == 0) {
    return -EINVAL;
  }
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.local_ip = local_ip;
  args.remote_ip = remote_ip;
  args.remote_port = remote_port;
  args.local_port = local_port;
  ferry_ctrl_flow_args out = {};
  const int rc = FlowCall(channel, FERRY_CTRL_CONNECT, args, timeout_ms, &out);
  if (rc == 0) {
    *flow = out.flow;
    if (addr != nullptr) {
      addr->local_ip = out.local_ip;
      addr->remote_ip = out.remote_ip;
      addr->local_port = out.local_port;
      addr->remote_port = out.remote_port;
    }
  }
  return rc;
}

int ferry_close(ferry_channel* channel, uint64_t flow, int timeout_ms) {
  if (channel == nullptr) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.flow = flow;
  ferry_ctrl_flow_args out = {};
  return FlowCall(channel, FERRY_CTRL_CLOSE, args, timeout_ms, &out);
}

uint32_t ferry_local_ip(const ferry_channel* channel) {
  return channel == nullptr ? 0 : channel->local_ip;
}

}  // extern "C"

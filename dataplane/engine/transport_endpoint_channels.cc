// The transport endpoint, application side: control requests (listen,
// connect, close), messages to send, channels leaving or draining, and the
// control plane's flow listing and closing.
#include <algorithm>
#include <cstring>

#include "dataplane/base/logging.h"
#include "dataplane/dpdk/packet.h"
#include "dataplane/engine/flow_op_codec.h"
#include "dataplane/engine/transport_endpoint.h"
#include "dataplane/net/byte_order.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/net/ferry_segment_builder.h"
#include "dataplane/net/frame_builder.h"
#include "dataplane/net/wire.h"
#include "dataplane/transport/message_segments.h"

namespace ferry::engine {

using net::FerryHeader;
using net::FerryPacketType;
using transport::Flow;
using transport::FlowEndReason;
using transport::FlowState;

bool TransportEndpoint::ApplyFlowOp_st(channel::EngineChannel* channel,
                                       const FlowOp& op, uint64_t now_ns,
                                       FlowOpResult* result,
                                       ConnectAnswer answer) {
  now_ns_ = now_ns;
  *result = {};
  result->local_ip = ip_;
  // Only an operator's close or reset comes without a channel.
  if (channel == nullptr && op.kind != FlowOpKind::kClose &&
      op.kind != FlowOpKind::kReset) {
    result->status = FERRY_STATUS_BAD_REQUEST;
    return true;
  }
  switch (op.kind) {
    case FlowOpKind::kPing:
      return true;
    case FlowOpKind::kListen:
      result->local_port = op.local_port;
      result->status = Listen(*channel, op.local_port, op.local_ip);
      return true;
    case FlowOpKind::kUnlisten:
      result->local_port = op.local_port;
      result->status = Unlisten(*channel, op.local_port);
      return true;
    case FlowOpKind::kConnect:
      return Connect(*channel, op, answer, result);
    case FlowOpKind::kClose:
    case FlowOpKind::kReset: {
      Entry* e = Lookup(op.flow);
      if (e == nullptr || (channel != nullptr && e->channel != channel)) {
        result->status = FERRY_STATUS_UNKNOWN_FLOW;
        return true;
      }
      result->flow = op.flow;
      CloseOrReset(*e, op.kind == FlowOpKind::kReset);
      return true;
    }
  }
  result->status = FERRY_STATUS_BAD_REQUEST;
  return true;
}

ferry_status TransportEndpoint::Listen(channel::EngineChannel& channel,
                                       uint16_t port, net::Ipv4Address local) {
  if (port == 0) return FERRY_STATUS_BAD_REQUEST;
  if (local.value != 0 && !IsLocalAddress(local)) {
    return FERRY_STATUS_NO_ADDRESS;
  }
  // One listener per port across every NIC, even one that names its NIC:
  // a SYN is steered by port alone.
  if (listeners_[port] != nullptr ||
      (group_ != nullptr && !group_->ClaimListener(port, index_))) {
    return FERRY_STATUS_ADDRESS_IN_USE;
  }
  listeners_[port] = &channel;
  if (local.value != 0) listener_addresses_[port] = local;
  return FERRY_STATUS_OK;
}

ferry_status TransportEndpoint::Unlisten(channel::EngineChannel& channel,
                                         uint16_t port) {
  if (listeners_[port] != &channel) return FERRY_STATUS_BAD_REQUEST;
  listeners_[port] = nullptr;
  listener_addresses_.erase(port);
  if (group_ != nullptr) group_->ReleaseListener(port, index_);
  return FERRY_STATUS_OK;
}

bool TransportEndpoint::Connect(channel::EngineChannel& channel,
                                const FlowOp& op, ConnectAnswer answer,
                                FlowOpResult* result) {
  const net::Ipv4Address remote = op.remote_ip;
  result->remote_ip = remote;
  result->remote_port = op.remote_port;
  if (op.remote_port == 0 || remote.value == 0 || IsLocalAddress(remote) ||
      remote.value == 0xffffffffu || (remote.value >> 28) == 0xe) {
    result->status = FERRY_STATUS_BAD_REQUEST;
    return true;
  }
  Route route;
  if (!RouteTo(remote, op.local_ip, &route)) {
    result->status = FERRY_STATUS_NO_ADDRESS;
    return true;
  }
  result->local_ip = route.ip;
  const uint16_t local_port =
      op.local_port != 0 ? op.local_port : NextEphemeralPort();
  const bool secure =
      config_.encryption != Encryption::kOff && config_.trust != nullptr;
  Entry* e =
      NewFlow(channel, route, remote, op.remote_port, local_port, secure);
  if (e == nullptr) {
    result->status = FERRY_STATUS_LIMIT;
    return true;
  }
  e->connect_pending = true;
  e->connect_answer = answer;
  if (secure) e->crypto = std::make_unique<crypto::FlowCrypto>(*config_.trust);
  e->flow->StartConnect(now_ns_);
  Touch(e->flow->owner);
  return false;  // answered when the handshake ends
}

int TransportEndpoint::OnTxMessage_st(
    channel::EngineChannel& channel, const ferry_desc& desc,
    absl::Span<const channel::MessagePiece> pieces, uint64_t now_ns) {
  now_ns_ = now_ns;
  Entry* e = Lookup(desc.flow);
  if (e == nullptr || e->channel != &channel) return FERRY_STATUS_UNKNOWN_FLOW;
  Flow& flow = *e->flow;
  if (!flow.accepting_messages()) {
    if (flow.state() == FlowState::kConnecting) return channel::kTxNotNow;
    return FERRY_STATUS_CLOSED;
  }
  if (e->close_when_unparked) return FERRY_STATUS_CLOSED;
  if (desc.length > transport::kMaxMessageBytes) return FERRY_STATUS_BAD_LENGTH;
  const uint64_t handle = pieces.empty() ? kEmptyMessage : desc.head + 1;
  // A full flow (or one with messages parked ahead of this one, which go
  // first) parks it and is blocked on its own: the channel's other flows
  // go on. Only with the engine's parking pool spent does a full flow hold
  // its channel's ring back.
  if (flow.queue_full() || !e->parked.empty()) {
    if (!parked_.Push(e->parked, handle, desc.length))
      return channel::kTxNotNow;
    counters_.transport_tx_parked.Inc();
    Block(*e);
    return channel::kTxKeep;
  }
  if (!flow.Enqueue(handle, desc.length)) return FERRY_STATUS_BAD_LENGTH;
  if (flow.queue_full()) Block(*e);
  // The flow sends when the pump list is served, after the rest of this
  // burst: time for its (cold, with thousands of flows) key to arrive.
  if (e->crypto != nullptr) e->crypto->PrefetchSeal();
  Touch(flow.owner);
  return channel::kTxKeep;
}

void TransportEndpoint::Block(Entry& e) {
  if (e.blocked) return;
  e.blocked = true;
  e.channel->SetFlowBlocked_st(e.flow->owner, true);
  counters_.transport_flows_blocked.Inc();
}

void TransportEndpoint::Unpark(Entry& e) {
  Flow& flow = *e.flow;
  while (!e.parked.empty() && !flow.queue_full()) {
    // Lengths were checked when the messages were parked: only a flow
    // that stopped taking messages refuses, and it is ending.
    if (!flow.Enqueue(parked_.front_message(e.parked),
                      parked_.front_length(e.parked))) {
      return;
    }
    parked_.Pop(e.parked);
  }
  if (!e.parked.empty()) return;
  // An eighth of the queue free before the app may send again: a flow at
  // its limit is not blocked and unblocked with every acknowledgement, and
  // a slow flow (a few acknowledgements per round trip) still takes new
  // messages every few round trips rather than after half its queue.
  const uint32_t max = config_.flow.max_queued_messages;
  if (e.blocked && flow.queued_messages() <= max - std::max(max / 8, 1u)) {
    e.blocked = false;
    e.channel->SetFlowBlocked_st(flow.owner, false);
  }
  if (e.close_when_unparked) {
    e.close_when_unparked = false;
    flow.Close(now_ns_);
  }
}

void TransportEndpoint::DropParked(Entry& e) {
  while (!e.parked.empty()) {
    const uint64_t message = parked_.front_message(e.parked);
    if (message != kEmptyMessage) {
      e.channel->ReleaseTx_st(static_cast<uint32_t>(message - 1));
    }
    parked_.Pop(e.parked);
  }
  if (e.blocked) {
    e.blocked = false;
    e.channel->SetFlowBlocked_st(e.flow->owner, false);
  }
  e.close_when_unparked = false;
}

uint32_t TransportEndpoint::ResetChannelFlows(channel::EngineChannel& channel,
                                              uint64_t now_ns) {
  uint32_t reset = 0;
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.channel != &channel || e.reaping) continue;
    AbortConnect(e, FERRY_STATUS_ABORTED);  // the channel hears nothing more
    e.flow->Abort(now_ns);
    ++reset;
  }
  return reset;
}

void TransportEndpoint::DetachChannel_st(channel::EngineChannel& channel,
                                         uint64_t now_ns) {
  now_ns_ = now_ns;
  const uint32_t reset = ResetChannelFlows(channel, now_ns);
  if (channel.draining()) {
    if (reset == 0) {
      counters_.transport_channels_drained.Inc();
    } else {
      counters_.transport_linger_resets.Add(reset);
    }
  }
  for (size_t port = 0; port < listeners_.size(); ++port) {
    if (listeners_[port] != &channel) continue;
    listeners_[port] = nullptr;
    listener_addresses_.erase(static_cast<uint16_t>(port));
    if (group_ != nullptr) {
      group_->ReleaseListener(static_cast<uint16_t>(port), index_);
    }
  }
  // Before the channel leaves, nothing may point at it.
  for (uint32_t slot : reap_list_) Reap(slot);
  reap_list_.clear();
  flows_per_channel_.erase(&channel);
}

void TransportEndpoint::InterfaceGone_st(int slot, uint64_t now_ns) {
  now_ns_ = now_ns;
  if (slot == interface_) return;
  for (uint32_t i = 0; i < high_water_; ++i) {
    Entry& e = entries_[i];
    if (e.flow == nullptr || e.reaping || e.route.interface != slot) continue;
    AbortConnect(e, FERRY_STATUS_UNREACHABLE);
    e.flow->Abort(now_ns);
    counters_.transport_flows_interface_gone.Inc();
  }
  for (uint32_t i : reap_list_) Reap(i);
  reap_list_.clear();
}

void TransportEndpoint::BeginDrain_st(channel::EngineChannel& channel,
                                      uint64_t now_ns) {
  now_ns_ = now_ns;
  for (size_t port = 0; port < listeners_.size(); ++port) {
    if (listeners_[port] != &channel) continue;
    listeners_[port] = nullptr;
    listener_addresses_.erase(static_cast<uint16_t>(port));
    if (group_ != nullptr) {
      group_->ReleaseListener(static_cast<uint16_t>(port), index_);
    }
  }
  // A connect still in its handshake was never handed to the application:
  // nothing was accepted for it.
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.channel != &channel || e.reaping) continue;
    if (e.flow->state() == FlowState::kConnecting) {
      AbortConnect(e, FERRY_STATUS_ABORTED);
      e.flow->Abort(now_ns);
    }
  }
}

bool TransportEndpoint::DrainStep_st(channel::EngineChannel& channel,
                                     uint64_t now_ns) {
  now_ns_ = now_ns;
  auto it = flows_per_channel_.find(&channel);
  if (it == flows_per_channel_.end() || it->second == 0) return true;
  // Messages still in the ring go first (a flow whose queue is full holds
  // them back); each flow's FIN then follows its last message.
  if (!channel.TxEmpty_st()) return false;
  for (uint32_t slot = 0; slot < high_water_; ++slot) {
    Entry& e = entries_[slot];
    if (e.flow == nullptr || e.channel != &channel || e.reaping ||
        e.drain_closed) {
      continue;
    }
    e.drain_closed = true;
    CloseOrReset(e, /*reset=*/false);
  }
  return false;
}

void TransportEndpoint::ListFlows_st(uint32_t start, FlowListResult* result) {
  result->count = 0;
  result->next = UINT32_MAX;
  const uint32_t capacity = static_cast<uint32_t>(result->flows.size());
  for (uint32_t slot = start; slot < high_water_; ++slot) {
    const Entry& e = entries_[slot];
    if (e.flow == nullptr || e.reaping) continue;
    if (result->count == capacity) {
      result->next = slot;
      return;
    }
    const Flow& flow = *e.flow;
    FlowInfo& info = result->flows[result->count++];
    info.id = flow.local_id();
    info.channel_id = e.channel->segment().channel_id();
    info.accepted = e.remote_flow != 0;
    info.local_ip = e.route.ip.value;
    info.local_port = e.local_port;
    info.remote_ip = e.remote_ip.value;
    info.remote_port = e.remote_port;
    info.state = flow.state();
    info.srtt_ns = flow.srtt_ns();
    // What the flow waits before its next timeout (backoff aside): its
    // own estimate, or the engine's floor when that is higher.
    info.rto_ns = std::max(flow.rto_ns(), RtoFloorNs(flow));
    info.congestion_window = flow.congestion_window();
    info.peer_window = flow.peer_window();
    info.in_flight = flow.in_flight();
    info.queued_messages = flow.queued_messages();
    info.parked_messages = e.parked.count;
    info.blocked = e.blocked;
    info.held_segments = flow.held_segments();
    info.stats = flow.stats();
    info.encrypted = e.crypto != nullptr && e.crypto->ready();
    if (info.encrypted) {
      info.cipher = e.crypto->cipher();
      info.tx_epoch = e.crypto->tx_epoch();
      info.rx_epoch = e.crypto->rx_epoch();
      if (e.crypto->peer().has_value()) info.peer_node_key = *e.crypto->peer();
    }
  }
}

void TransportEndpoint::CloseOrReset(Entry& e, bool reset) {
  if (reset) {
    e.flow->Abort(now_ns_);
  } else if (!e.parked.empty()) {
    e.close_when_unparked = true;  // after the parked messages (Unpark)
  } else {
    e.flow->Close(now_ns_);
  }
  Touch(e.flow->owner);
}

bool TransportEndpoint::AnswerConnect(Entry& e, const FlowOpResult& result) {
  e.connect_pending = false;
  FlowOpCompletion* completion = e.connect_answer.completion;
  e.connect_answer.completion = nullptr;
  if (completion == nullptr) {
    e.channel->CompleteCtrl_st(EncodeFlowOpReply(e.connect_answer.ctrl_id,
                                                 FERRY_CTRL_CONNECT, result));
    return true;
  }
  completion->result = result;
  return completion->Complete(absl::StatusCode::kOk, "");
}

void TransportEndpoint::AbortConnect(Entry& e, ferry_status status) {
  if (!e.connect_pending) return;
  e.connect_pending = false;
  FlowOpCompletion* completion = e.connect_answer.completion;
  e.connect_answer.completion = nullptr;
  if (completion == nullptr) return;  // the channel is leaving
  completion->result.status = status;
  completion->Complete(absl::StatusCode::kOk, "");
}

}  // namespace ferry::engine

// The transport endpoint as its flows' environment (transport::FlowEnv):
// state changes (connect answers, accept and close events), messages done,
// and receives reassembled straight into the application's buffers.
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

namespace ferry::engine {

using net::FerryHeader;
using net::FerryPacketType;
using transport::Flow;
using transport::FlowEndReason;
using transport::FlowState;

namespace {

// What an application hears when a flow ends: one column of the transport's
// list of end reasons (FERRY_FLOW_END_REASONS).
ferry_status StatusForEnd(FlowEndReason reason) {
  switch (reason) {
#define FERRY_FLOW_END_STATUS(name, text, help, status) \
  case FlowEndReason::name:                             \
    return FERRY_STATUS_##status;
    FERRY_FLOW_END_REASONS(FERRY_FLOW_END_STATUS)
#undef FERRY_FLOW_END_STATUS
  }
  return FERRY_STATUS_ABORTED;
}

}  // namespace

ferry_status TransportEndpoint::EndStatus(const Entry& e, const Flow& flow) {
  ferry_status status = StatusForEnd(flow.end_reason());
  // Through another NIC the neighbour table is its engine's: a silent
  // peer there stays "timed out".
  if (status == FERRY_STATUS_TIMED_OUT && e.route.via < 0 &&
      !io_.NextHopResolved_st(e.remote_ip, now_ns_)) {
    status = FERRY_STATUS_UNREACHABLE;
  }
  return status;
}

void TransportEndpoint::StateChanged(Flow& flow) {
  Entry& e = EntryOf(flow);
  const uint32_t slot = flow.owner;
  if (flow.state() != FlowState::kConnecting) HalfOpenDone(e);
  if (flow.state() == FlowState::kEstablished) {
    counters_.transport_flows_opened.Inc();
    if (e.connect_pending) {
      FlowOpResult result;
      result.flow = flow.local_id();
      result.local_ip = e.route.ip;
      result.local_port = e.local_port;
      result.remote_ip = e.remote_ip;
      result.remote_port = e.remote_port;
      if (!AnswerConnect(e, result)) orphan_flows_.push_back(flow.local_id());
    } else {
      e.announced = true;
      e.channel->PostEvent_st(FERRY_DESC_FLOW_ACCEPTED, flow.local_id(),
                              PeerCookie(e), FERRY_STATUS_OK);
    }
    return;
  }
  if (flow.state() != FlowState::kClosed) return;
  const ferry_status status = EndStatus(e, flow);
  switch (status) {
    case FERRY_STATUS_CLOSED:
      counters_.transport_flows_closed.Inc();
      break;
    case FERRY_STATUS_REFUSED:
      counters_.transport_handshake_refused.Inc();
      break;
    case FERRY_STATUS_TIMED_OUT:
      counters_.transport_handshake_timed_out.Inc();
      break;
    case FERRY_STATUS_UNREACHABLE:
      counters_.transport_handshake_unreachable.Inc();
      break;
    default:
      counters_.transport_flows_reset.Inc();
      break;
  }
  if (e.connect_pending) {
    FlowOpResult result;
    result.status = status;
    result.local_ip = e.route.ip;
    result.remote_ip = e.remote_ip;
    result.remote_port = e.remote_port;
    AnswerConnect(e, result);
  } else if (e.channel != nullptr && (e.remote_flow == 0 || e.announced)) {
    // An accepted flow that never completed its handshake was never
    // announced: its end is not the application's news.
    e.channel->PostEvent_st(FERRY_DESC_FLOW_CLOSED, flow.local_id(),
                            PeerCookie(e), status);
  }
  if (!e.reaping) {
    e.reaping = true;
    reap_list_.push_back(slot);
  }
}

void TransportEndpoint::MessageDone(Flow& flow, uint64_t message,
                                    bool delivered) {
  uint64_t bytes = 0;
  Entry& e = EntryOf(flow);
  if (message != kEmptyMessage) {
    bytes = e.channel->ReleaseTx_st(static_cast<uint32_t>(message - 1));
  }
  // Room in the queue: the next poll moves parked messages in, or unblocks.
  if (e.blocked || !e.parked.empty()) Touch(flow.owner);
  if (delivered) {
    counters_.transport_messages_tx.Inc();
    counters_.transport_bytes_tx.Add(bytes);
  }
}

void TransportEndpoint::SegmentRefused(Flow&) {
  counters_.transport_rx_bad_ack.Inc();
}

void TransportEndpoint::RstRefused(Flow&, bool challenged) {
  if (challenged) {
    counters_.transport_rst_challenged.Inc();
  } else {
    counters_.transport_rst_dropped.Inc();
  }
}

void TransportEndpoint::SegmentNotTaken(Flow&, NotTaken why) {
  switch (why) {
    case NotTaken::kDuplicate:
      counters_.transport_rx_duplicates.Inc();
      break;
    case NotTaken::kNoRoom:
      counters_.transport_rx_no_room.Inc();
      break;
    case NotTaken::kBeyondWindow:
      counters_.transport_rx_beyond_window.Inc();
      break;
  }
}

void TransportEndpoint::Retransmitting(Flow&, bool after_timeout) {
  if (after_timeout) {
    counters_.transport_retransmits_timeout.Inc();
  } else {
    counters_.transport_retransmits_fast.Inc();
  }
}

void TransportEndpoint::PathSuspect(Flow& flow) {
  const Entry& e = EntryOf(flow);
  // Another NIC's engine re-learns its neighbours from their ARP and their
  // announcements; only our own table is ours to probe.
  if (e.route.via < 0) io_.ConfirmNextHop_st(e.remote_ip, now_ns_);
}

uint64_t TransportEndpoint::BeginReceive(Flow& flow, uint32_t length) {
  channel::EngineChannel& channel = *EntryOf(flow).channel;
  // Nobody reads a draining channel: taking what its peer sends lets the
  // peer finish its own messages and answer the FIN.
  if (channel.draining()) return kDiscardReceive;
  return channel.BeginRx_st(length);
}

void TransportEndpoint::WriteReceive(Flow& flow, uint64_t handle,
                                     uint32_t offset,
                                     absl::Span<const uint8_t> bytes) {
  if (handle == kDiscardReceive) return;
  EntryOf(flow).channel->WriteRx_st(handle, offset, bytes);
}

void TransportEndpoint::EndReceive(Flow& flow, uint64_t handle, bool complete) {
  if (handle == kDiscardReceive) {
    if (complete) counters_.transport_drain_discarded.Inc();
    return;
  }
  Entry& e = EntryOf(flow);
  const uint32_t bytes =
      e.channel->EndRx_st(handle, complete, flow.local_id(), PeerCookie(e));
  if (complete) {
    counters_.transport_messages_rx.Inc();
    counters_.transport_bytes_rx.Add(bytes);
  }
}

void TransportEndpoint::WindowCut(Flow&, bool for_loss) {
  if (for_loss) {
    counters_.transport_cc_cuts_loss.Inc();
  } else {
    counters_.transport_cc_cuts_delay.Inc();
  }
}

void TransportEndpoint::RttSampled(Flow& flow, uint64_t rtt_ns,
                                   uint64_t queueing_ns) {
  (void)flow;
  counters_.RecordRtt(rtt_ns);
  counters_.transport_queueing_ns.Add(queueing_ns);
  if (engine_srtt_ns_ == 0) {
    engine_srtt_ns_ = rtt_ns;
    engine_rttvar_ns_ = rtt_ns / 2;
  } else {
    const uint64_t deviation = engine_srtt_ns_ > rtt_ns
                                   ? engine_srtt_ns_ - rtt_ns
                                   : rtt_ns - engine_srtt_ns_;
    engine_rttvar_ns_ = (31 * engine_rttvar_ns_ + deviation) / 32;
    engine_srtt_ns_ = (63 * engine_srtt_ns_ + rtt_ns) / 64;
  }
  rto_floor_ns_ = engine_srtt_ns_ + 4 * engine_rttvar_ns_;
}

uint32_t TransportEndpoint::ReceiveRoom(Flow& flow, uint32_t most) {
  channel::EngineChannel& channel = *EntryOf(flow).channel;
  if (channel.draining()) return std::min(config_.flow.receive_window, most);
  const uint64_t bytes = channel.RxRoomBytes_st();
  // Asked for every segment sent: a multiply instead of a 64-bit divide
  // whenever the room is more than the window (nearly always).
  if (bytes >= uint64_t{most} * config_.flow.mss) return most;
  return static_cast<uint32_t>(bytes / config_.flow.mss);
}

void TransportEndpoint::ReleasePacket(uint64_t packet) {
  --held_packets_;
  dpdk::FreePacket(reinterpret_cast<dpdk::Packet*>(packet));
}

}  // namespace ferry::engine

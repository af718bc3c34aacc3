// A flow: its lifecycle (handshake, establishment, close, reset, end),
// its timers and the headers it fills in. The rest of the class:
// flow_receive.cc (segments in: checks, SACK, reassembly) and flow_send.cc
// (messages out: segmentation, retransmission, retirement).
#include "dataplane/transport/flow.h"

#include <algorithm>

#include "dataplane/transport/flow_handshake_sink.h"

namespace ferry::transport {

using net::FerryHeader;
using net::FerryPacketType;

namespace {

uint32_t RoundUpPow2(uint32_t n) {
  uint32_t size = 2;
  while (size < n) size *= 2;
  return size;
}

}  // namespace

const char* FlowEndReasonName(FlowEndReason reason) {
  switch (reason) {
#define FERRY_FLOW_END_NAME(name, text, help, status) \
  case FlowEndReason::name:                           \
    return text;
    FERRY_FLOW_END_REASONS(FERRY_FLOW_END_NAME)
#undef FERRY_FLOW_END_NAME
  }
  return "unknown";
}

const char* FlowStateName(FlowState state) {
  switch (state) {
    case FlowState::kConnecting:
      return "connecting";
    case FlowState::kEstablished:
      return "established";
    case FlowState::kClosing:
      return "closing";
    case FlowState::kClosed:
      return "closed";
  }
  return "unknown";
}

// The handshake's segments get this side's timing fields and go out
// through the environment.
FlowEndReason EndReasonOf(HandshakeError error) {
  switch (error) {
    case HandshakeError::kTimedOut:
      return FlowEndReason::kTimedOut;
    case HandshakeError::kRefused:
      return FlowEndReason::kRefused;
    case HandshakeError::kReset:
      return FlowEndReason::kReset;
    case HandshakeError::kUntrusted:
      return FlowEndReason::kUntrusted;
    case HandshakeError::kEncryptionRequired:
      return FlowEndReason::kEncryptionRequired;
    case HandshakeError::kNone:
      break;
  }
  return FlowEndReason::kProtocolError;
}

Flow::Flow(uint32_t local_id, uint32_t isn, const FlowProfile& profile,
           FlowEnv& env)
    : config_(profile.config()),
      env_(env),
      local_id_(local_id),
      isn_(isn),
      handshake_(local_id, isn, config_.handshake),
      sender_(isn + 1, config_.max_in_flight),
      receiver_(0, config_.receive_window),
      rtt_(profile.rto_bounds()),
      answer_rtt_(profile.rto_bounds()),
      cc_(config_.congestion),
      messages_(RoundUpPow2(config_.max_queued_messages + 1)),
      held_(receiver_.window()) {}

void Flow::StartConnect(uint64_t now_ns) {
  HandshakeSink sink(*this, now_ns);
  handshake_ =
      Handshake::Connect(local_id_, isn_, now_ns, config_.handshake, sink);
}

void Flow::StartAccept(const FerryHeader& syn, uint64_t now_ns) {
  peer_window_ = syn.window;
  echo_us_ = syn.timestamp_us;
  echo_received_us_ = TimestampUs(now_ns);
  HandshakeSink sink(*this, now_ns);
  handshake_ =
      Handshake::Accept(local_id_, isn_, syn, now_ns, config_.handshake, sink);
}

void Flow::OnEstablished(uint64_t now_ns) {
  state_ = FlowState::kEstablished;
  sender_.Restart(handshake_.send_next());
  receiver_.Restart(handshake_.receive_next());
  keepalive_ns_ = now_ns + config_.keepalive_idle_ns;
  env_.StateChanged(*this);
}

void Flow::End(FlowEndReason reason) {
  if (state_ == FlowState::kClosed) return;
  state_ = FlowState::kClosed;
  end_reason_ = reason;
  ReleaseEverything();
  env_.StateChanged(*this);
}

void Flow::ReleaseEverything() {
  for (uint32_t i = 0; i < queued_; ++i) {
    OutMessage& m = messages_[(messages_head_ + i) & (messages_.size() - 1)];
    if (!m.fin) env_.MessageDone(*this, m.handle, false);
  }
  queued_ = unstarted_ = 0;
  for (HeldSegment& slot : held_) {
    if (slot.packet != FlowEnv::kNoHandle) env_.ReleasePacket(slot.packet);
    slot = HeldSegment{};
  }
  if (receiving_ != FlowEnv::kNoHandle) {
    env_.EndReceive(*this, receiving_, false);
    receiving_ = FlowEnv::kNoHandle;
  }
  reassembler_.Reset();
  ack_pending_ = ack_now_ = false;
  ack_deadline_ns_ = rto_deadline_ns_ = probe_deadline_ns_ = UINT64_MAX;
  keepalive_ns_ = UINT64_MAX;
  waiting_since_ns_ = UINT64_MAX;
}

bool Flow::AwaitingAnswer() const {
  return sender_.in_flight() > 0 || keepalives_unanswered_ > 0 ||
         probe_deadline_ns_ != UINT64_MAX;
}

uint32_t Flow::AdvertisedWindow() {
  const uint32_t most = receiver_.window();
  const uint32_t room = env_.ReceiveRoom(*this, most);
  // The message being received has its room already (BeginReceive took it
  // whole), and the room the application has left does not count it: the
  // rest of it is always let in. Otherwise, once messages half received
  // held every free buffer, every flow would advertise no room, none could
  // finish its message, and none would free any (a deadlock).
  const uint32_t remaining = reassembler_.remaining();
  const uint32_t rest =
      remaining == 0 ? 0 : SegmentCount(remaining, config_.mss);
  return std::min(most, std::max(room, rest));
}

uint32_t Flow::AckThreshold() const {
  // A sender that the window we advertised holds back waits for our ACK:
  // acknowledge by half that window at the latest.
  return std::max<uint32_t>(
      1, std::min(config_.ack_every_segments, last_advertised_ / 2));
}

uint32_t Flow::SendAllowance() const {
  const uint32_t limit =
      std::min({cc_.segments_allowed(), peer_window_, sender_.capacity()});
  const uint32_t in = sender_.in_flight();
  return limit > in ? limit - in : 0;
}

void Flow::FillCommon(FerryHeader& header, uint64_t now_ns) {
  header.src_flow = local_id_;
  header.dst_flow = handshake_.remote_flow();
  header.ack = receiver_.cumulative_ack();
  header.sack = receiver_.SackBitmap();
  header.window = AdvertisedWindow();
  last_advertised_ = header.window;
  header.timestamp_us = TimestampUs(now_ns);
  // The echo carries how long we held it too, so that the peer's round
  // trip leaves out the time an ACK waited to ride on data (a response,
  // the application's next request): that is the application's time, not
  // the path's, and Swift would take it for queueing.
  if (echo_us_ != 0) {
    const uint32_t held_us = TimestampUs(now_ns) - echo_received_us_;
    header.echo_timestamp_us = echo_us_ + held_us;
    if (header.echo_timestamp_us == 0) header.echo_timestamp_us = 1;
  } else {
    header.echo_timestamp_us = 0;
  }
  // Whatever we send carries the acknowledgement.
  ack_pending_ = ack_now_ = false;
  unacked_segments_ = 0;
  ack_deadline_ns_ = UINT64_MAX;
}

// RFC 5961 in spirit: a blind attacker must guess a 32-bit sequence
// number exactly. A peer's own RST carries its next sequence number, which
// is ours to expect once everything it sent arrived; a RST from a peer
// that no longer knows the flow answers one of our segments (its ack is
// that segment's seq + 1). Exact matches end the flow. A RST that is
// merely close (inside the receive window, or answering a segment still in
// flight) gets a challenge ACK: a real peer answers it with an exact RST.
void Flow::SendControl(FerryPacketType type, uint8_t flags, uint64_t now_ns) {
  FerryHeader h;
  h.type = type;
  h.flags = flags;
  h.seq = sender_.next_seq();
  FillCommon(h, now_ns);
  env_.Transmit(*this, h, FlowEnv::kNoHandle, 0, 0);
  ++stats_.segments_sent;
  if (type == FerryPacketType::kAck) ++stats_.acks_sent;
}

void Flow::Close(uint64_t now_ns) {
  if (state_ == FlowState::kClosed || close_requested_) return;
  if (state_ == FlowState::kConnecting) {
    if (handshake_.remote_flow() != 0) {
      SendControl(FerryPacketType::kRst, 0, now_ns);
    }
    End(FlowEndReason::kClosed);
    return;
  }
  close_requested_ = true;
  state_ = FlowState::kClosing;
  // The FIN takes the ring's spare slot (Enqueue never fills it), after
  // everything already queued.
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  messages_[(messages_head_ + queued_) & mask] =
      OutMessage{FlowEnv::kNoHandle, 0, 0, 1, true, 0};
  ++queued_;
  fin_queued_ = true;
}

void Flow::Abort(uint64_t now_ns) {
  ResetWith(FlowEndReason::kAborted, now_ns);
}

void Flow::Drop() { End(FlowEndReason::kTimedOut); }

void Flow::ResetWith(FlowEndReason reason, uint64_t now_ns) {
  if (state_ == FlowState::kClosed) return;
  if (handshake_.remote_flow() != 0) {
    SendControl(FerryPacketType::kRst, 0, now_ns);
  }
  End(reason);
}

void Flow::MaybeFinish(uint64_t now_ns) {
  if (state_ == FlowState::kClosing && fin_acked_ && peer_fin_) {
    // The peer waits for this ACK of its FIN; if it is lost, the peer's
    // repeated FIN finds no flow here and gets a RST, which a closing flow
    // that has seen our FIN takes as the end of a clean close.
    if (ack_pending_ || ack_now_) {
      SendControl(FerryPacketType::kAck, 0, now_ns);
    }
    End(FlowEndReason::kClosed);
  }
}

uint64_t Flow::next_timer_ns() const {
  if (state_ == FlowState::kClosed) return UINT64_MAX;
  if (state_ == FlowState::kConnecting) return handshake_.timer_ns();
  const uint64_t dead_ns = waiting_since_ns_ == UINT64_MAX
                               ? UINT64_MAX
                               : waiting_since_ns_ + config_.peer_timeout_ns;
  return std::min({rto_deadline_ns_, ack_deadline_ns_, probe_deadline_ns_,
                   keepalive_ns_, handshake_.timer_ns(), dead_ns});
}

void Flow::OnTimer(uint64_t now_ns) {
  if (state_ == FlowState::kClosed) return;
  if (!handshake_.established()) {
    const uint64_t sent = stats_.segments_sent;
    HandshakeSink sink(*this, now_ns);
    handshake_.OnTimer(now_ns, sink);
    if (handshake_.state() == HandshakeState::kFailed) {
      End(EndReasonOf(handshake_.error()));
    } else if (stats_.segments_sent != sent) {
      env_.PathSuspect(*this);  // a handshake segment went unanswered
    }
    return;
  }
  if (receiver_.NextIsHeld()) DeliverHeld(now_ns);
  if (state_ == FlowState::kClosed) return;
  if (!AwaitingAnswer()) {
    waiting_since_ns_ = UINT64_MAX;
  } else if (waiting_since_ns_ == UINT64_MAX) {
    waiting_since_ns_ = now_ns;
  } else if (now_ns - waiting_since_ns_ >= config_.peer_timeout_ns) {
    ResetWith(FlowEndReason::kPeerDead, now_ns);
    return;
  }
  if (now_ns >= rto_deadline_ns_) {
    if (sender_.in_flight() == 0) {
      rto_deadline_ns_ = UINT64_MAX;
    } else {
      if (backoffs_ == 0) {
        timeout_check_ = true;
        timeout_seq_ = sender_.oldest_unacked();
        timeout_resent_ns_ = now_ns;
        timeout_expired_rto_ns_ = RtoNs();
        window_before_timeout_ = cc_.window();
      }
      ++backoffs_;
      answer_rtt_.OnTimeout();
      cc_.OnTimeout(backoffs_);
      ++stats_.retransmits_timeout;
      env_.Retransmitting(*this, true);
      env_.PathSuspect(*this);
      Retransmit(sender_.oldest_unacked(), now_ns);
      ArmRto(now_ns);
    }
  }
  if (now_ns >= probe_deadline_ns_) {
    // The peer's window is shut and nothing is in flight to learn when it
    // opens: ask.
    ++stats_.window_probes;
    SendControl(FerryPacketType::kKeepalive, net::kFerryFlagAckNow, now_ns);
    answer_rtt_.OnTimeout();
    probe_deadline_ns_ = now_ns + answer_rtt_.rto_ns();
    Awaiting(now_ns);
  }
  if (now_ns >= ack_deadline_ns_) {
    SendControl(FerryPacketType::kAck, 0, now_ns);
  }
  if (now_ns >= keepalive_ns_ && sender_.in_flight() > 0) {
    // Data in flight: the retransmission timer judges the peer.
    keepalive_ns_ = now_ns + config_.keepalive_idle_ns;
  } else if (now_ns >= keepalive_ns_) {
    if (keepalives_unanswered_ > 0) env_.PathSuspect(*this);
    ++keepalives_unanswered_;
    SendControl(FerryPacketType::kKeepalive, net::kFerryFlagAckNow, now_ns);
    keepalive_ns_ = now_ns + config_.keepalive_interval_ns;
    Awaiting(now_ns);
  }
}

}  // namespace ferry::transport

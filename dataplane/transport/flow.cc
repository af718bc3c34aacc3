#include "dataplane/transport/flow.h"

#include <algorithm>

namespace ferry::transport {

using net::FerryHeader;
using net::FerryPacketType;

namespace {

uint32_t RoundUpPow2(uint32_t n) {
  uint32_t size = 2;
  while (size < n) size *= 2;
  return size;
}

// Header timestamps are 32-bit microseconds (wrapping every 71 minutes);
// 0 means "no timestamp", so a clock that lands on 0 says 1.
uint32_t TimestampUs(uint64_t now_ns) {
  const uint32_t us = static_cast<uint32_t>(now_ns / 1000);
  return us == 0 ? 1 : us;
}

FlowEndReason FromHandshake(HandshakeError error) {
  switch (error) {
    case HandshakeError::kTimedOut:
      return FlowEndReason::kTimedOut;
    case HandshakeError::kRefused:
      return FlowEndReason::kRefused;
    case HandshakeError::kReset:
      return FlowEndReason::kReset;
    case HandshakeError::kNone:
      break;
  }
  return FlowEndReason::kProtocolError;
}

}  // namespace

const char* FlowEndReasonName(FlowEndReason reason) {
  switch (reason) {
#define FERRY_FLOW_END_NAME(name, text, help) \
  case FlowEndReason::name:                   \
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
class Flow::HandshakeSink : public SegmentSink {
 public:
  HandshakeSink(Flow& flow, uint64_t now_ns) : flow_(flow), now_ns_(now_ns) {}
  void Send(const FerryHeader& header) override {
    FerryHeader h = header;
    h.window = flow_.AdvertisedWindow();
    flow_.last_advertised_ = h.window;
    h.timestamp_us = TimestampUs(now_ns_);
    h.echo_timestamp_us = flow_.echo_us_;
    flow_.env_.Transmit(flow_, h, FlowEnv::kNoHandle, 0, 0);
    ++flow_.stats_.segments_sent;
  }

 private:
  Flow& flow_;
  uint64_t now_ns_;
};

Flow::Flow(uint32_t local_id, uint32_t isn, const FlowConfig& config,
           FlowEnv& env)
    : config_(config),
      env_(env),
      local_id_(local_id),
      isn_(isn),
      handshake_(local_id, isn, config.handshake),
      sender_(isn + 1, config.max_in_flight),
      receiver_(0, config.receive_window),
      rtt_(config.rtt),
      cc_(config.congestion),
      messages_(RoundUpPow2(config.max_queued_messages + 1)),
      held_(receiver_.window()) {
  // The congestion window never needs to exceed what can be in flight.
  config_.congestion.max_window =
      std::min<double>(config_.congestion.max_window, sender_.capacity());
  cc_ = CongestionControl(config_.congestion);
}

void Flow::StartConnect(uint64_t now_ns) {
  HandshakeSink sink(*this, now_ns);
  handshake_ =
      Handshake::Connect(local_id_, isn_, now_ns, config_.handshake, sink);
}

void Flow::StartAccept(const FerryHeader& syn, uint64_t now_ns) {
  peer_window_ = syn.window;
  echo_us_ = syn.timestamp_us;
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
}

uint32_t Flow::AdvertisedWindow() {
  return std::min(receiver_.window(), env_.ReceiveRoom(*this));
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
  header.echo_timestamp_us = echo_us_;
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
bool Flow::RstAcceptable(const FerryHeader& header, uint64_t now_ns) {
  const uint32_t expected_seq = receiver_.next();
  const uint32_t latest_ack = sender_.next_seq() + 1;
  if (header.seq == expected_seq || header.ack == latest_ack) return true;
  const bool in_window = header.seq - expected_seq < receiver_.window();
  const bool answers_in_flight =
      header.ack - (sender_.oldest_unacked() + 1) < sender_.in_flight();
  ++stats_.rst_refused;
  const bool challenge = (in_window || answers_in_flight) &&
                         now_ns - last_challenge_ns_ >= kChallengeIntervalNs;
  env_.RstRefused(*this, challenge);
  if (challenge) {
    last_challenge_ns_ = now_ns;
    SendControl(FerryPacketType::kAck, net::kFerryFlagAckNow, now_ns);
  }
  return false;
}

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

bool Flow::OnSegment(const FerryHeader& header,
                     absl::Span<const uint8_t> payload, uint64_t packet,
                     uint64_t now_ns) {
  if (state_ == FlowState::kClosed) return false;
  ++stats_.segments_received;
  if (header.timestamp_us != 0) echo_us_ = header.timestamp_us;
  keepalives_unanswered_ = 0;
  if (state_ != FlowState::kConnecting) {
    keepalive_ns_ = now_ns + config_.keepalive_idle_ns;
  }

  if (!handshake_.established()) {
    HandshakeSink sink(*this, now_ns);
    const bool consumed = handshake_.OnSegment(header, now_ns, sink);
    if (handshake_.state() == HandshakeState::kFailed) {
      End(FromHandshake(handshake_.error()));
      return false;
    }
    if (!handshake_.established()) return false;
    peer_window_ = header.window;
    OnEstablished(now_ns);
    if (consumed) return false;
    // A DATA segment completed the handshake (our ACK was lost): it still
    // carries data, handled below.
  } else if (header.type == FerryPacketType::kSyn ||
             header.type == FerryPacketType::kSynAck) {
    HandshakeSink sink(*this, now_ns);
    handshake_.OnSegment(header, now_ns, sink);  // repeats a lost ACK
    return false;
  }

  // RFC 5961's ACK check: a segment must acknowledge something we could
  // have sent (at most a window behind our oldest unacked segment, never
  // past the next), so a blind attacker must guess the ack as well as the
  // sequence number. A peer that forgot the flow acks its RST from its
  // endpoint, checked in RstAcceptable.
  if (header.type != FerryPacketType::kRst &&
      header.ack - (sender_.oldest_unacked() - sender_.capacity()) >
          sender_.in_flight() + sender_.capacity()) {
    ++stats_.bad_ack_dropped;
    env_.SegmentRefused(*this);
    return false;
  }
  if (header.type == FerryPacketType::kRst) {
    if (!RstAcceptable(header, now_ns)) return false;
    End(state_ == FlowState::kClosing && peer_fin_ ? FlowEndReason::kClosed
                                                   : FlowEndReason::kReset);
    return false;
  }
  OnAckFields(header, now_ns);
  if (state_ == FlowState::kClosed) return false;

  switch (header.type) {
    case FerryPacketType::kData:
    case FerryPacketType::kFin:
      break;
    case FerryPacketType::kKeepalive:
      if (header.flags & net::kFerryFlagAckNow) ack_now_ = true;
      return false;
    default:
      return false;  // a bare ACK: done above
  }

  switch (receiver_.Classify(header.seq)) {
    case Arrival::kInOrder:
      if (receiver_.NextIsHeld()) {
        // We already hold this very segment (it arrived early and found no
        // room when its turn came): deliver that copy, never both.
        ++stats_.duplicates_received;
        ack_now_ = true;
        DeliverHeld(now_ns);
        return false;
      }
      if (!Consume(header.type, header.flags, header.message_length, payload,
                   now_ns)) {
        ++stats_.refused_no_room;
        ack_now_ = true;  // tell the sender our (small) window now
        return false;
      }
      receiver_.Advance();
      ack_pending_ = true;
      ++unacked_segments_;
      if (header.flags & net::kFerryFlagAckNow) ack_now_ = true;
      DeliverHeld(now_ns);  // also ends the flow after an in-order FIN
      return false;
    case Arrival::kOutOfOrder: {
      ack_now_ = true;  // the SACK tells the sender about the hole
      if (packet == FlowEnv::kNoHandle) {
        ++stats_.beyond_window;
        return false;
      }
      ++stats_.out_of_order_received;
      HeldSegment& slot = held_[header.seq & receiver_.mask()];
      slot.packet = packet;
      slot.payload = payload.data();
      slot.length = static_cast<uint32_t>(payload.size());
      slot.message_length = header.message_length;
      slot.flags = header.flags;
      slot.type = header.type;
      receiver_.Hold(header.seq);
      return true;
    }
    case Arrival::kDuplicate:
      ++stats_.duplicates_received;
      ack_now_ = true;  // our ACK may have been lost
      // The sender repeats the segment we refused for lack of room while
      // later ones wait here: deliver if the app made room since.
      if (receiver_.NextIsHeld()) DeliverHeld(now_ns);
      return false;
    case Arrival::kBeyondWindow:
      ++stats_.beyond_window;
      ack_now_ = true;
      return false;
  }
  return false;
}

void Flow::OnAckFields(const FerryHeader& header, uint64_t now_ns) {
  const SendTracker::AckResult result = sender_.OnAck(header.ack, header.sack);
  if (result.stale) return;
  // The peer answered, so it is alive even when it took nothing new: a
  // receiver whose application stopped reading refuses our segments and
  // says so with every ACK. Only silence counts towards kPeerDead (as with
  // TCP's zero window, the flow waits for the reader, and its owner
  // decides how long).
  backoffs_ = 0;
  peer_window_ = header.window;
  if (peer_window_ > 0) probe_deadline_ns_ = UINT64_MAX;
  uint64_t rtt_ns = rtt_.has_sample() ? rtt_.srtt_ns() : 0;
  if (result.newly_acked > 0 || result.newly_sacked > 0) {
    if (header.echo_timestamp_us != 0) {
      const uint32_t elapsed_us =
          TimestampUs(now_ns) - header.echo_timestamp_us;
      // An echo from the future or from more than a second ago is not a
      // measurement (a peer's bug, or a timestamp wrap).
      if (elapsed_us < 1'000'000) {
        rtt_ns = uint64_t{elapsed_us} * 1000;
        rtt_.AddSample(rtt_ns);
        env_.RttSampled(*this, rtt_ns);
      }
    }
    cc_.OnAck(result.newly_acked + result.newly_sacked, rtt_ns, now_ns);
  }
  if (result.newly_acked > 0) {
    RetireAcked(now_ns);
    if (sender_.in_flight() == 0) {
      rto_deadline_ns_ = UINT64_MAX;
    } else {
      ArmRto(now_ns);
    }
  }
  uint32_t lost[64];
  const uint32_t n = sender_.TakeLost(lost, 64);
  if (n > 0) cc_.OnLoss(now_ns, rtt_ns);
  for (uint32_t i = 0; i < n; ++i) {
    ++stats_.retransmits_fast;
    env_.Retransmitting(*this, false);
    Retransmit(lost[i], now_ns);
  }
}

bool Flow::Consume(FerryPacketType type, uint8_t flags, uint32_t message_length,
                   absl::Span<const uint8_t> payload, uint64_t now_ns) {
  if (type == FerryPacketType::kFin) {
    if (reassembler_.in_message()) {
      ResetWith(FlowEndReason::kProtocolError, now_ns);
      return true;
    }
    peer_fin_ = true;
    ack_now_ = true;
    Close(now_ns);  // no half-open flows: answer with our own FIN
    return true;
  }
  const bool first = flags & net::kFerryFlagFirstSegment;
  const bool last = flags & net::kFerryFlagLastSegment;
  if (first && !reassembler_.in_message() &&
      message_length <= kMaxMessageBytes) {
    receiving_ = env_.BeginReceive(*this, message_length);
    if (receiving_ == FlowEnv::kNoHandle) return false;
  }
  const ReassemblyResult result = reassembler_.OnSegment(
      first, last, message_length, payload, [](uint32_t) {},
      [&](uint32_t offset, absl::Span<const uint8_t> bytes) {
        env_.WriteReceive(*this, receiving_, offset, bytes);
      });
  switch (result) {
    case ReassemblyResult::kContinue:
      return true;
    case ReassemblyResult::kComplete:
      env_.EndReceive(*this, receiving_, true);
      receiving_ = FlowEnv::kNoHandle;
      ++stats_.messages_received;
      stats_.bytes_received += message_length;
      return true;
    default:
      // The peer broke the protocol: nothing it sends can be trusted now.
      ResetWith(FlowEndReason::kProtocolError, now_ns);
      return true;
  }
}

void Flow::DeliverHeld(uint64_t now_ns) {
  while (state_ != FlowState::kClosed && receiver_.NextIsHeld()) {
    HeldSegment& slot = held_[receiver_.cumulative_ack() & receiver_.mask()];
    if (!Consume(slot.type, slot.flags, slot.message_length,
                 absl::MakeConstSpan(slot.payload, slot.length), now_ns)) {
      return;  // no room yet: it stays held
    }
    if (state_ == FlowState::kClosed) return;  // End released the slot
    env_.ReleasePacket(slot.packet);
    slot = HeldSegment{};
    receiver_.TakeNext();
    ack_pending_ = true;
    ++unacked_segments_;
  }
  MaybeFinish(now_ns);  // a FIN delivered from the held ones ends the flow
}

void Flow::RetireAcked(uint64_t now_ns) {
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  while (queued_ > 0 && unstarted_ > 0) {
    OutMessage& m = messages_[messages_head_];
    const int32_t acked_past =
        static_cast<int32_t>(sender_.oldest_unacked() - m.first_seq);
    if (acked_past < static_cast<int32_t>(m.segments)) break;
    if (m.fin) {
      fin_acked_ = true;
    } else {
      ++stats_.messages_sent;
      stats_.bytes_sent += m.length;
      env_.MessageDone(*this, m.handle, true);
    }
    messages_head_ = (messages_head_ + 1) & mask;
    --queued_;
    --unstarted_;
  }
  MaybeFinish(now_ns);
}

Flow::OutMessage* Flow::MessageForSeq(uint32_t seq) {
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  const uint32_t started = std::min(unstarted_ + 1, queued_);
  for (uint32_t i = 0; i < started; ++i) {
    OutMessage& m = messages_[(messages_head_ + i) & mask];
    if (m.next_segment == 0) break;
    if (seq - m.first_seq < m.next_segment) return &m;
  }
  return nullptr;
}

void Flow::TransmitSegment(OutMessage& message, uint32_t index, uint32_t seq,
                           uint64_t now_ns) {
  FerryHeader h;
  h.seq = seq;
  h.message_length = message.length;
  uint32_t offset = 0;
  uint32_t length = 0;
  if (message.fin) {
    h.type = FerryPacketType::kFin;
    h.flags = net::kFerryFlagAckNow;
  } else {
    const SegmentSpan span = SegmentAt(message.length, config_.mss, index);
    h.type = FerryPacketType::kData;
    if (span.first) h.flags |= net::kFerryFlagFirstSegment;
    // The receiver acknowledges a message's end at once: a request's
    // sender learns quickly that its buffers are free.
    if (span.last) {
      h.flags |= net::kFerryFlagLastSegment | net::kFerryFlagAckNow;
    }
    offset = span.offset;
    length = span.length;
  }
  FillCommon(h, now_ns);
  env_.Transmit(*this, h, message.handle, offset, length);
  ++stats_.segments_sent;
}

void Flow::Retransmit(uint32_t seq, uint64_t now_ns) {
  OutMessage* m = MessageForSeq(seq);
  if (m == nullptr) return;
  sender_.OnRetransmit(seq, now_ns);
  TransmitSegment(*m, seq - m->first_seq, seq, now_ns);
}

void Flow::SendNew(uint64_t now_ns) {
  if (unstarted_ >= queued_) return;
  uint32_t allowance = std::min(SendAllowance(), config_.max_burst);
  if (cc_.window() < 1 && allowance > 0) {
    // Below one segment per round trip: pace single segments.
    if (now_ns < next_send_ns_) return;
    const uint64_t rtt = rtt_.has_sample() ? rtt_.srtt_ns() : rtt_.rto_ns();
    next_send_ns_ = now_ns + cc_.pacing_interval_ns(rtt);
    allowance = 1;
  }
  if (allowance == 0 && peer_window_ == 0 && sender_.in_flight() == 0 &&
      probe_deadline_ns_ == UINT64_MAX) {
    probe_deadline_ns_ = now_ns + rtt_.rto_ns();
  }
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  bool sent = false;
  while (allowance > 0 && unstarted_ < queued_) {
    OutMessage& m = messages_[(messages_head_ + unstarted_) & mask];
    const uint32_t seq = sender_.OnSend(now_ns);
    if (m.next_segment == 0) m.first_seq = seq;
    TransmitSegment(m, m.next_segment, seq, now_ns);
    if (++m.next_segment == m.segments) ++unstarted_;
    --allowance;
    sent = true;
  }
  if (sent && rto_deadline_ns_ == UINT64_MAX) ArmRto(now_ns);
}

bool Flow::Enqueue(uint64_t message, uint32_t length) {
  if (!accepting_messages() || length > kMaxMessageBytes) return false;
  if (queued_ >= config_.max_queued_messages) return false;
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  messages_[(messages_head_ + queued_) & mask] = OutMessage{
      message, length, 0, SegmentCount(length, config_.mss), 0, false};
  ++queued_;
  return true;
}

void Flow::Pump(uint64_t now_ns) {
  if (state_ == FlowState::kClosed || state_ == FlowState::kConnecting) {
    return;
  }
  if (receiver_.NextIsHeld()) DeliverHeld(now_ns);
  if (state_ == FlowState::kClosed) return;
  SendNew(now_ns);
  if (ack_now_ || (ack_pending_ && unacked_segments_ >= AckThreshold())) {
    SendControl(FerryPacketType::kAck, 0, now_ns);
  } else if (ack_pending_ && ack_deadline_ns_ == UINT64_MAX) {
    ack_deadline_ns_ = now_ns + config_.ack_delay_ns;
  }
}

bool Flow::wants_pump() const {
  if (state_ != FlowState::kEstablished && state_ != FlowState::kClosing) {
    return false;
  }
  return ack_now_ || (ack_pending_ && unacked_segments_ >= AckThreshold()) ||
         (ack_pending_ && ack_deadline_ns_ == UINT64_MAX) ||
         (unstarted_ < queued_ && SendAllowance() > 0);
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
      OutMessage{FlowEnv::kNoHandle, 0, 0, 1, 0, true};
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
  return std::min({rto_deadline_ns_, ack_deadline_ns_, probe_deadline_ns_,
                   keepalive_ns_, handshake_.timer_ns()});
}

void Flow::OnTimer(uint64_t now_ns) {
  if (state_ == FlowState::kClosed) return;
  if (!handshake_.established()) {
    HandshakeSink sink(*this, now_ns);
    handshake_.OnTimer(now_ns, sink);
    if (handshake_.state() == HandshakeState::kFailed) {
      End(FromHandshake(handshake_.error()));
    }
    return;
  }
  if (receiver_.NextIsHeld()) DeliverHeld(now_ns);
  if (state_ == FlowState::kClosed) return;
  if (now_ns >= rto_deadline_ns_) {
    if (sender_.in_flight() == 0) {
      rto_deadline_ns_ = UINT64_MAX;
    } else if (++backoffs_ > config_.max_timeouts) {
      ResetWith(FlowEndReason::kPeerDead, now_ns);
      return;
    } else {
      rtt_.OnTimeout();
      cc_.OnTimeout(backoffs_);
      ++stats_.retransmits_timeout;
      env_.Retransmitting(*this, true);
      Retransmit(sender_.oldest_unacked(), now_ns);
      ArmRto(now_ns);
    }
  }
  if (now_ns >= probe_deadline_ns_) {
    // The peer's window is shut and nothing is in flight to learn when it
    // opens: ask.
    ++stats_.window_probes;
    SendControl(FerryPacketType::kKeepalive, net::kFerryFlagAckNow, now_ns);
    rtt_.OnTimeout();
    probe_deadline_ns_ = now_ns + rtt_.rto_ns();
  }
  if (now_ns >= ack_deadline_ns_) {
    SendControl(FerryPacketType::kAck, 0, now_ns);
  }
  if (now_ns >= keepalive_ns_ && sender_.in_flight() > 0) {
    // Data in flight: the retransmission timer judges the peer.
    keepalive_ns_ = now_ns + config_.keepalive_idle_ns;
  } else if (now_ns >= keepalive_ns_) {
    if (keepalives_unanswered_ >= config_.keepalive_probes) {
      ResetWith(FlowEndReason::kPeerDead, now_ns);
      return;
    }
    ++keepalives_unanswered_;
    SendControl(FerryPacketType::kKeepalive, net::kFerryFlagAckNow, now_ns);
    keepalive_ns_ = now_ns + config_.keepalive_interval_ns;
  }
}

}  // namespace ferry::transport

// Flow, sending: queued messages cut into segments as the windows allow,
// retransmissions, and messages retired once acknowledged.
#include <algorithm>

#include "dataplane/transport/flow.h"

namespace ferry::transport {

using net::FerryHeader;
using net::FerryPacketType;

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
                           uint64_t now_ns, bool ack_now) {
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
    // No ACK-now at a message's end: its ACK waits (ack_delay_ns at most)
    // to ride on the response a request usually gets, halving the frames
    // of a request/response exchange.
    if (span.last) h.flags |= net::kFerryFlagLastSegment;
    if (ack_now) h.flags |= net::kFerryFlagAckNow;
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
  TransmitSegment(*m, seq - m->first_seq, seq, now_ns, false);
}

void Flow::SendNew(uint64_t now_ns) {
  if (unstarted_ >= queued_) return;
  // What the windows let out now; the burst cap only spreads it over polls.
  const uint32_t window_left = SendAllowance();
  uint32_t allowance = std::min(window_left, config_.max_burst);
  if (cc_.window() < 1 && allowance > 0) {
    // Below one segment per round trip: pace single segments.
    if (now_ns < next_send_ns_) return;
    const uint64_t rtt = rtt_.has_sample() ? rtt_.srtt_ns() : rtt_.rto_ns();
    next_send_ns_ = now_ns + cc_.pacing_interval_ns(rtt);
    allowance = 1;
  }
  if (allowance == 0 && peer_window_ == 0 && sender_.in_flight() == 0 &&
      probe_deadline_ns_ == UINT64_MAX) {
    probe_deadline_ns_ = now_ns + answer_rtt_.rto_ns();
  }
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  uint32_t sent_now = 0;
  while (allowance > 0 && unstarted_ < queued_) {
    OutMessage& m = messages_[(messages_head_ + unstarted_) & mask];
    const uint32_t seq = sender_.OnSend(now_ns);
    if (m.next_segment == 0) m.first_seq = seq;
    // The window's last segment while more waits to go: from here the
    // flow waits for an ACK, which must not sit out the peer's ack delay
    // (meant for an ACK that a response can carry).
    ++sent_now;
    const bool more_waits =
        m.next_segment + 1 < m.segments || unstarted_ + 1 < queued_;
    TransmitSegment(m, m.next_segment, seq, now_ns,
                    more_waits && sent_now == window_left);
    if (++m.next_segment == m.segments) ++unstarted_;
    --allowance;
  }
  if (sent_now > 0 && rto_deadline_ns_ == UINT64_MAX) ArmRto(now_ns);
}

bool Flow::Enqueue(uint64_t message, uint32_t length) {
  if (!accepting_messages() || length > kMaxMessageBytes) return false;
  if (queued_ >= config_.max_queued_messages) return false;
  const uint32_t mask = static_cast<uint32_t>(messages_.size() - 1);
  // An empty ring starts again at its first slot: a flow with one message
  // at a time keeps using one cache line instead of walking the ring's
  // 8 KiB, which with thousands of flows is a miss to memory per message.
  if (queued_ == 0) messages_head_ = 0;
  messages_[(messages_head_ + queued_) & mask] = OutMessage{
      message, length, 0, SegmentCount(length, config_.mss), false, 0};
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

}  // namespace ferry::transport

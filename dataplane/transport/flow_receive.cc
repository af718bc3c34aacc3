// Flow, receiving: which segments are acceptable (RFC 5961-style RST and
// ACK checks), acknowledgements and SACK, and reassembly in order.
#include <algorithm>

#include "dataplane/transport/flow.h"
#include "dataplane/transport/flow_handshake_sink.h"

namespace ferry::transport {

using net::FerryHeader;
using net::FerryPacketType;

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

bool Flow::OnSegment(const FerryHeader& header,
                     absl::Span<const uint8_t> payload, uint64_t packet,
                     uint64_t now_ns) {
  if (state_ == FlowState::kClosed) return false;
  ++stats_.segments_received;
  if (header.timestamp_us != 0) {
    echo_us_ = header.timestamp_us;
    echo_received_us_ = TimestampUs(now_ns);
  }
  keepalives_unanswered_ = 0;
  // Heard from the peer: whatever it still owes us, the wait starts over.
  if (waiting_since_ns_ != UINT64_MAX) waiting_since_ns_ = now_ns;
  if (state_ != FlowState::kConnecting) {
    keepalive_ns_ = now_ns + config_.keepalive_idle_ns;
  }

  if (!handshake_.established()) {
    HandshakeSink sink(*this, now_ns);
    const bool consumed = handshake_.OnSegment(header, now_ns, sink);
    if (handshake_.state() == HandshakeState::kFailed) {
      End(EndReasonOf(handshake_.error()));
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
        env_.SegmentNotTaken(*this, FlowEnv::NotTaken::kDuplicate);
        ack_now_ = true;
        DeliverHeld(now_ns);
        return false;
      }
      if (!Consume(header.type, header.flags, header.message_length, payload,
                   now_ns)) {
        ++stats_.refused_no_room;
        env_.SegmentNotTaken(*this, FlowEnv::NotTaken::kNoRoom);
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
        env_.SegmentNotTaken(*this, FlowEnv::NotTaken::kBeyondWindow);
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
      env_.SegmentNotTaken(*this, FlowEnv::NotTaken::kDuplicate);
      ack_now_ = true;  // our ACK may have been lost
      // The sender repeats the segment we refused for lack of room while
      // later ones wait here: deliver if the app made room since.
      if (receiver_.NextIsHeld()) DeliverHeld(now_ns);
      return false;
    case Arrival::kBeyondWindow:
      ++stats_.beyond_window;
      env_.SegmentNotTaken(*this, FlowEnv::NotTaken::kBeyondWindow);
      ack_now_ = true;
      return false;
  }
  return false;
}

void Flow::OnAckFields(const FerryHeader& header, uint64_t now_ns) {
  // The newest segment this ACK may cover, read before OnAck moves on.
  const uint64_t newest_sent_ns = sender_.AnswerSentNs(header.ack);
  const SendTracker::AckResult result = sender_.OnAck(header.ack, header.sack);
  if (result.stale) return;
  if (result.newly_acked > 0) {
    if (newest_sent_ns != 0 && now_ns > newest_sent_ns) {
      answer_rtt_.AddSample(now_ns - newest_sent_ns);
    } else {
      answer_rtt_.EndBackoff();
    }
  }
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
        const uint64_t base = cc_.base_rtt_ns();
        env_.RttSampled(
            *this, rtt_ns,
            base != UINT64_MAX && rtt_ns > base ? rtt_ns - base : 0);
      }
    }
    if (timeout_check_ && result.newly_acked > 0 &&
        static_cast<int32_t>(header.ack - timeout_seq_) > 0) {
      timeout_check_ = false;
      // The echo is the timestamp of the newest segment the peer had
      // (plus its hold time), never older than what it answers: one older
      // than the resend proves the first transmission arrived.
      if (header.echo_timestamp_us != 0 &&
          static_cast<int32_t>(TimestampUs(timeout_resent_ns_) -
                               header.echo_timestamp_us) > 0) {
        ++stats_.spurious_timeouts;
        cc_.UndoTimeout(window_before_timeout_);
        rtt_.OnSpuriousTimeout(rtt_ns);
        // The first transmission's answer came at least this late.
        const uint64_t answered_after_ns =
            now_ns - timeout_resent_ns_ + timeout_expired_rto_ns_;
        answer_rtt_.OnSpuriousTimeout(answered_after_ns);
        env_.SpuriousTimeout(*this, answered_after_ns);
      }
    }
    const double window = cc_.window();
    cc_.OnAck(result.newly_acked + result.newly_sacked, rtt_ns, now_ns);
    if (cc_.window() < window) env_.WindowCut(*this, false);
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
  if (n > 0) {
    const double window = cc_.window();
    cc_.OnLoss(now_ns, rtt_ns);
    if (cc_.window() < window) env_.WindowCut(*this, true);
  }
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

}  // namespace ferry::transport

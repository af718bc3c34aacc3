#include "dataplane/transport/handshake.h"

#include <algorithm>

namespace ferry::transport {

using net::FerryHeader;
using net::FerryPacketType;

const char* HandshakeErrorName(HandshakeError error) {
  switch (error) {
    case HandshakeError::kNone:
      return "none";
    case HandshakeError::kTimedOut:
      return "timed_out";
    case HandshakeError::kRefused:
      return "refused";
    case HandshakeError::kReset:
      return "reset";
    case HandshakeError::kUntrusted:
      return "untrusted";
    case HandshakeError::kEncryptionRequired:
      return "encryption_required";
  }
  return "unknown";
}

Handshake Handshake::Connect(uint32_t local_flow, uint32_t isn, uint64_t now_ns,
                             const HandshakeTimings& timings,
                             SegmentSink& sink) {
  Handshake h(local_flow, isn, timings);
  h.state_ = HandshakeState::kSynSent;
  h.rto_ns_ = timings.initial_rto_ns;
  h.SendSyn(sink);
  h.Arm(now_ns);
  return h;
}

Handshake Handshake::Accept(uint32_t local_flow, uint32_t isn,
                            const FerryHeader& syn, uint64_t now_ns,
                            const HandshakeTimings& timings,
                            SegmentSink& sink) {
  Handshake h(local_flow, isn, timings);
  h.state_ = HandshakeState::kSynReceived;
  h.remote_flow_ = syn.src_flow;
  h.peer_isn_ = syn.seq;
  h.rto_ns_ = timings.initial_rto_ns;
  h.SendSynAck(sink);
  h.Arm(now_ns);
  return h;
}

void Handshake::SendSyn(SegmentSink& sink) const {
  FerryHeader syn;
  syn.type = FerryPacketType::kSyn;
  syn.src_flow = local_flow_;
  syn.seq = isn_;
  sink.Send(syn);
}

void Handshake::SendSynAck(SegmentSink& sink) const {
  FerryHeader synack;
  synack.type = FerryPacketType::kSynAck;
  synack.src_flow = local_flow_;
  synack.dst_flow = remote_flow_;
  synack.seq = isn_;
  synack.ack = peer_isn_ + 1;
  sink.Send(synack);
}

void Handshake::SendAck(SegmentSink& sink) const {
  FerryHeader ack;
  ack.type = FerryPacketType::kAck;
  ack.src_flow = local_flow_;
  ack.dst_flow = remote_flow_;
  ack.seq = isn_ + 1;
  ack.ack = peer_isn_ + 1;
  sink.Send(ack);
}

void Handshake::Arm(uint64_t now_ns) { timer_ns_ = now_ns + rto_ns_; }

void Handshake::Fail(HandshakeError error) {
  state_ = HandshakeState::kFailed;
  error_ = error;
  timer_ns_ = UINT64_MAX;
}

bool Handshake::OnSegment(const FerryHeader& header, uint64_t now_ns,
                          SegmentSink& sink) {
  if (state_ == HandshakeState::kFailed) return true;  // nothing to do
  if (header.type == FerryPacketType::kRst) {
    // Only a RST that names this flow counts (a stale one for an old flow
    // must not kill a new one).
    if (header.dst_flow != local_flow_) return true;
    // Before establishment a RST answers our SYN or SYN-ACK (its ack is our
    // ISN + 1): a blind one would have to guess the ISN.
    if (state_ != HandshakeState::kEstablished && header.ack != isn_ + 1) {
      return true;
    }
    if (state_ == HandshakeState::kEstablished) {
      Fail(HandshakeError::kReset);
    } else if (header.flags & net::kFerryFlagUntrusted) {
      Fail(HandshakeError::kUntrusted);
    } else if (header.flags & net::kFerryFlagSecureRequired) {
      Fail(HandshakeError::kEncryptionRequired);
    } else {
      Fail(HandshakeError::kRefused);
    }
    return true;
  }
  switch (state_) {
    case HandshakeState::kSynSent:
      if (header.type == FerryPacketType::kSynAck &&
          header.dst_flow == local_flow_ && header.ack == isn_ + 1) {
        remote_flow_ = header.src_flow;
        peer_isn_ = header.seq;
        state_ = HandshakeState::kEstablished;
        timer_ns_ = UINT64_MAX;
        SendAck(sink);
        return true;
      }
      if (header.type == FerryPacketType::kSyn) {
        // Simultaneous open: both sides sent SYN. The side with the lower
        // flow id stays initiator and ignores the other's SYN; the higher
        // one becomes responder, so exactly one flow results.
        if (header.src_flow < local_flow_) {
          remote_flow_ = header.src_flow;
          peer_isn_ = header.seq;
          state_ = HandshakeState::kSynReceived;
          rto_ns_ = timings_->initial_rto_ns;
          retries_ = 0;
          SendSynAck(sink);
          Arm(now_ns);
        }
        return true;
      }
      return true;  // anything else before establishment is stale
    case HandshakeState::kSynReceived:
      if (header.type == FerryPacketType::kSyn &&
          header.src_flow == remote_flow_ && header.seq == peer_isn_) {
        SendSynAck(sink);  // our SYN-ACK was lost: the SYN came again
        return true;
      }
      if ((header.type == FerryPacketType::kAck ||
           header.type == FerryPacketType::kData) &&
          header.src_flow == remote_flow_ && header.ack == isn_ + 1) {
        state_ = HandshakeState::kEstablished;
        timer_ns_ = UINT64_MAX;
        // A DATA segment that completed the handshake still carries data.
        return header.type == FerryPacketType::kAck;
      }
      return true;
    case HandshakeState::kEstablished:
      if (header.type == FerryPacketType::kSynAck &&
          header.dst_flow == local_flow_) {
        SendAck(sink);  // our ACK was lost: the SYN-ACK came again
        return true;
      }
      if (header.type == FerryPacketType::kSyn) return true;  // stale
      return false;  // data and ACKs are the transport's
    case HandshakeState::kFailed:
      return true;
  }
  return true;
}

void Handshake::OnTimer(uint64_t now_ns, SegmentSink& sink) {
  if (now_ns < timer_ns_) return;
  if (retries_ == timings_->max_retries) {
    Fail(HandshakeError::kTimedOut);
    return;
  }
  ++retries_;
  rto_ns_ = std::min(rto_ns_ * 2, timings_->max_rto_ns);
  if (state_ == HandshakeState::kSynSent) {
    SendSyn(sink);
  } else if (state_ == HandshakeState::kSynReceived) {
    SendSynAck(sink);
  }
  Arm(now_ns);
}

}  // namespace ferry::transport

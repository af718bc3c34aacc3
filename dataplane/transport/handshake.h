// The connection handshake of a Ferry flow, as a state machine with no I/O
// of its own: it is fed segments and time, and emits segments through a
// sink. The engine will own one per flow; tests drive it directly with
// hand-built headers and a captured transmit queue.
//
//   initiator                         responder
//   CLOSED --SYN(seq=I, src=a)-->     (listener) -> SYN_RECEIVED
//   SYN_SENT <--SYN-ACK(seq=R, ack=I+1, src=b, dst=a)--
//   ESTABLISHED --ACK(ack=R+1, src=a, dst=b)--> ESTABLISHED
//
// Initial sequence numbers are random (chosen by the caller, so tests are
// deterministic). A SYN or SYN-ACK that gets no answer is sent again after
// the retransmission timeout, doubling each time, up to a limit; then the
// flow fails with kTimedOut. A RST fails it with kRefused (during the
// handshake) or kReset (after). A repeated SYN (our SYN-ACK was lost) gets
// the SYN-ACK again. Simultaneous SYNs are resolved by the initiators' flow
// ids: the lower id keeps the initiator role.
//
// Threading: one engine thread, like everything a flow owns.
#ifndef FERRY_DATAPLANE_TRANSPORT_HANDSHAKE_H_
#define FERRY_DATAPLANE_TRANSPORT_HANDSHAKE_H_

#include <cstdint>

#include "dataplane/net/ferry_header.h"

namespace ferry::transport {

enum class HandshakeState : uint8_t {
  kSynSent,
  kSynReceived,
  kEstablished,
  kFailed,
};

enum class HandshakeError : uint8_t {
  kNone,
  kTimedOut,            // no answer after every retransmission
  kRefused,             // the peer answered RST (nobody listens there)
  kReset,               // RST after establishment
  kUntrusted,           // RST: the peer does not trust our node key
  kEncryptionRequired,  // RST: the peer requires encryption
};

const char* HandshakeErrorName(HandshakeError error);

struct HandshakeTimings {
  uint64_t initial_rto_ns = 1'000'000;  // 1 ms: microsecond-scale networks
  uint64_t max_rto_ns = 200'000'000;
  // 1+2+4+...+128 ms, then 200 ms twice: about 0.9 s in all, so that a lost
  // ARP request (asked again after 200 ms) does not fail a connect.
  uint8_t max_retries = 10;
};

// Where the handshake's segments go (the engine's TX path, a test's queue).
class SegmentSink {
 public:
  virtual ~SegmentSink() = default;
  virtual void Send(const net::FerryHeader& header) = 0;
};

class Handshake {
 public:
  // Not started: Connect or Accept start a handshake (assign the result).
  // `timings` must outlive the handshake: every flow of an engine shares
  // one copy (see FlowProfile).
  Handshake(uint32_t local_flow, uint32_t isn, const HandshakeTimings& timings)
      : local_flow_(local_flow), isn_(isn), timings_(&timings) {}
  Handshake(uint32_t local_flow, uint32_t isn,
            const HandshakeTimings&& timings) = delete;
  // Initiator: sends SYN now.
  static Handshake Connect(uint32_t local_flow, uint32_t isn, uint64_t now_ns,
                           const HandshakeTimings& timings, SegmentSink& sink);
  static Handshake Connect(uint32_t local_flow, uint32_t isn, uint64_t now_ns,
                           const HandshakeTimings&& timings,
                           SegmentSink& sink) = delete;
  // Responder, for a SYN a listener accepted: sends SYN-ACK now.
  static Handshake Accept(uint32_t local_flow, uint32_t isn,
                          const net::FerryHeader& syn, uint64_t now_ns,
                          const HandshakeTimings& timings, SegmentSink& sink);
  static Handshake Accept(uint32_t local_flow, uint32_t isn,
                          const net::FerryHeader& syn, uint64_t now_ns,
                          const HandshakeTimings&& timings,
                          SegmentSink& sink) = delete;

  // A segment addressed to this flow (the caller matched dst_flow, or for a
  // SYN the 5-tuple). Returns whether the segment was consumed by the
  // handshake (false: it is data/ACK for an established flow, or stale).
  bool OnSegment(const net::FerryHeader& header, uint64_t now_ns,
                 SegmentSink& sink);
  // Retransmits or fails when the timer is due.
  void OnTimer(uint64_t now_ns, SegmentSink& sink);

  HandshakeState state() const { return state_; }
  HandshakeError error() const { return error_; }
  bool established() const { return state_ == HandshakeState::kEstablished; }
  uint32_t local_flow() const { return local_flow_; }
  uint32_t remote_flow() const { return remote_flow_; }
  // The first sequence number of data in each direction.
  uint32_t send_next() const { return isn_ + 1; }
  uint32_t receive_next() const { return peer_isn_ + 1; }
  // When OnTimer has something to do; UINT64_MAX when nothing is pending.
  uint64_t timer_ns() const { return timer_ns_; }
  uint8_t retries() const { return retries_; }

 private:
  void SendSyn(SegmentSink& sink) const;
  void SendSynAck(SegmentSink& sink) const;
  void SendAck(SegmentSink& sink) const;
  void Arm(uint64_t now_ns);
  void Fail(HandshakeError error);

  HandshakeState state_ = HandshakeState::kSynSent;
  HandshakeError error_ = HandshakeError::kNone;
  uint32_t local_flow_;
  uint32_t remote_flow_ = 0;
  uint32_t isn_;
  uint32_t peer_isn_ = 0;
  const HandshakeTimings* timings_;
  uint64_t rto_ns_ = 0;
  uint64_t timer_ns_ = UINT64_MAX;
  uint8_t retries_ = 0;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_HANDSHAKE_H_

// One reliable message flow between two engines: the handshake, message
// segmentation and reassembly, cumulative ACK + SACK, fast retransmit, the
// retransmission timeout, delay-based congestion control, a receive window
// tied to the application's free buffers, keepalive, close and reset.
//
// A Flow does no I/O of its own. It is fed segments (OnSegment) and time
// (OnTimer), is given messages to send (Enqueue) and asked to transmit
// (Pump), and reaches the world only through its FlowEnv: the engine in
// ferryd, a simulated wire in tests. Messages and received packets are
// opaque 64-bit handles chosen by the environment, so this file knows
// nothing of DPDK or channels.
//
// Sequence space: every DATA segment and the FIN take one sequence number.
// A message is a run of consecutive segments (FIRST ... LAST); its
// buffers go back to the environment (MessageDone) once the peer has
// acknowledged its last segment, so the environment keeps the bytes until
// then and a retransmission reads them again.
//
// Threading: one engine thread owns a flow. Nothing here allocates after
// construction.
#ifndef FERRY_DATAPLANE_TRANSPORT_FLOW_H_
#define FERRY_DATAPLANE_TRANSPORT_FLOW_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "dataplane/net/ferry_header.h"
#include "dataplane/transport/congestion_control.h"
#include "dataplane/transport/flow_config.h"
#include "dataplane/transport/flow_profile.h"
#include "dataplane/transport/handshake.h"
#include "dataplane/transport/message_segments.h"
#include "dataplane/transport/receive_tracker.h"
#include "dataplane/transport/rtt_estimator.h"
#include "dataplane/transport/send_tracker.h"

namespace ferry::transport {

enum class FlowState : uint8_t {
  kConnecting,   // handshake in progress
  kEstablished,  // data both ways
  kClosing,      // FIN exchange in progress
  kClosed,       // ended (reason() says how); the owner may free it
};

// X(name, description): why a flow ended.
// X(name, text, help, status): `status` is the ferry_status an application
// hears (FERRY_STATUS_<status>, in FLOW_CLOSED events and failed connects).
#define FERRY_FLOW_END_REASONS(X)                                              \
  X(kNone, "none", "still open", OK)                                           \
  X(kClosed, "closed", "closed by either side after a FIN exchange", CLOSED)   \
  X(kRefused, "refused", "nobody listens at the peer's address and port",      \
    REFUSED)                                                                   \
  X(kTimedOut, "timed_out", "the handshake got no answer", TIMED_OUT)          \
  X(kReset, "reset", "the peer reset the flow", RESET)                         \
  X(kPeerDead, "peer_dead", "the peer stopped answering", PEER_DEAD)           \
  X(kProtocolError, "protocol_error", "the peer broke the protocol",           \
    PROTOCOL_ERROR)                                                            \
  X(kAborted, "aborted", "reset locally (the application went away)", ABORTED) \
  X(kUntrusted, "untrusted",                                                   \
    "the peer's node key is not trusted here, or ours not there", UNTRUSTED)   \
  X(kEncryptionRequired, "encryption_required",                                \
    "one side requires encryption, the other does not encrypt",                \
    ENCRYPTION_REQUIRED)

enum class FlowEndReason : uint8_t {
#define FERRY_FLOW_END_ENUM(name, text, help, status) name,
  FERRY_FLOW_END_REASONS(FERRY_FLOW_END_ENUM)
#undef FERRY_FLOW_END_ENUM
};

const char* FlowEndReasonName(FlowEndReason reason);
// Why a flow ended when its handshake failed.
FlowEndReason EndReasonOf(HandshakeError error);

// Header timestamps are 32-bit microseconds (wrapping every 71 minutes);
// 0 means "no timestamp", so a clock that lands on 0 says 1.
inline uint32_t TimestampUs(uint64_t now_ns) {
  const uint32_t us = static_cast<uint32_t>(now_ns / 1000);
  return us == 0 ? 1 : us;
}
const char* FlowStateName(FlowState state);

class Flow;

// What a flow needs from its surroundings.
class FlowEnv {
 public:
  static constexpr uint64_t kNoHandle = 0;

  virtual ~FlowEnv() = default;
  // Puts a segment on the wire: `header` followed by bytes
  // [offset, offset + length) of outgoing message `message` (no payload
  // when length is 0).
  virtual void Transmit(Flow& flow, const net::FerryHeader& header,
                        uint64_t message, uint32_t offset, uint32_t length) = 0;
  // An enqueued message is finished with: acknowledged by the peer
  // (`delivered`), or abandoned because the flow ended.
  virtual void MessageDone(Flow& flow, uint64_t message, bool delivered) = 0;
  // Room for a received message of `length` bytes; kNoHandle when the
  // application has no room now (the segment is then refused and the
  // sender retries).
  virtual uint64_t BeginReceive(Flow& flow, uint32_t length) = 0;
  virtual void WriteReceive(Flow& flow, uint64_t handle, uint32_t offset,
                            absl::Span<const uint8_t> bytes) = 0;
  // Hands the message to the application (`complete`) or drops it.
  virtual void EndReceive(Flow& flow, uint64_t handle, bool complete) = 0;
  // Segments the application could take now (its free receive buffers),
  // or `most` if it could take at least that many: a channel with room to
  // spare answers without dividing its bytes by the segment size.
  virtual uint32_t ReceiveRoom(Flow& flow, uint32_t most) = 0;
  // A packet the flow held (out of order) is no longer needed.
  virtual void ReleasePacket(uint64_t packet) = 0;
  // The flow changed state (established, closed).
  virtual void StateChanged(Flow& flow) = 0;
  // A segment is being sent again (for counters).
  virtual void Retransmitting(Flow& flow, bool after_timeout) {
    (void)flow;
    (void)after_timeout;
  }
  // A round trip was measured (for histograms); `queueing_ns` is how far
  // it was above the flow's base round trip.
  virtual void RttSampled(Flow& flow, uint64_t rtt_ns, uint64_t queueing_ns) {
    (void)flow;
    (void)rtt_ns;
    (void)queueing_ns;
  }
  // A retransmission timeout turned out spurious (its window cut undone):
  // the first transmission was answered at least `answer_ns` after it was
  // sent.
  virtual void SpuriousTimeout(Flow& flow, uint64_t answer_ns) {
    (void)flow;
    (void)answer_ns;
  }
  // A data segment was not taken (for counters): a copy of one we had, no
  // room in the application's channel (the sender must send it again), or
  // beyond the window we advertised.
  enum class NotTaken { kDuplicate, kNoRoom, kBeyondWindow };
  virtual void SegmentNotTaken(Flow& flow, NotTaken why) {
    (void)flow;
    (void)why;
  }
  // Congestion control cut the flow's window: for delay above its target,
  // or for loss (timeouts are counted as retransmissions).
  virtual void WindowCut(Flow& flow, bool for_loss) {
    (void)flow;
    (void)for_loss;
  }
  // The least retransmission timeout for the flow's next segments, before
  // backoff: what the round trips of the flow's neighbours say (0: no
  // floor). A flow sending one message at a time measures its round trip
  // rarely; thousands of such flows share the engine's queues, and each
  // alone would time out spuriously whenever those queues grow.
  virtual uint64_t RtoFloorNs(const Flow& flow) {
    (void)flow;
    return 0;
  }
  // A segment acknowledging what this side never sent was dropped.
  virtual void SegmentRefused(Flow& flow) { (void)flow; }
  // What the flow sent got no answer in time (a retransmission timeout, a
  // handshake sent again, a second keepalive): the path to the peer may
  // have changed, as when the peer restarted with another MAC.
  virtual void PathSuspect(Flow& flow) { (void)flow; }
  // A RST was not taken: dropped, or answered with a challenge ACK.
  virtual void RstRefused(Flow& flow, bool challenged) {
    (void)flow;
    (void)challenged;
  }
};

// Per-flow counters, read by whoever owns the flow (Flow service).
struct FlowStats {
  uint64_t messages_sent = 0;  // acknowledged by the peer
  uint64_t bytes_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t segments_sent = 0;
  uint64_t segments_received = 0;
  uint64_t retransmits_fast = 0;     // on SACK evidence
  uint64_t retransmits_timeout = 0;  // after the RTO
  uint64_t spurious_timeouts = 0;    // RTOs the peer's ACK showed needless
  uint64_t duplicates_received = 0;
  uint64_t out_of_order_received = 0;
  uint64_t refused_no_room = 0;  // in-order segments the app had no room for
  uint64_t beyond_window = 0;
  uint64_t acks_sent = 0;
  uint64_t window_probes = 0;
  uint64_t rst_refused = 0;      // neither exact nor answering our sends
  uint64_t bad_ack_dropped = 0;  // acknowledging what we never sent
};

class Flow {
 public:
  // `isn`: this side's random initial sequence number. `profile` must
  // outlive the flow (its owner keeps one for many flows).
  Flow(uint32_t local_id, uint32_t isn, const FlowProfile& profile,
       FlowEnv& env);
  Flow(uint32_t local_id, uint32_t isn, const FlowProfile&& profile,
       FlowEnv& env) = delete;
  // Starts the flow as initiator (sends the SYN now) or as responder to a
  // SYN that a listener accepted (sends the SYN-ACK now). Call one, once.
  void StartConnect(uint64_t now_ns);
  void StartAccept(const net::FerryHeader& syn, uint64_t now_ns);
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;

  // A segment for this flow, its payload, and the packet that carries it
  // (kNoHandle when the packet cannot be kept). Returns true when the flow
  // kept the packet (it calls ReleasePacket later); otherwise the caller
  // frees it.
  bool OnSegment(const net::FerryHeader& header,
                 absl::Span<const uint8_t> payload, uint64_t packet,
                 uint64_t now_ns);
  // Runs what is due: handshake and data retransmission, delayed ACK,
  // keepalive, window probes.
  void OnTimer(uint64_t now_ns);
  // Queues a message (1 .. kMaxMessageBytes bytes, or 0). False when the
  // flow cannot take it now (queue full: try again later) or at all
  // (check accepting_messages()).
  bool Enqueue(uint64_t message, uint32_t length);
  // Transmits what the window allows (new segments, retransmissions) and a
  // pending ACK. Call after OnSegment/Enqueue, at most once per poll.
  void Pump(uint64_t now_ns);
  // Orderly close: a FIN after everything queued. Abort: a RST now, and
  // the flow ends with kAborted.
  void Close(uint64_t now_ns);
  void Abort(uint64_t now_ns);
  // Ends the flow without a word to the peer (a half-open flow that a
  // SYN flood pushed out).
  void Drop();
  // Ends the flow with `reason` and no word to the peer: its environment
  // refused the handshake and answers for it (an untrusted key).
  void Fail(FlowEndReason reason) { End(reason); }

  // Whether Pump has something to do (new data the window allows,
  // retransmissions, an ACK to send).
  bool wants_pump() const;
  bool accepting_messages() const {
    return state_ == FlowState::kEstablished && !close_requested_;
  }
  bool queue_full() const { return queued_ >= config_.max_queued_messages; }
  // When OnTimer next has something to do; UINT64_MAX: nothing pending.
  uint64_t next_timer_ns() const;

  FlowState state() const { return state_; }
  FlowEndReason end_reason() const { return end_reason_; }
  uint32_t local_id() const { return local_id_; }
  uint32_t remote_id() const { return handshake_.remote_flow(); }
  const FlowStats& stats() const { return stats_; }
  double congestion_window() const { return cc_.window(); }
  uint64_t srtt_ns() const { return rtt_.srtt_ns(); }
  uint64_t rto_ns() const { return answer_rtt_.rto_ns(); }
  uint32_t in_flight() const { return sender_.in_flight(); }
  uint32_t peer_window() const { return peer_window_; }
  uint32_t queued_messages() const { return queued_; }
  uint32_t held_segments() const { return receiver_.held(); }
  // Handshake retransmissions so far (a failing connect's backoff).
  uint8_t handshake_retries() const { return handshake_.retries(); }

  // The owner's tag (the engine: which channel and listener).
  uint64_t owner = 0;

 private:
  // 24 bytes: each flow's ring holds max_queued_messages and the FIN.
  struct OutMessage {
    uint64_t handle;
    uint32_t length;
    uint32_t first_seq;      // valid once its first segment was sent
    uint32_t segments : 31;  // at most kMaxMessageBytes (one-byte MSS)
    uint32_t fin : 1;
    uint32_t next_segment;  // first not yet sent
  };
  struct HeldSegment {
    uint64_t packet = FlowEnv::kNoHandle;
    const uint8_t* payload = nullptr;
    uint32_t length = 0;
    uint32_t message_length = 0;
    uint8_t flags = 0;
    net::FerryPacketType type = net::FerryPacketType::kData;
  };
  class HandshakeSink;

  void OnEstablished(uint64_t now_ns);
  void End(FlowEndReason reason);
  // Whether a RST may end the flow (flow.cc says why); if not, it is
  // counted and perhaps answered with a challenge ACK.
  bool RstAcceptable(const net::FerryHeader& header, uint64_t now_ns);
  // Sends a RST (when the peer is known) and ends with `reason`.
  void ResetWith(FlowEndReason reason, uint64_t now_ns);
  void OnAckFields(const net::FerryHeader& header, uint64_t now_ns);
  // In-order delivery of one segment; false when the app has no room.
  bool Consume(net::FerryPacketType type, uint8_t flags,
               uint32_t message_length, absl::Span<const uint8_t> payload,
               uint64_t now_ns);
  void DeliverHeld(uint64_t now_ns);
  void SendNew(uint64_t now_ns);
  void Retransmit(uint32_t seq, uint64_t now_ns);
  void RetireAcked(uint64_t now_ns);
  OutMessage* MessageForSeq(uint32_t seq);
  void TransmitSegment(OutMessage& message, uint32_t index, uint32_t seq,
                       uint64_t now_ns, bool ack_now);
  void SendControl(net::FerryPacketType type, uint8_t flags, uint64_t now_ns);
  void FillCommon(net::FerryHeader& header, uint64_t now_ns);
  uint32_t AdvertisedWindow();
  uint32_t SendAllowance() const;
  void MaybeFinish(uint64_t now_ns);
  uint32_t AckThreshold() const;
  void ReleaseEverything();
  void ArmRto(uint64_t now_ns) {
    rto_deadline_ns_ = now_ns + RtoNs();
    Awaiting(now_ns);
  }
  // The flow's own RTO, or the floor its environment sets, backed off as
  // the own one is (doubled per timeout since the peer last answered).
  uint64_t RtoNs() {
    const uint64_t floor = env_.RtoFloorNs(*this);
    if (floor <= answer_rtt_.rto_ns()) return answer_rtt_.rto_ns();
    const uint64_t backed_off = floor << std::min<uint32_t>(backoffs_, 16);
    return std::min(backed_off, config_.rtt.max_rto_ns);
  }
  // Something was sent that the peer must answer: the wait for an answer
  // starts now, unless one is already under way.
  void Awaiting(uint64_t now_ns) {
    if (waiting_since_ns_ == UINT64_MAX) waiting_since_ns_ = now_ns;
  }
  // Whether anything sent still awaits the peer's answer.
  bool AwaitingAnswer() const;

  const FlowConfig& config_;  // the profile's
  FlowEnv& env_;
  const uint32_t local_id_;
  const uint32_t isn_;
  // Challenge ACKs are rate limited: a flood of near-miss RSTs must not
  // turn into a flood of ACKs.
  static constexpr uint64_t kChallengeIntervalNs = 1000000;
  uint64_t last_challenge_ns_ = 0;
  FlowState state_ = FlowState::kConnecting;
  FlowEndReason end_reason_ = FlowEndReason::kNone;
  Handshake handshake_;
  SendTracker sender_;
  ReceiveTracker receiver_;
  // Two estimates of the round trip. rtt_ measures the path: its samples
  // leave out how long the peer held the ACK back (the echo carries that),
  // for Swift and pacing. answer_rtt_ measures how long an answer takes,
  // the hold included (from the send of the newest segment acknowledged,
  // if sent once), for the retransmission timeout: a peer that holds its
  // ACK for a response to carry it (FlowConfig::ack_delay_ns) must not
  // look lost, and one that answers at once keeps the timeout short.
  RttEstimator rtt_;
  RttEstimator answer_rtt_;
  CongestionControl cc_;
  MessageReassembler reassembler_;
  uint64_t receiving_ = FlowEnv::kNoHandle;  // message being reassembled

  // Outgoing messages, oldest unacknowledged first: a fixed ring.
  std::vector<OutMessage> messages_;
  uint32_t messages_head_ = 0;
  uint32_t queued_ = 0;            // messages in the ring
  uint32_t unstarted_ = 0;         // ring offset of the first not fully sent
  std::vector<HeldSegment> held_;  // out-of-order packets, by seq & mask

  uint32_t peer_window_ = 0;
  uint32_t last_advertised_ = 0;   // the window in our latest header
  uint32_t echo_us_ = 0;           // newest peer timestamp, echoed back
  uint32_t echo_received_us_ = 0;  // our clock when it arrived
  bool ack_pending_ = false;
  bool ack_now_ = false;
  uint32_t unacked_segments_ = 0;  // received since our last ACK
  uint64_t ack_deadline_ns_ = UINT64_MAX;
  uint64_t rto_deadline_ns_ = UINT64_MAX;
  uint32_t backoffs_ = 0;  // RTOs since the peer last made progress
  // Telling a spurious timeout (RFC 3522, with our timestamps): the first
  // timeout of a series resent `timeout_seq_` at `timeout_resent_ns_`. An
  // ACK that covers it while echoing an older timestamp answers the first
  // transmission, so nothing was lost: the peer or the path was only
  // slower than the RTO (a host's queues, a descheduled engine).
  // The RTO that expired is kept too: the first transmission was sent at
  // least that long before the resend.
  bool timeout_check_ = false;
  uint32_t timeout_seq_ = 0;
  uint64_t timeout_resent_ns_ = 0;
  uint64_t timeout_expired_rto_ns_ = 0;
  double window_before_timeout_ = 0;
  uint64_t next_send_ns_ = 0;                // pacing below one segment per RTT
  uint64_t probe_deadline_ns_ = UINT64_MAX;  // zero-window probe
  uint64_t keepalive_ns_ = UINT64_MAX;
  uint32_t keepalives_unanswered_ = 0;
  // When the flow began waiting for an answer it has not had (restarted by
  // every segment heard); UINT64_MAX when it waits for nothing. The peer
  // is dead once this is peer_timeout_ns old.
  uint64_t waiting_since_ns_ = UINT64_MAX;
  bool close_requested_ = false;
  bool fin_queued_ = false;
  bool fin_acked_ = false;
  bool peer_fin_ = false;
  FlowStats stats_;
};

}  // namespace ferry::transport

#endif  // FERRY_DATAPLANE_TRANSPORT_FLOW_H_

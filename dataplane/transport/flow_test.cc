// State-machine tests of a flow in the eRPC manner: segments are built or
// captured by hand and fed to the receive handler, the transmit queue is
// captured, and each step states what it expects.
#include "dataplane/transport/flow.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dataplane/transport/testing/flow_harness.h"
#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

using net::FerryHeader;
using net::FerryPacketType;
using testing::DeliverSegment;
using testing::HarnessEnv;
using testing::Segment;

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint32_t kIsnA = 1000;
constexpr uint32_t kIsnB = 0xfffffff0;  // wraps during the tests

FlowConfig SmallConfig() {
  FlowConfig config;
  config.mss = 100;
  config.max_in_flight = 64;
  config.max_queued_messages = 16;
  config.receive_window = 64;
  return config;
}

Segment Pop(HarnessEnv& env) {
  EXPECT_FALSE(env.outbox.empty());
  if (env.outbox.empty()) return {};
  Segment s = std::move(env.outbox.front());
  env.outbox.pop_front();
  return s;
}

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// Two flows, A the initiator and B the responder, and their captured
// outboxes.
class FlowPairTest : public ::testing::Test {
 protected:
  explicit FlowPairTest(FlowConfig config = SmallConfig())
      : config_(config),
        a_(1, kIsnA, profile_, env_a_),
        b_(2, kIsnB, profile_, env_b_) {}

  void Establish() {
    a_.StartConnect(now_);
    Segment syn = Pop(env_a_);
    b_.StartAccept(syn.header, now_);
    DeliverSegment(env_a_, a_, Pop(env_b_), now_);  // SYN-ACK
    DeliverSegment(env_b_, b_, Pop(env_a_), now_);  // ACK
    ASSERT_EQ(a_.state(), FlowState::kEstablished);
    ASSERT_EQ(b_.state(), FlowState::kEstablished);
  }
  // Moves every captured segment across (both ways) until both are quiet,
  // pumping both flows after each step and running timers due within a
  // millisecond (delayed ACKs, retransmissions; not keepalives).
  void Exchange() {
    for (int rounds = 0; rounds < 10000; ++rounds) {
      a_.Pump(now_);
      b_.Pump(now_);
      if (env_a_.outbox.empty() && env_b_.outbox.empty()) {
        const uint64_t due = std::min(a_.next_timer_ns(), b_.next_timer_ns());
        if (due > now_ + kMs) return;
        now_ = std::max(now_, due);
        a_.OnTimer(now_);
        b_.OnTimer(now_);
        continue;
      }
      while (!env_a_.outbox.empty()) {
        DeliverSegment(env_b_, b_, Pop(env_a_), now_);
      }
      while (!env_b_.outbox.empty()) {
        DeliverSegment(env_a_, a_, Pop(env_b_), now_);
      }
      now_ += 5 * kUs;
    }
    FAIL() << "the flows never went quiet";
  }

  FlowConfig config_;
  FlowProfile profile_{config_};
  HarnessEnv env_a_;
  HarnessEnv env_b_;
  Flow a_;
  Flow b_;
  uint64_t now_ = 10 * kMs;
};

TEST_F(FlowPairTest, HandshakeUsesEachSidesInitialSequenceNumber) {
  a_.StartConnect(now_);
  // Expect: a SYN with A's ISN and no destination yet.
  Segment syn = Pop(env_a_);
  EXPECT_EQ(syn.header.type, FerryPacketType::kSyn);
  EXPECT_EQ(syn.header.seq, kIsnA);
  EXPECT_EQ(syn.header.dst_flow, 0u);
  EXPECT_GT(syn.header.window, 0u);
  b_.StartAccept(syn.header, now_);
  // Expect: a SYN-ACK acknowledging A's ISN + 1.
  Segment synack = Pop(env_b_);
  EXPECT_EQ(synack.header.type, FerryPacketType::kSynAck);
  EXPECT_EQ(synack.header.seq, kIsnB);
  EXPECT_EQ(synack.header.ack, kIsnA + 1);
  EXPECT_EQ(synack.header.dst_flow, 1u);
  DeliverSegment(env_a_, a_, synack, now_);
  // Expect: A established, its ACK names B's flow.
  EXPECT_EQ(a_.state(), FlowState::kEstablished);
  ASSERT_EQ(env_a_.state_changes.size(), 1u);
  Segment ack = Pop(env_a_);
  EXPECT_EQ(ack.header.type, FerryPacketType::kAck);
  EXPECT_EQ(ack.header.dst_flow, 2u);
  DeliverSegment(env_b_, b_, ack, now_);
  // Expect: B established.
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
  EXPECT_EQ(a_.remote_id(), 2u);
  EXPECT_EQ(b_.remote_id(), 1u);
}

TEST_F(FlowPairTest, LostSynAckIsRepeatedWhenTheSynComesAgain) {
  a_.StartConnect(now_);
  Segment syn = Pop(env_a_);
  b_.StartAccept(syn.header, now_);
  Pop(env_b_);  // the SYN-ACK is lost
  // Expect: A's timer repeats the SYN after its first RTO.
  now_ += config_.handshake.initial_rto_ns;
  a_.OnTimer(now_);
  Segment again = Pop(env_a_);
  EXPECT_EQ(again.header.type, FerryPacketType::kSyn);
  EXPECT_EQ(again.header.seq, kIsnA);
  // Expect: B answers the repeated SYN with the same SYN-ACK.
  DeliverSegment(env_b_, b_, again, now_);
  Segment synack = Pop(env_b_);
  EXPECT_EQ(synack.header.type, FerryPacketType::kSynAck);
  EXPECT_EQ(synack.header.seq, kIsnB);
  DeliverSegment(env_a_, a_, synack, now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  EXPECT_EQ(a_.state(), FlowState::kEstablished);
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
}

TEST_F(FlowPairTest, LostFinalAckIsRecoveredByTheFirstData) {
  a_.StartConnect(now_);
  b_.StartAccept(Pop(env_a_).header, now_);
  DeliverSegment(env_a_, a_, Pop(env_b_), now_);
  Pop(env_a_);  // A's ACK is lost; A is established, B is not
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(50, 1)), 50));
  a_.Pump(now_);
  // Expect: the DATA completes B's handshake and is delivered.
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(50, 1));
}

TEST_F(FlowPairTest, SimultaneousSynsMakeOneFlow) {
  // Both sides connect at once: A (id 1) stays initiator, B (id 2) turns
  // responder.
  a_.StartConnect(now_);
  b_.StartConnect(now_);
  Segment syn_a = Pop(env_a_);
  Segment syn_b = Pop(env_b_);
  DeliverSegment(env_a_, a_, syn_b, now_);
  // Expect: A ignores B's SYN (lower id keeps the initiator role).
  EXPECT_TRUE(env_a_.outbox.empty());
  DeliverSegment(env_b_, b_, syn_a, now_);
  // Expect: B answers A's SYN with a SYN-ACK.
  Segment synack = Pop(env_b_);
  EXPECT_EQ(synack.header.type, FerryPacketType::kSynAck);
  DeliverSegment(env_a_, a_, synack, now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  EXPECT_EQ(a_.state(), FlowState::kEstablished);
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
}

TEST_F(FlowPairTest, RefusedAndTimedOutConnectsSayWhy) {
  a_.StartConnect(now_);
  Segment syn = Pop(env_a_);
  FerryHeader rst;
  rst.type = FerryPacketType::kRst;
  rst.dst_flow = 1;
  rst.ack = syn.header.seq + 1;
  DeliverSegment(env_a_, a_, Segment{rst, {}}, now_);
  // Expect: the connect ends, refused.
  EXPECT_EQ(a_.state(), FlowState::kClosed);
  EXPECT_EQ(a_.end_reason(), FlowEndReason::kRefused);

  b_.StartConnect(now_);
  Pop(env_b_);
  // Expect: SYNs repeated with doubling intervals, then a timeout.
  uint64_t interval = config_.handshake.initial_rto_ns;
  for (int i = 0; i < config_.handshake.max_retries; ++i) {
    now_ += interval - 1;
    b_.OnTimer(now_);
    EXPECT_TRUE(env_b_.outbox.empty()) << "retry " << i << " came early";
    now_ += 1;
    b_.OnTimer(now_);
    EXPECT_EQ(Pop(env_b_).header.type, FerryPacketType::kSyn);
    interval = std::min(interval * 2, config_.handshake.max_rto_ns);
  }
  now_ += interval;
  b_.OnTimer(now_);
  EXPECT_EQ(b_.state(), FlowState::kClosed);
  EXPECT_EQ(b_.end_reason(), FlowEndReason::kTimedOut);
}

TEST_F(FlowPairTest, InOrderMessagesAreDeliveredAndAcknowledged) {
  Establish();
  const uint64_t m = env_a_.AddMessage(Bytes(250, 3));
  ASSERT_TRUE(a_.Enqueue(m, 250));
  a_.Pump(now_);
  // Expect: three segments (100 + 100 + 50), FIRST on the first, LAST on
  // the last, consecutive sequence numbers from ISN + 1.
  ASSERT_EQ(env_a_.outbox.size(), 3u);
  std::vector<Segment> segs;
  for (int i = 0; i < 3; ++i) segs.push_back(Pop(env_a_));
  EXPECT_EQ(segs[0].header.seq, kIsnA + 1);
  EXPECT_EQ(segs[2].header.seq, kIsnA + 3);
  EXPECT_EQ(segs[0].header.flags, net::kFerryFlagFirstSegment);
  EXPECT_EQ(segs[1].header.flags, 0);
  EXPECT_EQ(segs[2].header.flags, net::kFerryFlagLastSegment);
  EXPECT_EQ(segs[2].payload.size(), 50u);
  for (const Segment& s : segs) DeliverSegment(env_b_, b_, s, now_);
  // Expect: the message whole at B; its ACK waits (for a response to ride
  // on) until ack_delay_ns, then one ACK covers all three.
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(250, 3));
  b_.Pump(now_);
  EXPECT_TRUE(env_b_.outbox.empty());
  EXPECT_EQ(b_.next_timer_ns(), now_ + config_.ack_delay_ns);
  b_.OnTimer(now_ + config_.ack_delay_ns);
  ASSERT_EQ(env_b_.outbox.size(), 1u);
  Segment ack = Pop(env_b_);
  EXPECT_EQ(ack.header.type, FerryPacketType::kAck);
  EXPECT_EQ(ack.header.ack, kIsnA + 4);
  EXPECT_EQ(ack.header.sack, 0u);
  // Expect: A frees the message once acknowledged.
  DeliverSegment(env_a_, a_, ack, now_ + config_.ack_delay_ns + 20 * kUs);
  ASSERT_EQ(env_a_.done.size(), 1u);
  EXPECT_EQ(env_a_.done[0], std::make_pair(m, true));
  EXPECT_EQ(a_.in_flight(), 0u);
  // Expect: the RTT sample is the 20 us of the path: the echo carried the
  // time B held the ACK.
  EXPECT_EQ(a_.srtt_ns(), 20 * kUs);
}

TEST_F(FlowPairTest, TheAckOfARequestRidesOnItsResponse) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, 4)), 60));
  a_.Pump(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  b_.Pump(now_);
  EXPECT_TRUE(env_b_.outbox.empty());
  // Expect: B's response 7 us later is the only frame, and acknowledges
  // the request.
  ASSERT_TRUE(b_.Enqueue(env_b_.AddMessage(Bytes(60, 6)), 60));
  b_.Pump(now_ + 7 * kUs);
  ASSERT_EQ(env_b_.outbox.size(), 1u);
  Segment response = Pop(env_b_);
  EXPECT_EQ(response.header.type, FerryPacketType::kData);
  EXPECT_EQ(response.header.ack, kIsnA + 2);
  DeliverSegment(env_a_, a_, response, now_ + 30 * kUs);
  EXPECT_EQ(a_.in_flight(), 0u);
  ASSERT_EQ(env_a_.received.size(), 1u);
  // Expect: A's RTT leaves out the 7 us B's application took.
  EXPECT_EQ(a_.srtt_ns(), 23 * kUs);
}

TEST_F(FlowPairTest, ASenderOutOfWindowAsksForItsAckAtOnce) {
  Establish();
  // A message of 40 segments against a congestion window of fewer.
  const uint32_t window = static_cast<uint32_t>(a_.congestion_window());
  ASSERT_LT(window, 40u);
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(4000, 8)), 4000));
  a_.Pump(now_);
  // Expect: the window's worth goes out, and only its last segment asks
  // for an immediate ACK: the rest of the message waits for it.
  ASSERT_EQ(env_a_.outbox.size(), window);
  std::vector<Segment> segs;
  while (!env_a_.outbox.empty()) segs.push_back(Pop(env_a_));
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    EXPECT_EQ(segs[i].header.flags & net::kFerryFlagAckNow, 0) << i;
  }
  EXPECT_NE(segs.back().header.flags & net::kFerryFlagAckNow, 0);
  // Expect: B acknowledges all of it at once, not after its ACK delay,
  // and A sends on.
  for (const Segment& seg : segs) DeliverSegment(env_b_, b_, seg, now_);
  b_.Pump(now_);
  ASSERT_FALSE(env_b_.outbox.empty());
  EXPECT_EQ(env_b_.outbox.back().header.ack, segs.back().header.seq + 1);
  while (!env_b_.outbox.empty()) {
    DeliverSegment(env_a_, a_, Pop(env_b_), now_ + 20 * kUs);
  }
  a_.Pump(now_ + 20 * kUs);
  EXPECT_FALSE(env_a_.outbox.empty());
}

TEST_F(FlowPairTest, ALoneRequestDoesNotAskForAnImmediateAck) {
  Establish();
  // Two requests, one segment each, well within the windows.
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, 1)), 60));
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, 2)), 60));
  a_.Pump(now_);
  ASSERT_EQ(env_a_.outbox.size(), 2u);
  // Expect: neither asks: their ACK may wait for a response to carry it.
  EXPECT_EQ(Pop(env_a_).header.flags & net::kFerryFlagAckNow, 0);
  EXPECT_EQ(Pop(env_a_).header.flags & net::kFerryFlagAckNow, 0);
}

TEST_F(FlowPairTest, TheTimeoutWaitsForAnAckThePeerHolds) {
  Establish();
  // One-way messages: B holds each ACK for its full delay (no response
  // comes to carry it); the path takes 20 us.
  for (uint8_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, i)), 60));
    a_.Pump(now_);
    DeliverSegment(env_b_, b_, Pop(env_a_), now_);
    b_.Pump(now_);
    ASSERT_TRUE(env_b_.outbox.empty());
    now_ = b_.next_timer_ns();
    b_.OnTimer(now_);
    now_ += 20 * kUs;
    DeliverSegment(env_a_, a_, Pop(env_b_), now_);
    a_.OnTimer(now_);
  }
  // Expect: the path's estimate leaves the hold out; the timeout does not:
  // the next message's retransmission is not due before its ACK.
  EXPECT_EQ(a_.srtt_ns(), 20 * kUs);
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, 9)), 60));
  a_.Pump(now_);
  Pop(env_a_);
  EXPECT_GT(a_.next_timer_ns(), now_ + config_.ack_delay_ns + 20 * kUs);
  EXPECT_EQ(a_.stats().retransmits_timeout, 0u);
}

TEST_F(FlowPairTest, TheTimeoutStaysShortWhenThePeerAnswersAtOnce) {
  Establish();
  // Requests answered 7 us after they arrive, over a 20 us path.
  for (uint8_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, i)), 60));
    a_.Pump(now_);
    DeliverSegment(env_b_, b_, Pop(env_a_), now_ + 10 * kUs);
    ASSERT_TRUE(b_.Enqueue(env_b_.AddMessage(Bytes(60, i)), 60));
    b_.Pump(now_ + 17 * kUs);
    now_ += 27 * kUs;
    DeliverSegment(env_a_, a_, Pop(env_b_), now_);
    // A's ACK of the response rides on the next request.
  }
  // Expect: the timeout at its floor, far below B's ACK delay: a lost
  // request is resent as soon as before.
  EXPECT_EQ(a_.rto_ns(), config_.rtt.min_rto_ns);
  EXPECT_LT(a_.rto_ns(), config_.ack_delay_ns);
}

TEST_F(FlowPairTest, DuplicateAndOldSegmentsAreDroppedAndReacknowledged) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(60, 5)), 60));
  a_.Pump(now_);
  Segment s = Pop(env_a_);
  DeliverSegment(env_b_, b_, s, now_);
  b_.Pump(now_);
  b_.OnTimer(now_ + config_.ack_delay_ns);
  Pop(env_b_);  // the (delayed) ACK is lost
  // Expect: the repeated segment is not delivered again, but re-ACKed.
  DeliverSegment(env_b_, b_, s, now_);
  EXPECT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(b_.stats().duplicates_received, 1u);
  b_.Pump(now_);
  Segment ack = Pop(env_b_);
  EXPECT_EQ(ack.header.ack, kIsnA + 2);
  // Expect: a very old segment (far behind) is a duplicate too.
  Segment old = s;
  old.header.seq -= 1000;
  DeliverSegment(env_b_, b_, old, now_);
  EXPECT_EQ(b_.stats().duplicates_received, 2u);
  EXPECT_EQ(env_b_.received.size(), 1u);
}

TEST_F(FlowPairTest, FutureSegmentsAreHeldAndSackedUntilTheHoleFills) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(400, 9)), 400));
  a_.Pump(now_);
  std::vector<Segment> segs;
  while (!env_a_.outbox.empty()) segs.push_back(Pop(env_a_));
  ASSERT_EQ(segs.size(), 4u);
  // Expect: segments 2 and 4 (1-based) held; the ACK says ack = seg 1,
  // SACK bits 0 (seg 2) and 2 (seg 4).
  DeliverSegment(env_b_, b_, segs[1], now_);
  DeliverSegment(env_b_, b_, segs[3], now_);
  EXPECT_EQ(b_.held_segments(), 2u);
  EXPECT_EQ(env_b_.packets_held(), 2u);
  b_.Pump(now_);
  Segment ack = Pop(env_b_);
  EXPECT_EQ(ack.header.ack, kIsnA + 1);
  EXPECT_EQ(ack.header.sack, 0b101u);
  // Expect: segment 1 unblocks 2; segment 3 unblocks 4; the message is
  // whole and every held packet went back.
  DeliverSegment(env_b_, b_, segs[0], now_);
  EXPECT_EQ(b_.held_segments(), 1u);
  DeliverSegment(env_b_, b_, segs[2], now_);
  EXPECT_EQ(b_.held_segments(), 0u);
  EXPECT_EQ(env_b_.packets_held(), 0u);
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(400, 9));
  // Expect: a segment too far ahead is dropped, not held.
  Segment far = segs[0];
  far.header.seq += 10000;
  DeliverSegment(env_b_, b_, far, now_);
  EXPECT_EQ(b_.stats().beyond_window, 1u);
  EXPECT_EQ(env_b_.packets_held(), 0u);
}

TEST_F(FlowPairTest, SackHolesTriggerOneFastRetransmit) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(600, 2)), 600));
  a_.Pump(now_);
  std::vector<Segment> segs;
  while (!env_a_.outbox.empty()) segs.push_back(Pop(env_a_));
  ASSERT_EQ(segs.size(), 6u);
  // Segment 2 (index 1) is lost; the rest arrive and each is ACKed.
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i == 1) continue;
    DeliverSegment(env_b_, b_, segs[i], now_);
    b_.Pump(now_);
  }
  // Expect: after three SACKed segments beyond the hole, A resends exactly
  // the missing segment, once.
  std::vector<Segment> resent;
  while (!env_b_.outbox.empty()) {
    DeliverSegment(env_a_, a_, Pop(env_b_), now_);
    while (!env_a_.outbox.empty()) resent.push_back(Pop(env_a_));
  }
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].header.seq, segs[1].header.seq);
  EXPECT_EQ(resent[0].payload, segs[1].payload);
  EXPECT_EQ(a_.stats().retransmits_fast, 1u);
  EXPECT_EQ(env_a_.window_cuts_loss, 1u);  // the loss cut A's window once
  DeliverSegment(env_b_, b_, resent[0], now_);
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(600, 2));
}

TEST_F(FlowPairTest, ARoundTripAboveTheDelayTargetCutsTheWindow) {
  Establish();
  // One message from A and B's ACK, which spends `back_ns` on the wire
  // (B's own hold time is not part of a round-trip sample; the wire's is).
  auto round_trip = [&](uint8_t fill, uint64_t back_ns) {
    ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(100, fill)), 100));
    a_.Pump(now_);
    while (!env_a_.outbox.empty()) {
      DeliverSegment(env_b_, b_, Pop(env_a_), now_);
    }
    b_.Pump(now_);
    if (env_b_.outbox.empty()) {  // B's delayed ACK
      now_ = b_.next_timer_ns();
      b_.OnTimer(now_);
      b_.Pump(now_);
    }
    ASSERT_FALSE(env_b_.outbox.empty());
    now_ += back_ns;
    while (!env_b_.outbox.empty()) {
      DeliverSegment(env_a_, a_, Pop(env_b_), now_);
    }
  };
  round_trip(1, 20 * kUs);  // the base round trip
  round_trip(2, 20 * kUs);
  EXPECT_EQ(env_a_.window_cuts_delay, 0u);
  EXPECT_LT(env_a_.queueing_ns, 5 * kUs);
  const double window = a_.congestion_window();
  round_trip(3, 2 * kMs);  // the ACK waited in a queue on its way back
  EXPECT_EQ(env_a_.window_cuts_delay, 1u);
  EXPECT_EQ(env_a_.window_cuts_loss, 0u);
  EXPECT_LT(a_.congestion_window(), window);
  // About 2 ms above the base round trip of 20 us.
  EXPECT_GT(env_a_.queueing_ns, 1900 * kUs);
  EXPECT_LT(env_a_.queueing_ns, 2100 * kUs);
}

TEST_F(FlowPairTest, RetransmissionTimeoutBacksOffThenDeclaresThePeerDead) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(10, 4)), 10));
  a_.Pump(now_);
  Segment first = Pop(env_a_);
  const double window_before = a_.congestion_window();
  // Expect: nothing before the RTO; the same segment at the RTO; the next
  // one twice as late; the congestion window at its minimum.
  const uint64_t sent_at = now_;
  uint64_t rto = a_.rto_ns();
  int retransmissions = 0;
  while (now_ + rto < sent_at + config_.peer_timeout_ns) {
    ++retransmissions;
    now_ += rto - 1;
    a_.OnTimer(now_);
    EXPECT_TRUE(env_a_.outbox.empty());
    now_ += 1;
    a_.OnTimer(now_);
    Segment again = Pop(env_a_);
    EXPECT_EQ(again.header.seq, first.header.seq);
    EXPECT_EQ(again.payload, first.payload);
    const uint64_t next = a_.rto_ns();
    // The backoff stops where 16 tries still fit in the peer timeout.
    EXPECT_EQ(next, std::min({rto * 2, config_.rtt.max_rto_ns,
                              config_.peer_timeout_ns / 16}));
    rto = next;
  }
  EXPECT_GE(retransmissions, 16);
  EXPECT_LT(a_.congestion_window(), window_before);
  // Expect: the flow lives until the peer has been silent for
  // peer_timeout_ns, and is woken for that moment.
  EXPECT_LE(a_.next_timer_ns(), sent_at + config_.peer_timeout_ns);
  now_ = sent_at + config_.peer_timeout_ns - 1;
  a_.OnTimer(now_);
  EXPECT_EQ(a_.state(), FlowState::kEstablished);
  EXPECT_TRUE(env_a_.outbox.empty());
  // Expect: then a reset, and the message freed.
  now_ += 1;
  a_.OnTimer(now_);
  EXPECT_EQ(Pop(env_a_).header.type, FerryPacketType::kRst);
  EXPECT_EQ(a_.state(), FlowState::kClosed);
  EXPECT_EQ(a_.end_reason(), FlowEndReason::kPeerDead);
  ASSERT_EQ(env_a_.done.size(), 1u);
  EXPECT_FALSE(env_a_.done[0].second);
  EXPECT_EQ(env_a_.outgoing_messages(), 0u);
}

// One message from A whose first transmission reaches B at once; B's ACK
// goes out after B's ACK delay and spends 2 ms in queues on its way back,
// during which A's RTO fires. With `first_lost` the first transmission is
// lost instead, and B acknowledges the resend.
struct TimeoutOutcome {
  uint64_t retransmits = 0;
  uint64_t spurious = 0;
  double window_after_timeout = 0;
  uint64_t rto_after_ack = 0;
  uint64_t first_sent_ns = 0;  // when the segment that timed out was sent
  uint64_t acked_ns = 0;       // when the ACK for it came
};

class SpuriousTimeoutTest : public FlowPairTest {
 protected:
  TimeoutOutcome Run(bool first_lost) {
    Establish();
    // A few quick round trips: an RTO of a few hundred microseconds.
    for (uint8_t i = 0; i < 4; ++i) {
      EXPECT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(50, i)), 50));
      Exchange();
    }
    TimeoutOutcome out;
    EXPECT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(50, 9)), 50));
    a_.Pump(now_);
    Segment first = Pop(env_a_);
    // B's ACK, sent after its ACK delay, for the segment B just had.
    auto b_acks = [&] {
      b_.Pump(now_);
      if (env_b_.outbox.empty()) {
        now_ = b_.next_timer_ns();
        b_.OnTimer(now_);
        b_.Pump(now_);
      }
      EXPECT_FALSE(env_b_.outbox.empty());
    };
    const uint64_t sent_at = now_;
    out.first_sent_ns = sent_at;
    if (!first_lost) {
      DeliverSegment(env_b_, b_, first, now_);
      b_acks();
    }
    now_ = a_.next_timer_ns();
    EXPECT_LT(now_, sent_at + kMs);
    a_.OnTimer(now_);  // the RTO: the same segment again
    Segment resent = Pop(env_a_);
    EXPECT_EQ(resent.header.seq, first.header.seq);
    out.window_after_timeout = a_.congestion_window();
    if (first_lost) {
      DeliverSegment(env_b_, b_, resent, now_);
      b_acks();
    }
    now_ += 2 * kMs;
    out.acked_ns = now_;
    while (!env_b_.outbox.empty()) {
      DeliverSegment(env_a_, a_, Pop(env_b_), now_);
    }
    out.retransmits = a_.stats().retransmits_timeout;
    out.spurious = a_.stats().spurious_timeouts;
    out.rto_after_ack = a_.rto_ns();
    return out;
  }
};

TEST_F(SpuriousTimeoutTest, AnAckForTheFirstTransmissionUndoesTheTimeout) {
  const double window = a_.congestion_window();
  const TimeoutOutcome out = Run(/*first_lost=*/false);
  EXPECT_EQ(out.retransmits, 1u);
  EXPECT_LT(out.window_after_timeout, window);
  // Expect: counted as spurious; the RTO now covers the slow round trip
  // (about 2.1 ms since the first transmission) with room to spare.
  EXPECT_EQ(out.spurious, 1u);
  EXPECT_GT(out.rto_after_ack, 6 * kMs);
  // The environment hears how late the first transmission was answered:
  // at least the RTO that expired plus the wait after the resend, and no
  // more than the whole wait since the first transmission.
  ASSERT_EQ(env_a_.spurious_answers_ns.size(), 1u);
  EXPECT_GE(env_a_.spurious_answers_ns[0], 2 * kMs);
  EXPECT_LE(env_a_.spurious_answers_ns[0], out.acked_ns - out.first_sent_ns);
}

TEST_F(SpuriousTimeoutTest, AnAckForTheResendIsARealLoss) {
  const TimeoutOutcome out = Run(/*first_lost=*/true);
  EXPECT_EQ(out.retransmits, 1u);
  // Expect: not spurious; the RTO follows the resend's round trip only.
  EXPECT_EQ(out.spurious, 0u);
  EXPECT_LT(out.rto_after_ack, 6 * kMs);
  EXPECT_TRUE(env_a_.spurious_answers_ns.empty());
}

TEST_F(FlowPairTest, TheWaitForAnAnswerStartsWithTheSendThatNeedsIt) {
  Establish();
  // A request, and B's answer, which acknowledges it.
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(10, 1)), 10));
  a_.Pump(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  ASSERT_TRUE(b_.Enqueue(env_b_.AddMessage(Bytes(10, 2)), 10));
  b_.Pump(now_);
  while (!env_b_.outbox.empty()) DeliverSegment(env_a_, a_, Pop(env_b_), now_);
  // A's timers run while nothing is in flight; the timer of the answered
  // request has not come due yet.
  now_ += 10'000;
  a_.OnTimer(now_);
  a_.Pump(now_);
  env_a_.outbox.clear();
  // The next request goes out; B has vanished.
  now_ += 1'000;
  const uint64_t sent_at = now_;
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(10, 3)), 10));
  a_.Pump(now_);
  Pop(env_a_);
  // Expect: its retransmission timer runs from this send, not from the
  // answered one...
  EXPECT_EQ(a_.next_timer_ns(), sent_at + a_.rto_ns());
  // ...and the peer is dead peer_timeout_ns after it, not later.
  while (a_.state() == FlowState::kEstablished &&
         now_ < sent_at + 2 * config_.peer_timeout_ns) {
    now_ = a_.next_timer_ns();
    a_.OnTimer(now_);
    env_a_.outbox.clear();
  }
  EXPECT_EQ(a_.end_reason(), FlowEndReason::kPeerDead);
  EXPECT_EQ(now_, sent_at + config_.peer_timeout_ns);
}

TEST_F(FlowPairTest, SendingStopsAtThePeersWindow) {
  env_b_.room = 3;  // B can take three segments
  Establish();
  EXPECT_EQ(a_.peer_window(), 3u);
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(1000, 6)), 1000));
  a_.Pump(now_);
  // Expect: three segments out of ten, then nothing until an ACK.
  EXPECT_EQ(env_a_.outbox.size(), 3u);
  a_.Pump(now_);
  EXPECT_EQ(env_a_.outbox.size(), 3u);
  Exchange();
  // Expect: all of it arrives, three segments at a time.
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(1000, 6));
}

TEST_F(FlowPairTest, NoRoomClosesTheWindowAndAProbeReopensIt) {
  Establish();
  env_b_.room = 0;
  env_b_.accept_messages = false;  // the app reads nothing
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(30, 8)), 30));
  a_.Pump(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  // Expect: refused (not delivered), and an immediate ACK with window 0.
  EXPECT_EQ(b_.stats().refused_no_room, 1u);
  EXPECT_TRUE(env_b_.received.empty());
  b_.Pump(now_);
  Segment ack = Pop(env_b_);
  EXPECT_EQ(ack.header.window, 0u);
  EXPECT_EQ(ack.header.ack, kIsnA + 1);
  DeliverSegment(env_a_, a_, ack, now_);
  EXPECT_EQ(a_.peer_window(), 0u);
  // Expect: the RTO resends the segment (it is still in flight); B, still
  // full, refuses it again without crashing or losing it.
  now_ += a_.rto_ns();
  a_.OnTimer(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  EXPECT_EQ(b_.stats().refused_no_room, 2u);
  // Expect: once the app makes room the next retransmission is delivered.
  env_b_.room = 64;
  env_b_.accept_messages = true;
  now_ += a_.rto_ns();
  a_.OnTimer(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(30, 8));
}

// A message being received already has its buffers; the rest of it must
// get in even when other messages took every buffer the application had
// left. Advertising no room then would let no such message finish, and
// none would free any: with a channel's buffers all held by half-received
// messages, every flow of it stopped for good.
TEST_F(FlowPairTest, AMessageBegunIsLetInWhenTheAppHasNoRoomLeft) {
  env_b_.room = 3;
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(1000, 9)), 1000));
  a_.Pump(now_);
  ASSERT_EQ(env_a_.outbox.size(), 3u);  // of ten
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  env_b_.room = 0;  // other messages took the rest
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  now_ = b_.next_timer_ns();
  b_.OnTimer(now_);
  b_.Pump(now_);
  Segment ack = Pop(env_b_);
  // Expect: room for the seven segments still to come.
  EXPECT_EQ(ack.header.window, 7u);
  DeliverSegment(env_a_, a_, ack, now_);
  Exchange();
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(1000, 9));
  EXPECT_EQ(b_.stats().refused_no_room, 0u);
  // Expect: with the message in, no room is no room again.
  EXPECT_EQ(a_.peer_window(), 0u);
}

TEST_F(FlowPairTest, AReaderThatStoppedKeepsTheFlowAliveByAnswering) {
  Establish();
  env_b_.room = 0;
  env_b_.accept_messages = false;  // the app has stopped reading
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(30, 9)), 30));
  a_.Pump(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  // Expect: three times the silence that declares a peer dead, each
  // retransmission refused and answered: the flow stays established.
  const uint64_t until = now_ + 3 * config_.peer_timeout_ns;
  uint32_t retransmissions = 0;
  for (uint32_t i = 0; now_ < until; ++i, ++retransmissions) {
    b_.Pump(now_);
    while (!env_b_.outbox.empty()) {
      DeliverSegment(env_a_, a_, Pop(env_b_), now_);
    }
    now_ += a_.rto_ns();
    a_.OnTimer(now_);
    ASSERT_EQ(a_.state(), FlowState::kEstablished) << "after " << i;
    while (!env_a_.outbox.empty()) {
      DeliverSegment(env_b_, b_, Pop(env_a_), now_);
    }
  }
  EXPECT_GE(b_.stats().refused_no_room, retransmissions);
  // B answers the last retransmission too.
  b_.Pump(now_);
  while (!env_b_.outbox.empty()) DeliverSegment(env_a_, a_, Pop(env_b_), now_);
  // Expect: when the reader comes back, the message arrives.
  env_b_.room = 64;
  env_b_.accept_messages = true;
  now_ += a_.rto_ns();
  a_.OnTimer(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(30, 9));
}

TEST_F(FlowPairTest, AHeldSegmentRepeatedInOrderIsDeliveredOnce) {
  Establish();
  // X: two segments; Y: one.
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(150, 1)), 150));
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(40, 2)), 40));
  a_.Pump(now_);
  const Segment x1 = Pop(env_a_);
  const Segment x2 = Pop(env_a_);
  const Segment y = Pop(env_a_);
  DeliverSegment(env_b_, b_, x1, now_);
  // Y arrives early and is held; then the app's buffers run out.
  env_b_.accept_messages = false;
  DeliverSegment(env_b_, b_, y, now_);
  DeliverSegment(env_b_, b_, x2, now_);
  // Expect: X is whole; Y, next in order, stays held (no room).
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(b_.held_segments(), 1u);
  // The sender repeats Y; now there is room.
  env_b_.accept_messages = true;
  DeliverSegment(env_b_, b_, y, now_);
  // Expect: Y delivered exactly once, nothing left held or leaked.
  ASSERT_EQ(env_b_.received.size(), 2u);
  EXPECT_EQ(env_b_.received[1], Bytes(40, 2));
  EXPECT_EQ(b_.held_segments(), 0u);
  EXPECT_EQ(env_b_.packets_held(), 0u);
  // Expect: a full window of later segments does not resurrect the old one.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(10, 3)), 10) ||
                a_.queue_full());
    Exchange();
  }
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
}

TEST_F(FlowPairTest, ZeroWindowWithNothingInFlightIsProbed) {
  env_b_.room = 0;
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(30, 8)), 30));
  a_.Pump(now_);
  // Expect: nothing sent into a zero window; a probe after an RTO.
  EXPECT_TRUE(env_a_.outbox.empty());
  now_ += a_.rto_ns();
  a_.OnTimer(now_);
  Segment probe = Pop(env_a_);
  EXPECT_EQ(probe.header.type, FerryPacketType::kKeepalive);
  EXPECT_EQ(a_.stats().window_probes, 1u);
  // Expect: B answers with its (now open) window; A sends.
  env_b_.room = 64;
  DeliverSegment(env_b_, b_, probe, now_);
  b_.Pump(now_);
  DeliverSegment(env_a_, a_, Pop(env_b_), now_);
  EXPECT_GT(a_.peer_window(), 0u);
  Exchange();
  ASSERT_EQ(env_b_.received.size(), 1u);
}

TEST_F(FlowPairTest, CloseExchangesFinsAfterTheData) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(150, 1)), 150));
  a_.Close(now_);
  // Expect: no more messages accepted once closing.
  EXPECT_FALSE(a_.Enqueue(env_a_.AddMessage(Bytes(1, 1)), 1));
  a_.Pump(now_);
  // Expect: the data, then the FIN with the next sequence number.
  ASSERT_EQ(env_a_.outbox.size(), 3u);
  EXPECT_EQ(env_a_.outbox[2].header.type, FerryPacketType::kFin);
  EXPECT_EQ(env_a_.outbox[2].header.seq, kIsnA + 3);
  Exchange();
  // Expect: both ended as closed, the message delivered first.
  EXPECT_EQ(a_.state(), FlowState::kClosed);
  EXPECT_EQ(b_.state(), FlowState::kClosed);
  EXPECT_EQ(a_.end_reason(), FlowEndReason::kClosed);
  EXPECT_EQ(b_.end_reason(), FlowEndReason::kClosed);
  ASSERT_EQ(env_b_.received.size(), 1u);
  EXPECT_EQ(env_b_.received[0], Bytes(150, 1));
}

TEST_F(FlowPairTest, ResetEndsThePeerAndReturnsItsMessages) {
  Establish();
  ASSERT_TRUE(b_.Enqueue(env_b_.AddMessage(Bytes(10, 1)), 10));
  a_.Abort(now_);
  // Expect: a RST to B's flow; A ended as aborted.
  Segment rst = Pop(env_a_);
  EXPECT_EQ(rst.header.type, FerryPacketType::kRst);
  EXPECT_EQ(rst.header.dst_flow, 2u);
  EXPECT_EQ(a_.end_reason(), FlowEndReason::kAborted);
  DeliverSegment(env_b_, b_, rst, now_);
  // Expect: B ended as reset; its queued message handed back undelivered.
  EXPECT_EQ(b_.state(), FlowState::kClosed);
  EXPECT_EQ(b_.end_reason(), FlowEndReason::kReset);
  ASSERT_EQ(env_b_.done.size(), 1u);
  EXPECT_FALSE(env_b_.done[0].second);
}

TEST_F(FlowPairTest, BlindResetsAreDroppedNearMissesChallenged) {
  Establish();
  Segment rst;
  rst.header.type = FerryPacketType::kRst;
  rst.header.dst_flow = 2;
  // Far off both B's receive window and its sends: dropped, nothing sent.
  rst.header.seq = kIsnA + 1 + 100000;
  rst.header.ack = kIsnB + 1 + 100000;
  DeliverSegment(env_b_, b_, rst, now_);
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
  EXPECT_TRUE(env_b_.outbox.empty());
  // Inside the window but not exact: a challenge ACK, the flow lives.
  rst.header.seq = kIsnA + 1 + 5;
  DeliverSegment(env_b_, b_, rst, now_);
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
  Segment challenge = Pop(env_b_);
  EXPECT_EQ(challenge.header.type, FerryPacketType::kAck);
  // A second near miss within the rate limit is only counted.
  DeliverSegment(env_b_, b_, rst, now_ + 1);
  EXPECT_TRUE(env_b_.outbox.empty());
  EXPECT_EQ(b_.stats().rst_refused, 3u);
  // The RST a peer that forgot the flow sends for the challenge (its ack is
  // the challenge's seq + 1) ends it.
  rst.header.seq = 0;
  rst.header.ack = challenge.header.seq + 1;
  DeliverSegment(env_b_, b_, rst, now_);
  EXPECT_EQ(b_.state(), FlowState::kClosed);
  EXPECT_EQ(b_.end_reason(), FlowEndReason::kReset);
}

TEST_F(FlowPairTest, AResetAfterDataInFlightEndsTheFlowThroughAChallenge) {
  Establish();
  // A sends a message B never sees, then aborts: its RST's seq is past
  // what B expects.
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(300, 1)), 300));
  a_.Pump(now_);
  env_a_.outbox.clear();
  a_.Abort(now_);
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  EXPECT_EQ(b_.state(), FlowState::kEstablished);
  Segment challenge = Pop(env_b_);
  ASSERT_EQ(challenge.header.type, FerryPacketType::kAck);
  // A's side no longer knows the flow: its endpoint answers the ACK with
  // a RST acknowledging it.
  Segment answer;
  answer.header.type = FerryPacketType::kRst;
  answer.header.dst_flow = challenge.header.src_flow;
  answer.header.ack = challenge.header.seq + 1;
  DeliverSegment(env_b_, b_, answer, now_);
  EXPECT_EQ(b_.state(), FlowState::kClosed);
  EXPECT_EQ(b_.end_reason(), FlowEndReason::kReset);
}

TEST_F(FlowPairTest, AContinuationWithoutAStartIsAProtocolError) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(150, 1)), 150));
  a_.Pump(now_);
  Pop(env_a_);
  Segment second = Pop(env_a_);
  second.header.seq -= 1;  // now in order, but not a FIRST segment
  DeliverSegment(env_b_, b_, second, now_);
  // Expect: B resets the flow.
  EXPECT_EQ(b_.end_reason(), FlowEndReason::kProtocolError);
  EXPECT_EQ(Pop(env_b_).header.type, FerryPacketType::kRst);
  EXPECT_EQ(env_b_.receives_open(), 0u);
}

TEST_F(FlowPairTest, IdleFlowsKeepAliveAndDetectADeadPeer) {
  Establish();
  // Expect: a keepalive after the idle time; B's answer keeps A alive.
  now_ += config_.keepalive_idle_ns;
  a_.OnTimer(now_);
  Segment ka = Pop(env_a_);
  EXPECT_EQ(ka.header.type, FerryPacketType::kKeepalive);
  DeliverSegment(env_b_, b_, ka, now_);
  b_.Pump(now_);
  DeliverSegment(env_a_, a_, Pop(env_b_), now_);
  EXPECT_EQ(a_.state(), FlowState::kEstablished);
  // Expect: with B silent, probes at each interval until it has been
  // silent for peer_timeout_ns since the first, then a reset.
  now_ += config_.keepalive_idle_ns;
  const uint64_t first_probe = now_;
  uint64_t probes = 0;
  while (now_ < first_probe + config_.peer_timeout_ns) {
    a_.OnTimer(now_);
    ASSERT_EQ(a_.state(), FlowState::kEstablished);
    EXPECT_EQ(Pop(env_a_).header.type, FerryPacketType::kKeepalive);
    ++probes;
    now_ += config_.keepalive_interval_ns;
  }
  EXPECT_EQ(probes, config_.peer_timeout_ns / config_.keepalive_interval_ns);
  a_.OnTimer(now_);
  EXPECT_EQ(a_.end_reason(), FlowEndReason::kPeerDead);
}

TEST_F(FlowPairTest, DelayedAckGoesOutAfterTheDelay) {
  Establish();
  ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(Bytes(150, 1)), 150));
  a_.Pump(now_);
  // Only the first (not last) segment arrives: no immediate ACK.
  DeliverSegment(env_b_, b_, Pop(env_a_), now_);
  b_.Pump(now_);
  EXPECT_TRUE(env_b_.outbox.empty());
  EXPECT_EQ(b_.next_timer_ns(), now_ + config_.ack_delay_ns);
  now_ += config_.ack_delay_ns;
  b_.OnTimer(now_);
  // Expect: the delayed ACK.
  Segment ack = Pop(env_b_);
  EXPECT_EQ(ack.header.type, FerryPacketType::kAck);
  EXPECT_EQ(ack.header.ack, kIsnA + 2);
}

}  // namespace
}  // namespace ferry::transport

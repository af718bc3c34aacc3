// Handshake state machine, driven with hand-built headers and simulated
// time; every transmitted segment is captured and checked.
#include "dataplane/transport/handshake.h"

#include <deque>

#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

using net::FerryHeader;
using net::FerryPacketType;

const HandshakeTimings kTimings{};
constexpr uint64_t kMs = 1'000'000;

class CapturingSink : public SegmentSink {
 public:
  void Send(const FerryHeader& header) override { sent.push_back(header); }
  FerryHeader Pop() {
    EXPECT_FALSE(sent.empty());
    FerryHeader h = sent.front();
    sent.pop_front();
    return h;
  }
  std::deque<FerryHeader> sent;
};

FerryHeader Segment(FerryPacketType type, uint32_t src, uint32_t dst,
                    uint32_t seq, uint32_t ack) {
  FerryHeader h;
  h.type = type;
  h.src_flow = src;
  h.dst_flow = dst;
  h.seq = seq;
  h.ack = ack;
  return h;
}

TEST(HandshakeTest, ThreeWayHandshake) {
  CapturingSink a_wire, b_wire;
  Handshake a =
      Handshake::Connect(/*local_flow=*/7, /*isn=*/1000, 0, kTimings, a_wire);
  // Expect: SYN from flow 7 with its initial sequence number.
  FerryHeader syn = a_wire.Pop();
  EXPECT_EQ(syn.type, FerryPacketType::kSyn);
  EXPECT_EQ(syn.src_flow, 7u);
  EXPECT_EQ(syn.dst_flow, 0u);
  EXPECT_EQ(syn.seq, 1000u);
  EXPECT_EQ(a.state(), HandshakeState::kSynSent);

  Handshake b = Handshake::Accept(/*local_flow=*/42, /*isn=*/5000, syn, 0,
                                  kTimings, b_wire);
  // Expect: SYN-ACK naming both flows, acknowledging the SYN.
  FerryHeader synack = b_wire.Pop();
  EXPECT_EQ(synack.type, FerryPacketType::kSynAck);
  EXPECT_EQ(synack.src_flow, 42u);
  EXPECT_EQ(synack.dst_flow, 7u);
  EXPECT_EQ(synack.seq, 5000u);
  EXPECT_EQ(synack.ack, 1001u);

  EXPECT_TRUE(a.OnSegment(synack, 10, a_wire));
  // Expect: the initiator is established and acknowledges.
  EXPECT_TRUE(a.established());
  EXPECT_EQ(a.remote_flow(), 42u);
  EXPECT_EQ(a.timer_ns(), UINT64_MAX);
  FerryHeader ack = a_wire.Pop();
  EXPECT_EQ(ack.type, FerryPacketType::kAck);
  EXPECT_EQ(ack.dst_flow, 42u);
  EXPECT_EQ(ack.ack, 5001u);

  EXPECT_TRUE(b.OnSegment(ack, 20, b_wire));
  EXPECT_TRUE(b.established());
  EXPECT_EQ(b.send_next(), 5001u);
  EXPECT_EQ(b.receive_next(), 1001u);
  EXPECT_TRUE(b_wire.sent.empty());
}

TEST(HandshakeTest, SynRetransmitsWithBackoffThenTimesOut) {
  CapturingSink wire;
  HandshakeTimings timings;
  timings.initial_rto_ns = 1 * kMs;
  timings.max_retries = 3;
  Handshake a = Handshake::Connect(7, 1000, 0, timings, wire);
  wire.Pop();
  // Expect: nothing before the timeout.
  a.OnTimer(1 * kMs - 1, wire);
  EXPECT_TRUE(wire.sent.empty());
  // Expect: SYN again at 1 ms, 3 ms and 7 ms (1, 2, 4 ms apart).
  for (uint64_t t : {1 * kMs, 3 * kMs, 7 * kMs}) {
    a.OnTimer(t, wire);
    ASSERT_EQ(wire.sent.size(), 1u) << t;
    EXPECT_EQ(wire.Pop().type, FerryPacketType::kSyn);
  }
  EXPECT_EQ(a.timer_ns(), 15 * kMs);
  // Expect: after the last retry, the flow fails with a reason.
  a.OnTimer(15 * kMs, wire);
  EXPECT_TRUE(wire.sent.empty());
  EXPECT_EQ(a.state(), HandshakeState::kFailed);
  EXPECT_EQ(a.error(), HandshakeError::kTimedOut);
  EXPECT_STREQ(HandshakeErrorName(a.error()), "timed_out");
}

TEST(HandshakeTest, LostSynAckIsRecoveredByTheRepeatedSyn) {
  CapturingSink a_wire, b_wire;
  Handshake a = Handshake::Connect(7, 1000, 0, kTimings, a_wire);
  FerryHeader syn = a_wire.Pop();
  Handshake b = Handshake::Accept(42, 5000, syn, 0, kTimings, b_wire);
  b_wire.Pop();  // the SYN-ACK is lost
  a.OnTimer(1 * kMs, a_wire);
  FerryHeader again = a_wire.Pop();
  ASSERT_EQ(again.type, FerryPacketType::kSyn);
  // Expect: the responder answers the repeated SYN with its SYN-ACK again.
  b.OnSegment(again, 1 * kMs, b_wire);
  FerryHeader synack = b_wire.Pop();
  EXPECT_EQ(synack.type, FerryPacketType::kSynAck);
  EXPECT_EQ(synack.seq, 5000u);
  a.OnSegment(synack, 1 * kMs + 10, a_wire);
  b.OnSegment(a_wire.Pop(), 1 * kMs + 20, b_wire);
  EXPECT_TRUE(a.established());
  EXPECT_TRUE(b.established());
}

TEST(HandshakeTest, LostAckIsRecoveredByTheRepeatedSynAck) {
  CapturingSink a_wire, b_wire;
  Handshake a = Handshake::Connect(7, 1000, 0, kTimings, a_wire);
  Handshake b = Handshake::Accept(42, 5000, a_wire.Pop(), 0, kTimings, b_wire);
  a.OnSegment(b_wire.Pop(), 10, a_wire);
  a_wire.Pop();  // the ACK is lost
  // Expect: the responder's timer repeats the SYN-ACK...
  b.OnTimer(1 * kMs, b_wire);
  FerryHeader synack = b_wire.Pop();
  EXPECT_EQ(synack.type, FerryPacketType::kSynAck);
  // ...and the established initiator acknowledges it again.
  EXPECT_TRUE(a.OnSegment(synack, 1 * kMs + 10, a_wire));
  b.OnSegment(a_wire.Pop(), 1 * kMs + 20, b_wire);
  EXPECT_TRUE(b.established());
}

TEST(HandshakeTest, DataCompletesTheHandshakeAndIsNotConsumed) {
  CapturingSink a_wire, b_wire;
  Handshake a = Handshake::Connect(7, 1000, 0, kTimings, a_wire);
  Handshake b = Handshake::Accept(42, 5000, a_wire.Pop(), 0, kTimings, b_wire);
  b_wire.Pop();
  // The ACK was lost but the initiator's first DATA segment arrives.
  FerryHeader data = Segment(FerryPacketType::kData, 7, 42, 1001, 5001);
  // Expect: established, and the segment left for the transport.
  EXPECT_FALSE(b.OnSegment(data, 10, b_wire));
  EXPECT_TRUE(b.established());
}

TEST(HandshakeTest, SimultaneousSynsMakeOneFlow) {
  CapturingSink low_wire, high_wire;
  Handshake low = Handshake::Connect(3, 100, 0, kTimings, low_wire);
  Handshake high = Handshake::Connect(9, 900, 0, kTimings, high_wire);
  FerryHeader syn_low = low_wire.Pop();
  FerryHeader syn_high = high_wire.Pop();
  // Expect: the lower id ignores the other SYN and stays initiator.
  low.OnSegment(syn_high, 5, low_wire);
  EXPECT_EQ(low.state(), HandshakeState::kSynSent);
  EXPECT_TRUE(low_wire.sent.empty());
  // Expect: the higher id becomes responder and answers with SYN-ACK.
  high.OnSegment(syn_low, 5, high_wire);
  EXPECT_EQ(high.state(), HandshakeState::kSynReceived);
  FerryHeader synack = high_wire.Pop();
  EXPECT_EQ(synack.type, FerryPacketType::kSynAck);
  EXPECT_EQ(synack.dst_flow, 3u);
  low.OnSegment(synack, 10, low_wire);
  high.OnSegment(low_wire.Pop(), 20, high_wire);
  EXPECT_TRUE(low.established());
  EXPECT_TRUE(high.established());
  EXPECT_EQ(low.remote_flow(), 9u);
  EXPECT_EQ(high.remote_flow(), 3u);
}

TEST(HandshakeTest, ResetRefusesOrResets) {
  CapturingSink wire;
  Handshake a = Handshake::Connect(7, 1000, 0, kTimings, wire);
  // Expect: a RST for another flow changes nothing.
  a.OnSegment(Segment(FerryPacketType::kRst, 0, 8, 0, 0), 5, wire);
  EXPECT_EQ(a.state(), HandshakeState::kSynSent);
  // Expect: a RST that does not acknowledge our SYN changes nothing.
  a.OnSegment(Segment(FerryPacketType::kRst, 0, 7, 0, 0), 6, wire);
  a.OnSegment(Segment(FerryPacketType::kRst, 0, 7, 0, 1002), 6, wire);
  EXPECT_EQ(a.state(), HandshakeState::kSynSent);
  // Expect: a RST for this flow answering the SYN means refused.
  a.OnSegment(Segment(FerryPacketType::kRst, 0, 7, 0, 1001), 6, wire);
  EXPECT_EQ(a.error(), HandshakeError::kRefused);

  CapturingSink a_wire, b_wire;
  Handshake c = Handshake::Connect(11, 1, 0, kTimings, a_wire);
  Handshake d = Handshake::Accept(12, 2, a_wire.Pop(), 0, kTimings, b_wire);
  c.OnSegment(b_wire.Pop(), 1, a_wire);
  ASSERT_TRUE(c.established());
  c.OnSegment(Segment(FerryPacketType::kRst, 12, 11, 0, 0), 2, a_wire);
  // Expect: after establishment, a RST is a reset.
  EXPECT_EQ(c.error(), HandshakeError::kReset);
  (void)d;
}

TEST(HandshakeTest, StaleAndForeignSegmentsAreIgnored) {
  CapturingSink wire;
  Handshake a = Handshake::Connect(7, 1000, 0, kTimings, wire);
  wire.Pop();
  // A SYN-ACK acknowledging the wrong sequence, and one for another flow.
  a.OnSegment(Segment(FerryPacketType::kSynAck, 42, 7, 5000, 999), 1, wire);
  a.OnSegment(Segment(FerryPacketType::kSynAck, 42, 8, 5000, 1001), 1, wire);
  // Expect: still waiting, nothing sent.
  EXPECT_EQ(a.state(), HandshakeState::kSynSent);
  EXPECT_TRUE(wire.sent.empty());
}

}  // namespace
}  // namespace ferry::transport

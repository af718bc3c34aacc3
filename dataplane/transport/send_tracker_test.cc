#include "dataplane/transport/send_tracker.h"

#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

TEST(SendTrackerTest, CumulativeAckFreesTheWindow) {
  SendTracker t(100, 8);
  for (int i = 0; i < 5; ++i) t.OnSend(i);
  EXPECT_EQ(t.in_flight(), 5u);
  SendTracker::AckResult r = t.OnAck(103, 0);
  EXPECT_EQ(r.newly_acked, 3u);
  EXPECT_EQ(t.in_flight(), 2u);
  EXPECT_EQ(t.oldest_unacked(), 103u);
  EXPECT_EQ(t.oldest_send_time_ns(), 3u);
}

TEST(SendTrackerTest, AnAckMeasuresAnAnswerOnlyIfItWaitedForNothingResent) {
  SendTracker t(100, 8);
  for (uint64_t i = 1; i <= 3; ++i) t.OnSend(i * 10);
  // Segments 100-102 sent at 10, 20, 30: an ACK of 100 or of all three
  // measures from the newest one's send.
  EXPECT_EQ(t.AnswerSentNs(101), 10u);
  EXPECT_EQ(t.AnswerSentNs(103), 30u);
  // Expect: nothing for what is not in flight.
  EXPECT_EQ(t.AnswerSentNs(104), 0u);
  EXPECT_EQ(t.AnswerSentNs(100), 0u);
  // Expect: nothing for a resent segment (which transmission an answer is
  // for is unknown).
  t.OnRetransmit(101, 40);
  EXPECT_EQ(t.AnswerSentNs(102), 0u);
  t.OnAck(101, 0);
  EXPECT_EQ(t.AnswerSentNs(102), 0u);
}

// 100 is lost; 101-103 arrive and are SACKed; 100 is resent on a timeout,
// and the ACK of all four comes only then. Neither that ACK nor any other
// that waited on the resent 100 measures an answer (each would count the
// timeout's wait as the peer's answer time); a later clean ACK does.
TEST(SendTrackerTest, AnAckThatWaitedForAHoleMeasuresNothing) {
  SendTracker t(100, 8);
  for (uint64_t i = 1; i <= 4; ++i) t.OnSend(i * 10);
  t.OnAck(100, 0b111);  // 101-103 held, 100 missing
  t.OnRetransmit(100, 1'000'000);
  // Expect: the ACK up to 104 would cover 103, SACKed already.
  EXPECT_EQ(t.AnswerSentNs(104), 0u);
  // Expect: the ACK up to 101 covers only the resent 100.
  EXPECT_EQ(t.AnswerSentNs(101), 0u);
  t.OnSend(1'000'010);  // 104
  // Expect: an ACK up to 105 still waited on the resent 100 (the oldest).
  EXPECT_EQ(t.AnswerSentNs(105), 0u);
  t.OnAck(104, 0);
  // Expect: 104 alone, sent once and not SACKed: a sample.
  EXPECT_EQ(t.AnswerSentNs(105), 1'000'010u);
}

TEST(SendTrackerTest, StaleAndForgedAcksAreIgnored) {
  SendTracker t(100, 8);
  for (int i = 0; i < 4; ++i) t.OnSend(i);
  t.OnAck(102, 0);
  // Expect: an older ACK (reordered) and one beyond what was sent change
  // nothing.
  EXPECT_TRUE(t.OnAck(101, 0).stale);
  EXPECT_TRUE(t.OnAck(200, 0).stale);
  EXPECT_EQ(t.oldest_unacked(), 102u);
}

TEST(SendTrackerTest, ThreeSackedAfterAHoleMarkItLost) {
  SendTracker t(0, 16);
  for (int i = 0; i < 6; ++i) t.OnSend(i);
  uint32_t lost[8];
  // Receiver holds 1 and 2 (bits 0 and 1 relative to ack 0): not enough.
  t.OnAck(0, 0b11);
  EXPECT_EQ(t.TakeLost(lost, 8), 0u);
  // Expect: a third SACKed segment (3) makes 0 lost.
  t.OnAck(0, 0b111);
  ASSERT_EQ(t.TakeLost(lost, 8), 1u);
  EXPECT_EQ(lost[0], 0u);
  // Expect: once retransmitted, it is not marked again.
  t.OnRetransmit(0, 10);
  t.OnAck(0, 0b1111);
  EXPECT_EQ(t.TakeLost(lost, 8), 0u);
  // Expect: holes 4 (before 5 SACKed)... only with three after it.
  t.OnAck(4, 0b1);  // 0..3 acked; 5 held
  EXPECT_EQ(t.TakeLost(lost, 8), 0u);
}

// Slots are counted from the first segment sent after the tracker last
// ran empty (a flow with one segment in flight at a time keeps to one
// slot): the records of what is in flight must not depend on where that
// count started.
TEST(SendTrackerTest, RecordsHoldWhereverTheSlotsStartedAgain) {
  SendTracker t(0xfffffffau, 8);  // wraps the sequence space too
  uint64_t now = 0;
  for (int round = 0; round < 11; ++round) {
    // One at a time: in flight, acknowledged, empty again.
    const uint32_t seq = t.OnSend(++now);
    EXPECT_EQ(t.oldest_send_time_ns(), now);
    EXPECT_EQ(t.OnAck(seq + 1, 0).newly_acked, 1u);
    EXPECT_EQ(t.in_flight(), 0u);
  }
  // Then a full window from wherever the slots start now: hole at the
  // first, the next three held.
  const uint32_t first = t.next_seq();
  for (int i = 0; i < 8; ++i) t.OnSend(100 + i);
  EXPECT_EQ(t.oldest_send_time_ns(), 100u);
  EXPECT_EQ(t.OnAck(first, 0b111).newly_sacked, 3u);
  uint32_t lost[8];
  ASSERT_EQ(t.TakeLost(lost, 8), 1u);
  EXPECT_EQ(lost[0], first);
  t.OnRetransmit(first, 200);
  EXPECT_EQ(t.oldest_send_time_ns(), 200u);
  // The rest acknowledged: the next send starts the slots again.
  EXPECT_EQ(t.OnAck(first + 8, 0).newly_acked, 8u);
  t.OnSend(300);
  EXPECT_EQ(t.oldest_send_time_ns(), 300u);
}

TEST(SendTrackerTest, SeveralHolesComeOutOldestFirst) {
  SendTracker t(1000, 32);
  for (int i = 0; i < 12; ++i) t.OnSend(i);
  // Held: 1001, 1003, 1005..1010; holes 1000, 1002, 1004.
  const uint64_t sack = (1ull << 0) | (1ull << 2) | (0x3full << 4);
  t.OnAck(1000, sack);
  uint32_t lost[8];
  ASSERT_EQ(t.TakeLost(lost, 8), 3u);
  EXPECT_EQ(lost[0], 1000u);
  EXPECT_EQ(lost[1], 1002u);
  EXPECT_EQ(lost[2], 1004u);
}

}  // namespace
}  // namespace ferry::transport

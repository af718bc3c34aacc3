// The reliability machinery end to end, without flows or DPDK: a sender
// (SendTracker, RttEstimator) and a receiver (ReceiveTracker) exchange
// segments and ACKs over a simulated wire that loses, duplicates, delays
// and reorders packets, on a simulated clock. Every segment must be
// delivered exactly once and in order, and the sender must end with
// nothing in flight.
#include <cstdint>
#include <queue>
#include <random>
#include <vector>

#include "dataplane/transport/congestion_control.h"
#include "dataplane/transport/receive_tracker.h"
#include "dataplane/transport/rtt_estimator.h"
#include "dataplane/transport/send_tracker.h"
#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

constexpr uint64_t kUs = 1000;

struct Packet {
  uint64_t arrive_ns;
  bool ack;               // false: a data segment
  uint32_t seq;           // data
  uint32_t cum_ack;       // ack
  uint64_t sack;          // ack
  uint64_t timestamp_ns;  // data: when sent; ack: echoed
  uint64_t order = 0;     // ties keep sending order (a wire is FIFO)
  bool operator>(const Packet& o) const {
    return arrive_ns != o.arrive_ns ? arrive_ns > o.arrive_ns : order > o.order;
  }
};

struct WireFaults {
  double loss;
  double duplicate;
  double reorder;     // probability that a packet is held back...
  uint64_t delay_ns;  // ...by this much, so later ones overtake it
};

class Wire {
 public:
  Wire(const WireFaults& faults, uint32_t seed) : faults_(faults), rng_(seed) {}
  void Send(Packet p, uint64_t now_ns) {
    std::uniform_real_distribution<double> coin(0, 1);
    if (coin(rng_) < faults_.loss) return;
    const int copies = coin(rng_) < faults_.duplicate ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      p.arrive_ns = now_ns + 10 * kUs +
                    (coin(rng_) < faults_.reorder ? faults_.delay_ns : 0);
      p.order = sent_++;
      queue_.push(p);
    }
  }
  bool Ready(uint64_t now_ns) const {
    return !queue_.empty() && queue_.top().arrive_ns <= now_ns;
  }
  Packet Take() {
    Packet p = queue_.top();
    queue_.pop();
    return p;
  }
  uint64_t next_arrival_ns() const {
    return queue_.empty() ? UINT64_MAX : queue_.top().arrive_ns;
  }

 private:
  WireFaults faults_;
  std::mt19937 rng_;
  uint64_t sent_ = 0;
  std::priority_queue<Packet, std::vector<Packet>, std::greater<Packet>> queue_;
};

struct Outcome {
  uint64_t delivered = 0;
  uint64_t retransmissions = 0;
  uint64_t timeouts = 0;
  bool finished = false;
  // The congestion window: it must shrink after losses and grow back.
  double max_window_before_loss = 0;
  double min_window_after_loss = 1e9;
  double max_window_after_min = 0;
  uint32_t losses = 0;
};

Outcome Simulate(const WireFaults& faults, uint32_t segments, uint32_t seed) {
  constexpr uint32_t kFirst = 0xfffffc00;  // crosses the 32-bit wrap
  Outcome out;
  SendTracker sender(kFirst, 256);
  RttEstimator rtt;
  CongestionConfig cc_config;
  cc_config.max_window = 256;
  CongestionControl cc(cc_config);
  auto note_window = [&] {
    if (out.losses == 0) {
      out.max_window_before_loss =
          std::max(out.max_window_before_loss, cc.window());
    } else if (cc.window() < out.min_window_after_loss) {
      out.min_window_after_loss = cc.window();
      out.max_window_after_min = cc.window();
    } else {
      out.max_window_after_min =
          std::max(out.max_window_after_min, cc.window());
    }
  };
  ReceiveTracker receiver(kFirst, 1024);
  Wire forward(faults, seed), backward(faults, seed + 1);
  uint64_t now = 0;
  uint32_t lost[64];
  for (int step = 0; step < 5'000'000; ++step) {
    // Send new segments while the window allows.
    while (sender.next_seq() - kFirst < segments &&
           sender.CanSend(cc.segments_allowed())) {
      const uint32_t seq = sender.OnSend(now);
      forward.Send({0, false, seq, 0, 0, now}, now);
    }
    // Deliver what has arrived.
    while (forward.Ready(now)) {
      const Packet p = forward.Take();
      uint32_t delivered;
      receiver.OnSegment(p.seq, &delivered);
      out.delivered += delivered;
      backward.Send({0, true, 0, receiver.cumulative_ack(),
                     receiver.SackBitmap(), p.timestamp_ns},
                    now);
    }
    while (backward.Ready(now)) {
      const Packet a = backward.Take();
      SendTracker::AckResult r = sender.OnAck(a.cum_ack, a.sack);
      if (!r.stale && a.timestamp_ns <= now) {
        rtt.AddSample(now - a.timestamp_ns);
        cc.OnAck(r.newly_acked + r.newly_sacked, now - a.timestamp_ns, now);
        note_window();
      }
      const uint32_t n = sender.TakeLost(lost, 64);
      if (n > 0) {
        ++out.losses;
        cc.OnLoss(now, rtt.srtt_ns());
        note_window();
      }
      for (uint32_t i = 0; i < n; ++i) {
        sender.OnRetransmit(lost[i], now);
        forward.Send({0, false, lost[i], 0, 0, now}, now);
        ++out.retransmissions;
      }
    }
    if (sender.in_flight() == 0 && sender.next_seq() - kFirst == segments) {
      out.finished = true;
      break;
    }
    // Retransmission timeout: resend the oldest unacknowledged segment.
    uint64_t rto_at = UINT64_MAX;
    if (sender.in_flight() > 0) {
      rto_at = sender.oldest_send_time_ns() + rtt.rto_ns();
      if (now >= rto_at) {
        const uint32_t seq = sender.oldest_unacked();
        sender.OnRetransmit(seq, now);
        forward.Send({0, false, seq, 0, 0, now}, now);
        rtt.OnTimeout();
        cc.OnTimeout(1);
        ++out.losses;
        note_window();
        ++out.retransmissions;
        ++out.timeouts;
        continue;
      }
    }
    // Jump to the next event.
    const uint64_t next = std::min(
        {forward.next_arrival_ns(), backward.next_arrival_ns(), rto_at});
    if (next == UINT64_MAX) continue;  // nothing in flight: send more
    now = std::max(now, next);
  }
  if (!out.finished) {
    std::printf("unfinished: now %lu in_flight %u una %u next %u rto %lu\n",
                static_cast<unsigned long>(now), sender.in_flight(),
                sender.oldest_unacked() - kFirst, sender.next_seq() - kFirst,
                static_cast<unsigned long>(rtt.rto_ns()));
  }
  return out;
}

class ReliableDeliveryTest : public ::testing::TestWithParam<double> {};

TEST_P(ReliableDeliveryTest, EverySegmentExactlyOnceInOrder) {
  const double loss = GetParam();
  // Besides the loss: 2% duplicated, 2% held back 30 us (reordered).
  const WireFaults faults{loss, 0.02, 0.02, 30 * kUs};
  const Outcome out = Simulate(faults, 10000, 1234);
  // Expect: all delivered once each (the receiver counts in-order
  // deliveries; a duplicate or a gap would change the count or the ACK).
  EXPECT_TRUE(out.finished);
  EXPECT_EQ(out.delivered, 10000u);
  std::printf(
      "loss %.0f%%: %lu retransmissions (%lu after timeouts); window %.1f "
      "before the first loss, down to %.2f, back up to %.1f\n",
      loss * 100, static_cast<unsigned long>(out.retransmissions),
      static_cast<unsigned long>(out.timeouts), out.max_window_before_loss,
      out.min_window_after_loss, out.max_window_after_min);
  if (loss >= 0.05) {
    // Expect: losses shrink the congestion window, and it grows back.
    EXPECT_LT(out.min_window_after_loss, out.max_window_before_loss);
    EXPECT_GT(out.max_window_after_min, out.min_window_after_loss + 1);
  }
  // Expect: without loss, only reordering causes (spurious) retransmits,
  // and no timeout fires.
  if (loss == 0) {
    EXPECT_LT(out.retransmissions, 10000u / 20);
    EXPECT_EQ(out.timeouts, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Loss, ReliableDeliveryTest,
                         ::testing::Values(0.0, 0.01, 0.05, 0.20));

}  // namespace
}  // namespace ferry::transport

// Two flows over a simulated wire that loses, duplicates, reorders and
// delays segments, on a simulated clock: 10,000 messages from 1 B to 8 MiB
// (seeded) must arrive exactly once, in order and byte-exact, with every
// message, packet and receive buffer handed back at the end. Also: under
// loss the congestion window shrinks, and recovers once the loss stops.
#include <algorithm>
#include <cstdint>
#include <queue>
#include <random>
#include <vector>

#include "dataplane/transport/flow.h"
#include "dataplane/transport/testing/flow_harness.h"
#include "gtest/gtest.h"

namespace ferry::transport {
namespace {

using testing::HarnessEnv;
using testing::Segment;

constexpr uint64_t kUs = 1000;
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint32_t kMessages = 10'000;

struct Faults {
  double loss = 0;
  double duplicate = 0.01;
  double reorder = 0.02;  // held back by reorder_delay_ns: later ones pass
  uint64_t reorder_delay_ns = 30 * kUs;
  uint64_t latency_ns = 5 * kUs;
};

// One direction of the wire.
class Wire {
 public:
  Wire(const Faults& faults, uint32_t seed) : faults_(faults), rng_(seed) {}
  void Send(Segment s, uint64_t now_ns) {
    ++sent_;
    if (Coin() < faults_.loss) {
      ++lost_;
      return;
    }
    const int copies = Coin() < faults_.duplicate ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const uint64_t at =
          now_ns + faults_.latency_ns +
          (Coin() < faults_.reorder ? faults_.reorder_delay_ns : 0);
      queue_.push(InFlight{at, order_++, s});
    }
  }
  bool Ready(uint64_t now_ns) const {
    return !queue_.empty() && queue_.top().at <= now_ns;
  }
  Segment Take() {
    Segment s = std::move(const_cast<InFlight&>(queue_.top()).segment);
    queue_.pop();
    return s;
  }
  uint64_t next_ns() const {
    return queue_.empty() ? UINT64_MAX : queue_.top().at;
  }
  void set_loss(double loss) { faults_.loss = loss; }
  uint64_t lost() const { return lost_; }
  uint64_t sent() const { return sent_; }

 private:
  struct InFlight {
    uint64_t at;
    uint64_t order;  // equal times keep sending order
    Segment segment;
    bool operator>(const InFlight& o) const {
      return at != o.at ? at > o.at : order > o.order;
    }
  };
  double Coin() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  Faults faults_;
  std::mt19937_64 rng_;
  uint64_t order_ = 0;
  uint64_t sent_ = 0;
  uint64_t lost_ = 0;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<InFlight>>
      queue_;
};

// Message i's size and bytes, regenerated on both sides from the seed.
// Sizes: log-uniform from 1 B to 64 KiB, and every 1000th message large
// (1-8 MiB; the last one exactly 8 MiB), so that a run carries every scale
// of segmentation without simulating gigabytes.
uint32_t MessageSize(uint32_t i, uint64_t seed) {
  std::mt19937_64 rng(seed * 1'000'003 + i);
  if (i == kMessages - 1) return kMaxMessageBytes;
  if (i % 1000 == 999) {
    return std::uniform_int_distribution<uint32_t>(1u << 20,
                                                   kMaxMessageBytes)(rng);
  }
  const double bits = std::uniform_real_distribution<double>(0, 16)(rng);
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::exp2(bits)));
}

std::vector<uint8_t> MessageBytes(uint32_t i, uint64_t seed) {
  std::vector<uint8_t> bytes(MessageSize(i, seed));
  uint64_t x = seed ^ (uint64_t{i} * 0x9e3779b97f4a7c15ull);
  for (size_t k = 0; k < bytes.size(); ++k) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    bytes[k] = static_cast<uint8_t>(x >> 56);
  }
  return bytes;
}

class Simulation {
 public:
  Simulation(const Faults& faults, uint64_t seed, FlowConfig config)
      : seed_(seed),
        config_(config),
        a_(11, static_cast<uint32_t>(seed * 2654435761u), profile_, env_a_),
        b_(22, static_cast<uint32_t>(seed * 40503u + 7), profile_, env_b_),
        a_to_b_(faults, static_cast<uint32_t>(seed)),
        b_to_a_(faults, static_cast<uint32_t>(seed + 1)) {
    env_b_.on_message = [this](std::vector<uint8_t>&& m) { Check(m); };
  }

  void Connect() {
    a_.StartConnect(now_);
    Ship();
    // The listener side: the first SYN that crosses the wire starts B.
    for (int steps = 0; steps < 100000 && !b_started_; ++steps) Step();
    for (int steps = 0; steps < 100000; ++steps) {
      if (a_.state() == FlowState::kEstablished &&
          b_.state() == FlowState::kEstablished) {
        return;
      }
      Step();
    }
  }

  // Runs until `count` messages are verified at B or `max_steps` pass.
  void Run(uint32_t count, uint64_t max_steps) {
    for (uint64_t steps = 0; steps < max_steps; ++steps) {
      while (next_send_ < count && a_.accepting_messages() &&
             !a_.queue_full()) {
        std::vector<uint8_t> bytes = MessageBytes(next_send_, seed_);
        const uint32_t size = static_cast<uint32_t>(bytes.size());
        ASSERT_TRUE(a_.Enqueue(env_a_.AddMessage(std::move(bytes)), size));
        ++next_send_;
      }
      if (next_expected_ >= count && a_.queued_messages() == 0) return;
      if (a_.state() == FlowState::kClosed) return;
      Step();
    }
  }

  // One event: deliver what has arrived, pump, run due timers; then move
  // the clock to the next event.
  void Step() {
    bool delivered = false;
    while (a_to_b_.Ready(now_)) {
      Segment s = a_to_b_.Take();
      if (!b_started_ && s.header.type == net::FerryPacketType::kSyn) {
        b_.StartAccept(s.header, now_);
        b_started_ = true;
      } else if (b_started_) {
        testing::DeliverSegment(env_b_, b_, s, now_);
      }
      delivered = true;
    }
    while (b_to_a_.Ready(now_)) {
      Segment s = b_to_a_.Take();
      if (a_.state() == FlowState::kClosed) {
        AnswerForGoneFlow(s);
      } else {
        testing::DeliverSegment(env_a_, a_, s, now_);
      }
      delivered = true;
    }
    a_.Pump(now_);
    if (b_started_) b_.Pump(now_);
    if (a_.next_timer_ns() <= now_) a_.OnTimer(now_);
    if (b_started_ && b_.next_timer_ns() <= now_) b_.OnTimer(now_);
    Ship();
    if (delivered || !env_a_.outbox.empty() || !env_b_.outbox.empty()) return;
    uint64_t next =
        std::min({a_to_b_.next_ns(), b_to_a_.next_ns(), a_.next_timer_ns(),
                  b_started_ ? b_.next_timer_ns() : UINT64_MAX});
    if (a_.wants_pump() || (b_started_ && b_.wants_pump())) next = now_ + kUs;
    now_ = std::max(now_ + 1, std::min(next, now_ + 10 * kMs));
  }

  void Check(const std::vector<uint8_t>& m) {
    if (m != MessageBytes(next_expected_, seed_)) {
      ++mismatches_;
      ADD_FAILURE() << "message " << next_expected_ << " differs (size "
                    << m.size() << ")";
    }
    ++next_expected_;
  }

  // What A's endpoint does once A's flow is gone (TransportEndpoint::
  // SendReset): a segment for it gets a RST, so that B, whose last FIN's
  // ACK was lost, ends its close instead of waiting for a dead peer.
  void AnswerForGoneFlow(const Segment& s) {
    if (s.header.type == net::FerryPacketType::kRst) return;
    Segment rst;
    rst.header.type = net::FerryPacketType::kRst;
    rst.header.dst_flow = s.header.src_flow;
    rst.header.ack = s.header.seq + 1;
    env_a_.outbox.push_back(std::move(rst));
  }

  void Ship() {
    while (!env_a_.outbox.empty()) {
      a_to_b_.Send(std::move(env_a_.outbox.front()), now_);
      env_a_.outbox.pop_front();
    }
    while (!env_b_.outbox.empty()) {
      b_to_a_.Send(std::move(env_b_.outbox.front()), now_);
      env_b_.outbox.pop_front();
    }
  }

  uint64_t seed_;
  FlowConfig config_;
  FlowProfile profile_{config_};
  HarnessEnv env_a_;
  HarnessEnv env_b_;
  Flow a_;
  Flow b_;
  Wire a_to_b_;
  Wire b_to_a_;
  bool b_started_ = false;
  uint64_t now_ = kMs;
  uint32_t next_send_ = 0;
  uint32_t next_expected_ = 0;
  uint32_t mismatches_ = 0;
};

class FakeWireTest : public ::testing::TestWithParam<double> {};

TEST_P(FakeWireTest, EveryMessageArrivesOnceInOrderByteExact) {
  Faults faults;
  faults.loss = GetParam();
  Simulation sim(faults, /*seed=*/42 + static_cast<uint64_t>(GetParam() * 100),
                 FlowConfig{});
  sim.Connect();
  ASSERT_EQ(sim.a_.state(), FlowState::kEstablished);
  sim.Run(kMessages, 200'000'000);
  EXPECT_EQ(sim.next_expected_, kMessages);
  EXPECT_EQ(sim.mismatches_, 0u);
  // Expect: nothing duplicated or left over: every sent message was
  // acknowledged and handed back, every held packet released.
  EXPECT_EQ(sim.a_.stats().messages_sent, kMessages);
  EXPECT_EQ(sim.b_.stats().messages_received, kMessages);
  EXPECT_EQ(sim.env_a_.outgoing_messages(), 0u);
  EXPECT_EQ(sim.env_b_.packets_held(), 0u);
  EXPECT_EQ(sim.env_b_.receives_open(), 0u);
  EXPECT_EQ(sim.a_.in_flight(), 0u);
  EXPECT_EQ(sim.b_.held_segments(), 0u);
  const FlowStats& a = sim.a_.stats();
  const FlowStats& b = sim.b_.stats();
  std::printf(
      "loss %.0f%%: %u messages, %lu segments sent (%lu lost on the wire), "
      "%lu fast + %lu timeout retransmits, %lu duplicates and %lu out of "
      "order received, %.3f s simulated\n",
      GetParam() * 100, kMessages, static_cast<unsigned long>(a.segments_sent),
      static_cast<unsigned long>(sim.a_to_b_.lost()),
      static_cast<unsigned long>(a.retransmits_fast),
      static_cast<unsigned long>(a.retransmits_timeout),
      static_cast<unsigned long>(b.duplicates_received),
      static_cast<unsigned long>(b.out_of_order_received),
      static_cast<double>(sim.now_) / 1e9);
  // Expect: the flow closes cleanly afterwards.
  sim.a_.Close(sim.now_);
  for (int i = 0; i < 1'000'000 && sim.b_.state() != FlowState::kClosed; ++i) {
    sim.Step();
  }
  EXPECT_EQ(sim.b_.end_reason(), FlowEndReason::kClosed);
}

INSTANTIATE_TEST_SUITE_P(Loss, FakeWireTest,
                         ::testing::Values(0.0, 0.01, 0.05, 0.20),
                         [](const ::testing::TestParamInfo<double>& info) {
                           return "Percent" + std::to_string(static_cast<int>(
                                                  info.param * 100));
                         });

TEST(FakeWireCongestionTest, WindowShrinksUnderLossAndRecoversAfter) {
  Faults faults;
  faults.duplicate = 0;
  faults.reorder = 0;
  FlowConfig config;
  config.congestion.initial_window = 64;
  Simulation sim(faults, 7, config);
  sim.Connect();
  ASSERT_EQ(sim.a_.state(), FlowState::kEstablished);
  // A clean path: the window grows past its initial size.
  sim.Run(2000, 50'000'000);
  const double clean = sim.a_.congestion_window();
  EXPECT_GT(clean, 64);
  // 5% loss: it shrinks.
  sim.a_to_b_.set_loss(0.05);
  sim.Run(4000, 50'000'000);
  const double lossy = sim.a_.congestion_window();
  EXPECT_LT(lossy, clean / 2);
  // Clean again: it recovers.
  sim.a_to_b_.set_loss(0);
  sim.Run(8000, 50'000'000);
  const double recovered = sim.a_.congestion_window();
  EXPECT_GT(recovered, lossy * 2);
  std::printf("cwnd: clean %.1f, under 5%% loss %.1f, recovered %.1f\n", clean,
              lossy, recovered);
  EXPECT_EQ(sim.next_expected_, 8000u);
  EXPECT_EQ(sim.mismatches_, 0u);
}

}  // namespace
}  // namespace ferry::transport

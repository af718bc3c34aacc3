// Flows end to end inside one process: two engines over a ring-backed port
// pair, applications on the real client library. Covers listen/connect,
// accept events, messages of every size both ways, close, refused and
// unreachable connects, a reset when an application goes away, loss on the
// wire, and a slow reader.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "client/abi/channel_layout.h"
#include "client/ferry.h"
#include "client/ferry_cpp.h"
#include "dataplane/base/clock.h"
#include "dataplane/engine/command.h"
#include "dataplane/engine/testing/engine_pair.h"
#include "dataplane/engine/testing/stream_verified.h"
#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

using testing::EnginePair;
using testing::kHostA;
using testing::kHostB;

constexpr uint16_t kPort = 7000;
constexpr int kWaitMs = 20000;

using testing::Pattern;

// The next event or message on `ch` (waits).
struct Received {
  ssize_t rc = 0;
  ferry_recv_info info{};
  std::vector<uint8_t> data;
};

Received Next(ferry_channel* ch, size_t capacity = FERRY_MAX_MESSAGE_SIZE) {
  Received r;
  r.data.resize(capacity);
  r.rc = ferry_recv_wait(ch, r.data.data(), r.data.size(), &r.info, kWaitMs);
  r.data.resize(r.rc > 0 ? static_cast<size_t>(r.rc) : 0);
  return r;
}

class EngineTransportTest : public ::testing::Test {
 protected:
  void Start(const testing::EnginePairOptions& options = {}) {
    auto pair = EnginePair::Create(options);
    ASSERT_TRUE(pair.ok()) << pair.status();
    pair_ = std::move(*pair);
    pair_->StartStepper();
    auto a = pair_->Attach(0);
    auto b = pair_->Attach(1);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    app_a_ = *a;
    app_b_ = *b;
  }
  void TearDown() override {
    if (app_a_ != nullptr) ferry_detach(app_a_);
    if (app_b_ != nullptr) ferry_detach(app_b_);
    pair_.reset();
  }
  // A connects to B's listener; returns both ends' handles.
  void Connect(uint64_t* at_a, uint64_t* at_b) {
    ASSERT_EQ(ferry_listen(app_b_, kPort, kWaitMs), 0);
    ASSERT_EQ(ferry_connect(app_a_, kHostB, kPort, 0, kWaitMs, at_a), 0);
    Received accepted = Next(app_b_);
    ASSERT_EQ(accepted.rc, 0);
    ASSERT_EQ(accepted.info.flags, FERRY_RECV_FLOW_ACCEPTED);
    EXPECT_EQ(FERRY_COOKIE_REMOTE_IP(accepted.info.cookie), kHostA);
    EXPECT_EQ(FERRY_COOKIE_LOCAL_PORT(accepted.info.cookie), kPort);
    *at_b = accepted.info.flow;
  }

  // Verified messages from A to B on `flow_a` (testing::StreamVerified).
  template <typename SizeOf>
  void StreamVerified(uint64_t flow_a, int count, uint32_t seed,
                      size_t max_size, SizeOf&& size_of) {
    testing::StreamVerified(*pair_, app_a_, flow_a, app_b_, count, seed,
                            max_size, kWaitMs, size_of,
                            [](const ferry_recv_info&) {});
  }

  std::unique_ptr<EnginePair> pair_;
  ferry_channel* app_a_ = nullptr;
  ferry_channel* app_b_ = nullptr;
};

TEST_F(EngineTransportTest, MessagesOfEverySizeCrossBothWaysThenClose) {
  Start();
  uint64_t flow_a = 0, flow_b = 0;
  Connect(&flow_a, &flow_b);
  EXPECT_EQ(ferry_local_ip(app_a_), kHostA);
  // 32 B is the largest message that rides inline, 33 B the smallest in a
  // buffer, on both channels.
  const size_t sizes[] = {
      1, 32, 33, 1024, 4096, 4097, 100000, 1 << 20, FERRY_MAX_MESSAGE_SIZE};
  uint32_t seed = 1;
  for (size_t size : sizes) {
    // Expect: A -> B byte-exact, with A's address in the cookie.
    const std::vector<uint8_t> request = Pattern(size, seed++);
    ASSERT_EQ(ferry_send(app_a_, flow_a, request.data(), request.size()), 0)
        << size;
    Received got = Next(app_b_);
    ASSERT_EQ(got.rc, static_cast<ssize_t>(size));
    EXPECT_EQ(got.info.flow, flow_b);
    EXPECT_EQ(FERRY_COOKIE_REMOTE_IP(got.info.cookie), kHostA);
    EXPECT_TRUE(got.data == request) << size;
    // Expect: B -> A on the same flow, byte-exact.
    const std::vector<uint8_t> reply = Pattern(size, seed++);
    ASSERT_EQ(ferry_send(app_b_, got.info.flow, reply.data(), reply.size()), 0);
    Received back = Next(app_a_);
    ASSERT_EQ(back.rc, static_cast<ssize_t>(size));
    EXPECT_EQ(back.info.flow, flow_a);
    EXPECT_TRUE(back.data == reply) << size;
  }
  // Expect: an orderly close is announced to both sides as closed.
  ASSERT_EQ(ferry_close(app_a_, flow_a, kWaitMs), 0);
  Received closed_b = Next(app_b_);
  EXPECT_EQ(closed_b.info.flags, FERRY_RECV_FLOW_CLOSED);
  EXPECT_EQ(closed_b.info.status, FERRY_STATUS_CLOSED);
  Received closed_a = Next(app_a_);
  EXPECT_EQ(closed_a.info.flags, FERRY_RECV_FLOW_CLOSED);
  EXPECT_EQ(closed_a.info.status, FERRY_STATUS_CLOSED);
  // Expect: the closed flow's handle is refused.
  const uint8_t byte = 1;
  ASSERT_EQ(ferry_send(app_a_, flow_a, &byte, 1), 0);
  Received error = Next(app_a_);
  EXPECT_EQ(error.info.flags, FERRY_RECV_SEND_ERROR);
  EXPECT_EQ(error.info.status, FERRY_STATUS_UNKNOWN_FLOW);
  pair_->StopStepper();
  EXPECT_EQ(pair_->a().ReadStats().transport_flows_active, 0u);
  EXPECT_EQ(pair_->b().ReadStats().transport_flows_closed, 1u);
}

// An application sends and closes at once (send(); close(), as with TCP):
// every message it sent goes out before the flow ends, although they are
// still on the channel's tx ring, more than the engine takes per poll,
// when the close request comes.
TEST_F(EngineTransportTest, ACloseComesAfterTheMessagesSentBeforeIt) {
  Start();
  uint64_t flow_a = 0, flow_b = 0;
  Connect(&flow_a, &flow_b);
  pair_->StopStepper();
  // Nobody steps the engines: these wait on A's tx ring.
  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    const std::vector<uint8_t> m = Pattern(1024, 100 + i);
    ASSERT_EQ(ferry_send(app_a_, flow_a, m.data(), m.size()), 0) << i;
  }
  int close_rc = 1;
  std::thread closer([&] { close_rc = ferry_close(app_a_, flow_a, kWaitMs); });
  // Time for the close request to reach the ring behind the messages
  // (microseconds are enough; the test passes either way when it is late,
  // without having tried the order).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  pair_->ReleaseThreads();
  pair_->StartStepper();
  closer.join();
  EXPECT_EQ(close_rc, 0);
  // Expect: all of them at B, exact and in order, then the close.
  for (int i = 0; i < kMessages; ++i) {
    Received got = Next(app_b_);
    ASSERT_EQ(got.rc, 1024) << "message " << i << " flags " << got.info.flags
                            << " status " << got.info.status;
    EXPECT_TRUE(got.data == Pattern(1024, 100 + i)) << i;
  }
  Received closed = Next(app_b_);
  EXPECT_EQ(closed.info.flags, FERRY_RECV_FLOW_CLOSED);
  EXPECT_EQ(closed.info.status, FERRY_STATUS_CLOSED);
  pair_->StopStepper();
  EXPECT_EQ(pair_->b().ReadStats().transport_messages_rx,
            static_cast<uint64_t>(kMessages));
}

TEST_F(EngineTransportTest, ConnectFailuresSayWhy) {
  Start();
  uint64_t flow = 0;
  // Expect: nobody listens on that port: refused.
  EXPECT_EQ(ferry_connect(app_a_, kHostB, 9, 0, kWaitMs, &flow), -ECONNREFUSED);
  // Expect: no host answers ARP at .77: unreachable.
  EXPECT_EQ(ferry_connect(app_a_, 0x0a58004d, kPort, 0, kWaitMs, &flow),
            -EHOSTUNREACH);
  // Expect: bad requests and a port taken twice.
  EXPECT_EQ(ferry_connect(app_a_, kHostA, kPort, 0, kWaitMs, &flow), -EINVAL);
  EXPECT_EQ(ferry_listen(app_b_, kPort, kWaitMs), 0);
  EXPECT_EQ(ferry_listen(app_b_, kPort, kWaitMs), -EADDRINUSE);
  EXPECT_EQ(ferry_unlisten(app_b_, kPort, kWaitMs), 0);
  EXPECT_EQ(ferry_unlisten(app_b_, kPort, kWaitMs), -EINVAL);
  EXPECT_EQ(ferry_close(app_a_, 12345, kWaitMs), -ENOTCONN);
  // Expect: a local address no NIC has, to listen on or connect from.
  const uint32_t nobody = 0x0a580063;  // 10.88.0.99
  EXPECT_EQ(ferry_listen_on(app_b_, nobody, kPort, kWaitMs), -EADDRNOTAVAIL);
  EXPECT_EQ(ferry_connect_from(app_a_, nobody, kHostB, kPort, 0, kWaitMs, &flow,
                               nullptr),
            -EADDRNOTAVAIL);
  pair_->StopStepper();
  EXPECT_EQ(pair_->a().ReadStats().transport_handshake_refused, 1u);
  EXPECT_EQ(pair_->a().ReadStats().transport_handshake_unreachable, 1u);
  // At least one SYN was refused (more when the SYN was repeated before
  // the RST came back).
  EXPECT_GE(pair_->b().ReadStats().transport_syn_no_listener, 1u);
}

TEST_F(EngineTransportTest, AnApplicationThatLeavesResetsItsFlows) {
  Start();
  uint64_t flow_a = 0, flow_b = 0;
  Connect(&flow_a, &flow_b);
  ferry_detach(app_a_);
  app_a_ = nullptr;
  pair_->a().DetachChannel(1);
  // Expect: B hears a reset for its end of the flow.
  Received closed = Next(app_b_);
  EXPECT_EQ(closed.info.flags, FERRY_RECV_FLOW_CLOSED);
  EXPECT_EQ(closed.info.flow, flow_b);
  EXPECT_EQ(closed.info.status, FERRY_STATUS_RESET);
}

TEST_F(EngineTransportTest, LossyWireStillDeliversEverythingInOrder) {
  testing::EnginePairOptions options;
  options.faults_a.drop = 0.05;
  options.faults_a.delay = 0.02;  // held back: later frames overtake
  options.faults_a.duplicate = 0.01;
  options.faults_a.delay_ns = 50'000;
  options.faults_b.drop = 0.05;
  options.faults_b.seed = 2;
  Start(options);
  uint64_t flow_a = 0, flow_b = 0;
  Connect(&flow_a, &flow_b);
  constexpr int kMessages = 2000;
  std::mt19937 rng(5);
  // A quarter small enough to ride inline: the engine keeps private copies
  // of those to retransmit.
  StreamVerified(flow_a, kMessages, 0, 70000, [&](int i) -> size_t {
    return i % 4 == 0 ? 1 + rng() % (FERRY_INLINE_MAX + 8) : 1 + rng() % 65536;
  });
  if (HasFailure()) return;
  pair_->StopStepper();
  const EngineStats a = pair_->a().ReadStats();
  EXPECT_GT(a.fault_dropped, 0u);
  EXPECT_GT(a.transport_retransmits_fast + a.transport_retransmits_timeout, 0u);
  EXPECT_EQ(pair_->b().ReadStats().transport_messages_rx,
            static_cast<uint64_t>(kMessages));
}

// The peer's answers stall (every frame it sends held back 20 ms, as when
// its engine is descheduled): A times out for nothing on one flow. What
// that taught keeps A's other flow, whose own round trips are short, from
// timing out at the next stall. The engines run on a simulated clock.
TEST_F(EngineTransportTest,
       ASpuriousTimeoutTeachesEveryFlowHowLateAnswersCome) {
  Start();
  uint64_t first_a = 0, first_b = 0;
  Connect(&first_a, &first_b);
  uint64_t second_a = 0;
  ASSERT_EQ(ferry_connect(app_a_, kHostB, kPort, 0, kWaitMs, &second_a), 0);
  ASSERT_EQ(Next(app_b_).info.flags, FERRY_RECV_FLOW_ACCEPTED);
  pair_->StopStepper();
  uint64_t now = MonotonicNanos();
  auto run = [&](uint64_t ns) {
    for (const uint64_t end = now + ns; now < end; now += 50'000) {
      pair_->Step(now);
    }
  };
  auto set_stall = [&](bool on) {
    EngineCommand command;
    command.type = CommandType::kSetFaults;
    command.faults.delay = on ? 1.0 : 0.0;
    command.faults.delay_ns = 20'000'000;
    ASSERT_TRUE(pair_->b().Post(command).ok());
    run(100'000);
  };
  const uint8_t byte = 7;
  auto exchange = [&](uint64_t flow, uint64_t wait_ns) {
    ASSERT_EQ(ferry_send(app_a_, flow, &byte, 1), 0);
    run(wait_ns);
  };
  for (int i = 0; i < 20; ++i) {
    exchange(first_a, 2'000'000);
    exchange(second_a, 2'000'000);
  }
  set_stall(true);
  exchange(first_a, 60'000'000);
  const EngineStats stalled = pair_->a().ReadStats();
  ASSERT_GT(stalled.transport_retransmits_timeout, 0u);
  ASSERT_GT(stalled.transport_timeouts_spurious, 0u);
  // Short round trips again, on the second flow above all.
  set_stall(false);
  for (int i = 0; i < 40; ++i) exchange(second_a, 2'000'000);
  set_stall(true);
  exchange(second_a, 60'000'000);
  const EngineStats again = pair_->a().ReadStats();
  EXPECT_EQ(again.transport_retransmits_timeout,
            stalled.transport_retransmits_timeout);
  set_stall(false);
  run(5'000'000);
  // Every byte arrived, in order, on each flow.
  int delivered = 0;
  Received r;
  while ((r = Next(app_b_, 16)).rc == 1) {
    EXPECT_EQ(r.data[0], byte);
    ++delivered;
    if (delivered == 20 + 1 + 20 + 40 + 1) break;
  }
  EXPECT_EQ(delivered, 82);
}

// Each inline message the transport keeps for retransmission takes a slot
// of the channel's private store until it is acknowledged: three times as
// many messages as the store holds go through, so none can leak.
TEST_F(EngineTransportTest, InlineMessagesAreReleasedOnceAcknowledged) {
  Start();
  uint64_t flow_a = 0, flow_b = 0;
  Connect(&flow_a, &flow_b);
  const int messages =
      3 * static_cast<int>(shm::ChannelSizes{}.buffer_count / 2);
  int sent = 0;
  int received = 0;
  while (received < messages) {
    while (sent < messages) {
      const std::vector<uint8_t> m = Pattern(1 + sent % FERRY_INLINE_MAX, sent);
      const int rc = ferry_send(app_a_, flow_a, m.data(), m.size());
      if (rc == -EAGAIN) break;
      ASSERT_EQ(rc, 0);
      ++sent;
    }
    uint8_t buffer[64];
    ferry_recv_info info{};
    const ssize_t n =
        ferry_recv_wait(app_b_, buffer, sizeof(buffer), &info, kWaitMs);
    ASSERT_EQ(n, static_cast<ssize_t>(1 + received % FERRY_INLINE_MAX))
        << "message " << received << " of " << sent << " sent";
    const std::vector<uint8_t> expected = Pattern(n, received);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), buffer))
        << "message " << received;
    ++received;
  }
  EXPECT_EQ(pair_->b().ReadStats().transport_messages_rx,
            static_cast<uint64_t>(messages));
}

TEST_F(EngineTransportTest, ASlowReaderThrottlesItsSenderAndLosesNothing) {
  Start();
  uint64_t flow_a = 0, flow_b = 0;
  Connect(&flow_a, &flow_b);
  // B reads nothing while A sends more than B's buffers hold (16 MiB):
  // A's sends stall (its own buffers are held until B takes the data).
  const std::vector<uint8_t> chunk = Pattern(1 << 20, 9);
  int sent = 0;
  const uint64_t deadline = MonotonicNanos() + 3 * kNanosPerSecond;
  while (sent < 40 && MonotonicNanos() < deadline) {
    const int rc = ferry_send(app_a_, flow_a, chunk.data(), chunk.size());
    if (rc == 0) {
      ++sent;
    } else {
      ASSERT_EQ(rc, -EAGAIN);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  EXPECT_LT(sent, 40) << "the sender was never held back";
  // Now B reads slowly, sleeping between reads; everything arrives.
  for (int i = 0; i < sent; ++i) {
    Received got = Next(app_b_);
    ASSERT_EQ(got.rc, static_cast<ssize_t>(chunk.size())) << i;
    EXPECT_TRUE(got.data == chunk);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  pair_->StopStepper();
  EXPECT_EQ(pair_->b().ReadStats().transport_flows_reset, 0u);
}

// Two flows of one channel, to two receivers; one receiver reads nothing.
// Its flow fills and is blocked on its own (its sends fail, the bit says
// so) while the other flow carries thousands more messages; once the
// reader reads, everything it was sent arrives in order and its flow
// takes messages again.
TEST_F(EngineTransportTest, AFullFlowIsBlockedAloneAndItsChannelGoesOn) {
  Start();
  auto slow = pair_->Attach(1);
  ASSERT_TRUE(slow.ok()) << slow.status();
  ferry_channel* app_slow = *slow;
  uint64_t fast_a = 0, fast_b = 0;
  Connect(&fast_a, &fast_b);
  ASSERT_EQ(ferry_listen(app_slow, kPort + 1, kWaitMs), 0);
  uint64_t slow_a = 0;
  ASSERT_EQ(ferry_connect(app_a_, kHostB, kPort + 1, 0, kWaitMs, &slow_a), 0);
  ASSERT_EQ(Next(app_slow).info.flags, FERRY_RECV_FLOW_ACCEPTED);

  // Fill the slow flow: bursts of 64 small messages until it is blocked.
  // (A deadline only so that a broken engine fails instead of hanging.)
  const auto message = [](int i) {
    return Pattern(24, static_cast<uint32_t>(i));
  };
  int slow_sent = 0;
  const uint64_t deadline = MonotonicNanos() + 20 * kNanosPerSecond;
  while (ferry_flow_blocked(app_a_, slow_a) == 0) {
    ASSERT_LT(MonotonicNanos(), deadline) << "the slow flow never filled";
    for (int k = 0; k < 64; ++k) {
      const std::vector<uint8_t> m = message(slow_sent);
      const int rc = ferry_send(app_a_, slow_a, m.data(), m.size());
      if (rc == -EAGAIN) break;
      ASSERT_EQ(rc, 0);
      ++slow_sent;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  {
    const std::vector<uint8_t> m = message(slow_sent);
    EXPECT_EQ(ferry_send(app_a_, slow_a, m.data(), m.size()), -EAGAIN);
  }
  EXPECT_GE(pair_->a().ReadStats().transport_flows_blocked, 1u);

  // The other flow of the same channel goes on: 20,000 messages, each
  // read back exact at B. The slow flow is kept full meanwhile: B's
  // engine may still take some of its messages (buffered beyond its
  // reader's ring), which unblocks it, so it is topped up whenever it
  // does, and the fast flow must make most of its way while the slow one
  // is blocked.
  constexpr int kFast = 20000;
  int fast_sent = 0;
  int fast_received = 0;
  int received_while_blocked = 0;
  while (fast_received < kFast) {
    ASSERT_LT(MonotonicNanos(), deadline + 40 * kNanosPerSecond)
        << "the fast flow stalled behind the blocked one after "
        << fast_received;
    while (ferry_flow_blocked(app_a_, slow_a) == 0) {
      const std::vector<uint8_t> m = message(slow_sent);
      const int rc = ferry_send(app_a_, slow_a, m.data(), m.size());
      if (rc == -EAGAIN) break;
      ASSERT_EQ(rc, 0);
      ++slow_sent;
    }
    while (fast_sent < kFast) {
      const std::vector<uint8_t> m = message(1000000 + fast_sent);
      const int rc = ferry_send(app_a_, fast_a, m.data(), m.size());
      if (rc == -EAGAIN) break;
      ASSERT_EQ(rc, 0);
      ++fast_sent;
    }
    uint8_t buffer[64];
    ferry_recv_info info{};
    const ssize_t n = ferry_recv(app_b_, buffer, sizeof(buffer), &info);
    if (n == -EAGAIN) continue;
    ASSERT_EQ(n, 24) << "fast message " << fast_received;
    const std::vector<uint8_t> expected = message(1000000 + fast_received);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), buffer));
    ++fast_received;
    if (ferry_flow_blocked(app_a_, slow_a) == 1) ++received_while_blocked;
  }
  EXPECT_GT(received_while_blocked, kFast / 2);

  // The reader wakes up: every message in order, and the flow unblocks.
  for (int i = 0; i < slow_sent; ++i) {
    Received got = Next(app_slow, 64);
    ASSERT_EQ(got.rc, 24) << "slow message " << i << " of " << slow_sent;
    ASSERT_TRUE(got.data == message(i)) << "slow message " << i;
  }
  while (ferry_flow_blocked(app_a_, slow_a) == 1) {
    ASSERT_LT(MonotonicNanos(), deadline + 80 * kNanosPerSecond);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::vector<uint8_t> last = message(slow_sent);
  ASSERT_EQ(ferry_send(app_a_, slow_a, last.data(), last.size()), 0);
  Received got = Next(app_slow, 64);
  ASSERT_EQ(got.rc, 24);
  EXPECT_TRUE(got.data == last);
  ferry_detach(app_slow);
  EXPECT_EQ(pair_->a().ReadStats().transport_flows_reset, 0u);
}

TEST_F(EngineTransportTest, TheCppApiListensConnectsAndCloses) {
  Start();
  absl::StatusOr<ferry::Channel> server = absl::UnknownError("unset");
  absl::StatusOr<ferry::Channel> client = absl::UnknownError("unset");
  std::thread attach_server([&] {
    server = ferry::Channel::AttachChannelSocket(pair_->socket_path(1));
  });
  ASSERT_TRUE(pair_->AcceptOne(1).ok());
  attach_server.join();
  std::thread attach_client([&] {
    client = ferry::Channel::AttachChannelSocket(pair_->socket_path(0));
  });
  ASSERT_TRUE(pair_->AcceptOne(0).ok());
  attach_client.join();
  ASSERT_TRUE(server.ok() && client.ok());
  ASSERT_TRUE(server->Listen(8000).ok());
  // Expect: the port taken twice is ALREADY_EXISTS; a refused connect is
  // UNAVAILABLE.
  EXPECT_EQ(server->Listen(8000).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client->Connect(kHostB, 9).status().code(),
            absl::StatusCode::kUnavailable);
  absl::StatusOr<ferry::Connected> flow = client->Connect(kHostB, 8000);
  ASSERT_TRUE(flow.ok()) << flow.status();
  EXPECT_EQ(flow->address.local_ip, kHostA);
  EXPECT_EQ(flow->address.remote_port, 8000);
  std::vector<uint8_t> buffer(64);
  absl::StatusOr<ferry::Received> accepted =
      server->Receive(absl::MakeSpan(buffer), absl::Seconds(20));
  ASSERT_TRUE(accepted.ok() && accepted->flow_accepted);
  const std::vector<uint8_t> hello = {'h', 'i'};
  ASSERT_TRUE(client->Send(flow->flow, hello).ok());
  absl::StatusOr<ferry::Received> got =
      server->Receive(absl::MakeSpan(buffer), absl::Seconds(20));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->flow, accepted->flow);
  EXPECT_EQ(got->length, 2u);
  ASSERT_TRUE(client->Close(flow->flow).ok());
  absl::StatusOr<ferry::Received> closed =
      server->Receive(absl::MakeSpan(buffer), absl::Seconds(20));
  ASSERT_TRUE(closed.ok() && closed->flow_closed);
  EXPECT_EQ(closed->status, FERRY_STATUS_CLOSED);
  // Expect: the closed flow is gone.
  absl::Status again = client->Close(flow->flow);
  for (int i = 0; i < 100 && again.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    again = client->Close(flow->flow);
  }
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ferry::engine

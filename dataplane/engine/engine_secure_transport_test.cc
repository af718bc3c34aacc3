// Encrypted flows end to end inside one process: two engines over a ring
// pair, applications on the real client library. Nodes that trust each
// other exchange messages of every size; an untrusted key, or a side that
// does not encrypt when the other requires it, gets no flow and a reason;
// corrupted and duplicated segments are dropped before the flow sees them.
#include <errno.h>

#include <algorithm>
#include <random>
#include <vector>

#include "client/ferry.h"
#include "dataplane/crypto/flow_crypto.h"
#include "dataplane/engine/testing/engine_pair.h"
#include "dataplane/engine/testing/stream_verified.h"
#include "gtest/gtest.h"

namespace ferry::engine {
namespace {

using testing::EnginePair;
using testing::kHostB;

constexpr int kWaitMs = 20000;

using testing::Pattern;

crypto::TrustConfig Node() {
  crypto::TrustConfig config;
  config.node_key = *crypto::KeyPair::Generate();
  return config;
}

class EngineSecureTransportTest : public ::testing::Test {
 protected:
  // A and B with their modes; each trusts the other unless told not to.
  void Start(Encryption mode_a, Encryption mode_b, bool a_trusts_b = true,
             bool b_trusts_a = true, testing::EnginePairOptions options = {}) {
    if (a_trusts_b) trust_a_.trusted.Insert(trust_b_.node_key->public_key());
    if (b_trusts_a) trust_b_.trusted.Insert(trust_a_.node_key->public_key());
    options.transport.encryption = mode_a;
    options.transport.trust = &trust_a_;
    TransportConfig b = options.transport;
    b.encryption = mode_b;
    b.trust = &trust_b_;
    options.transport_b = b;
    auto pair = EnginePair::Create(options);
    ASSERT_TRUE(pair.ok()) << pair.status();
    pair_ = std::move(*pair);
    pair_->StartStepper();
    auto a = pair_->Attach(0);
    auto bb = pair_->Attach(1);
    ASSERT_TRUE(a.ok() && bb.ok());
    app_a_ = *a;
    app_b_ = *bb;
    ASSERT_EQ(ferry_listen(app_b_, 7000, kWaitMs), 0);
  }
  void TearDown() override {
    if (app_a_ != nullptr) ferry_detach(app_a_);
    if (app_b_ != nullptr) ferry_detach(app_b_);
    pair_.reset();
  }
  // Connects A to B; the connect's status (0 on success), and both ends.
  int Connect(uint64_t* at_a, uint64_t* at_b) {
    const int rc = ferry_connect(app_a_, kHostB, 7000, 0, kWaitMs, at_a);
    if (rc != 0) return rc;
    std::vector<uint8_t> none(1);
    ferry_recv_info info{};
    EXPECT_EQ(ferry_recv_wait(app_b_, none.data(), 1, &info, kWaitMs), 0);
    EXPECT_EQ(info.flags, FERRY_RECV_FLOW_ACCEPTED);
    *at_b = info.flow;
    return 0;
  }
  // A's connect: what the library returns (the errno of its status).
  int ConnectError() {
    uint64_t flow = 0;
    return ferry_connect(app_a_, kHostB, 7000, 0, kWaitMs, &flow);
  }

  crypto::TrustConfig trust_a_ = Node();
  crypto::TrustConfig trust_b_ = Node();
  std::unique_ptr<EnginePair> pair_;
  ferry_channel* app_a_ = nullptr;
  ferry_channel* app_b_ = nullptr;
};

TEST_F(EngineSecureTransportTest, TrustingNodesExchangeEverySizeEncrypted) {
  Start(Encryption::kRequired, Encryption::kRequired);
  uint64_t flow_a = 0, flow_b = 0;
  ASSERT_EQ(Connect(&flow_a, &flow_b), 0);
  std::vector<uint8_t> buffer(FERRY_MAX_MESSAGE_SIZE);
  uint32_t seed = 1;
  for (size_t size :
       {size_t{1}, size_t{32}, size_t{33}, size_t{1424}, size_t{1425},
        size_t{100000}, size_t{1} << 20, size_t{FERRY_MAX_MESSAGE_SIZE}}) {
    const std::vector<uint8_t> request = Pattern(size, seed++);
    ASSERT_EQ(ferry_send(app_a_, flow_a, request.data(), size), 0);
    ferry_recv_info info{};
    const ssize_t n =
        ferry_recv_wait(app_b_, buffer.data(), buffer.size(), &info, kWaitMs);
    ASSERT_EQ(n, static_cast<ssize_t>(size));
    ASSERT_TRUE(std::equal(request.begin(), request.end(), buffer.begin()));
    const std::vector<uint8_t> reply = Pattern(size, seed++);
    ASSERT_EQ(ferry_send(app_b_, info.flow, reply.data(), size), 0);
    ASSERT_EQ(
        ferry_recv_wait(app_a_, buffer.data(), buffer.size(), &info, kWaitMs),
        static_cast<ssize_t>(size));
    ASSERT_TRUE(std::equal(reply.begin(), reply.end(), buffer.begin()));
  }
  pair_->StopStepper();
  const EngineStats a = pair_->a().ReadStats();
  const EngineStats b = pair_->b().ReadStats();
  EXPECT_EQ(a.transport_flows_secured, 1u);
  EXPECT_EQ(b.transport_flows_secured, 1u);
  EXPECT_EQ(a.transport_rx_auth_failed + b.transport_rx_auth_failed, 0u);
}

TEST_F(EngineSecureTransportTest, AnUntrustedInitiatorGetsNoFlow) {
  Start(Encryption::kRequired, Encryption::kRequired, true, false);
  EXPECT_EQ(ConnectError(), -EACCES);  // FERRY_STATUS_UNTRUSTED
  pair_->StopStepper();
  // (A SYN sent again before the refusal came back is refused again.)
  EXPECT_GE(pair_->b().ReadStats().transport_syn_untrusted, 1u);
  EXPECT_EQ(pair_->b().ReadStats().transport_flows_secured, 0u);
}

TEST_F(EngineSecureTransportTest, AnUntrustedResponderGetsNoFlow) {
  Start(Encryption::kRequired, Encryption::kRequired, false, true);
  EXPECT_EQ(ConnectError(), -EACCES);  // FERRY_STATUS_UNTRUSTED
  pair_->StopStepper();
  EXPECT_EQ(pair_->a().ReadStats().transport_handshake_untrusted, 1u);
}

TEST_F(EngineSecureTransportTest, PlainCannotReachRequiredNorRequiredPlain) {
  Start(Encryption::kOff, Encryption::kRequired);
  // FERRY_STATUS_ENCRYPTION_REQUIRED
  EXPECT_EQ(ConnectError(), -EPROTONOSUPPORT);
  pair_->StopStepper();
  EXPECT_GE(pair_->b().ReadStats().transport_syn_plain_refused, 1u);
}

TEST_F(EngineSecureTransportTest, RequiredCannotReachPlain) {
  Start(Encryption::kRequired, Encryption::kOff);
  // FERRY_STATUS_ENCRYPTION_REQUIRED
  EXPECT_EQ(ConnectError(), -EPROTONOSUPPORT);
}

TEST_F(EngineSecureTransportTest, PreferredFallsBackToPlainWithAPlainPeer) {
  Start(Encryption::kPreferred, Encryption::kOff);
  uint64_t flow_a = 0, flow_b = 0;
  ASSERT_EQ(Connect(&flow_a, &flow_b), 0);
  const std::vector<uint8_t> m = Pattern(5000, 3);
  ASSERT_EQ(ferry_send(app_a_, flow_a, m.data(), m.size()), 0);
  std::vector<uint8_t> buffer(8192);
  ferry_recv_info info{};
  ASSERT_EQ(
      ferry_recv_wait(app_b_, buffer.data(), buffer.size(), &info, kWaitMs),
      5000);
  EXPECT_TRUE(std::equal(m.begin(), m.end(), buffer.begin()));
  pair_->StopStepper();
  EXPECT_EQ(pair_->a().ReadStats().transport_flows_secured, 0u);
}

// Corrupted frames (one bit anywhere) and duplicated ones on both ways:
// every message still arrives exact; the duplicates are refused as
// replays before the flow sees them.
TEST_F(EngineSecureTransportTest, CorruptionAndReplaysAreDroppedNotDelivered) {
  testing::EnginePairOptions options;
  options.faults_a.corrupt = 0.03;
  options.faults_a.duplicate = 0.03;
  options.faults_a.drop = 0.01;
  options.faults_b.corrupt = 0.03;
  options.faults_b.duplicate = 0.03;
  options.faults_b.seed = 5;
  Start(Encryption::kRequired, Encryption::kRequired, true, true, options);
  uint64_t flow_a = 0, flow_b = 0;
  ASSERT_EQ(Connect(&flow_a, &flow_b), 0);
  std::mt19937 rng(11);
  testing::StreamVerified(
      *pair_, app_a_, flow_a, app_b_, 1000, 100, 70000, kWaitMs,
      [&](int) -> size_t { return 1 + rng() % 65536; },
      [](const ferry_recv_info&) {});
  pair_->StopStepper();
  const EngineStats a = pair_->a().ReadStats();
  const EngineStats b = pair_->b().ReadStats();
  EXPECT_GT(a.fault_duplicated + b.fault_duplicated, 0u);
  // Duplicates reach the other side intact and are refused as replays.
  EXPECT_GT(a.transport_rx_replayed + b.transport_rx_replayed, 0u);
  EXPECT_EQ(a.transport_flows_reset + b.transport_flows_reset, 0u);
}

// Keys move to the next epoch every 2 ms on both sides while 3,000
// messages of up to 64 KiB go through: none lost, none twice, none
// refused.
TEST_F(EngineSecureTransportTest, KeysRotateUnderTrafficLosingNothing) {
  testing::EnginePairOptions options;
  options.transport.key_rotation_ns = 2'000'000;
  Start(Encryption::kRequired, Encryption::kRequired, true, true, options);
  uint64_t flow_a = 0, flow_b = 0;
  ASSERT_EQ(Connect(&flow_a, &flow_b), 0);
  std::mt19937 rng(13);
  constexpr int kMessages = 3000;
  testing::StreamVerified(
      *pair_, app_a_, flow_a, app_b_, kMessages, 500, 70000, kWaitMs,
      [&](int) -> size_t { return 1 + rng() % 65536; },
      [&](const ferry_recv_info& info) {
        // The receiver answers (when its ring has room), so both
        // directions carry data and rotate; A reads the answers.
        const uint8_t ok = 1;
        const int rc = ferry_send(app_b_, info.flow, &ok, 1);
        ASSERT_TRUE(rc == 0 || rc == -EAGAIN) << rc;
        uint8_t answer;
        ferry_recv_info answer_info{};
        while (ferry_recv(app_a_, &answer, 1, &answer_info) >= 0) {
        }
      });
  pair_->StopStepper();
  const EngineStats a = pair_->a().ReadStats();
  const EngineStats b = pair_->b().ReadStats();
  EXPECT_GT(a.transport_key_rotations, 10u);
  EXPECT_GT(b.transport_key_rotations, 10u);
  EXPECT_EQ(a.transport_rx_auth_failed + b.transport_rx_auth_failed, 0u);
  EXPECT_EQ(b.transport_messages_rx, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(a.transport_flows_reset + b.transport_flows_reset, 0u);
}

}  // namespace
}  // namespace ferry::engine

// FlowOpener over a fake engine (engine_commands_fake.h): what a Connect or
// a Listen posts, and how each engine answer becomes the call's status. No
// DPDK, no ferryd; milliseconds.
#include "controlplane/flow_opener.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "controlplane/completion_waiter.h"
#include "controlplane/engine_commands_fake.h"
#include "controlplane/flow_status.h"
#include "controlplane/session_registry.h"
#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

constexpr uint64_t kChannel = 7;
const net::Ipv4Prefix kNicAddress{net::Ipv4Address{0x0a000001}, 24};
constexpr uint32_t kPeer = 0x0a000002;  // 10.0.0.2

using engine::FlowOp;
using engine::FlowOpKind;
using engine::FlowOpResult;

// The engine's answer to every flow operation: `status`, and for a
// connect the flow it opened.
FakeEngineCommands::FlowOpAnswer Answer(ferry_status status) {
  return [status](const FlowOp& op, FlowOpResult* result) {
    result->status = status;
    result->local_ip = kNicAddress.address;
    result->local_port = op.local_port;
    result->remote_ip = op.remote_ip;
    result->remote_port = op.remote_port;
    if (op.kind == FlowOpKind::kConnect && status == FERRY_STATUS_OK) {
      result->flow = 0x00110005;  // engine 1, slot 5
      result->local_port = 49152;
    }
    return true;
  };
}

// What the engine holds: a handshake that has not ended.
bool Hold(const FlowOp&, FlowOpResult*) { return false; }

// The engine's reason a failure carries, or 0.
uint16_t ReasonOf(const absl::Status& status) {
  return FerryStatusOf(status).value_or(FERRY_STATUS_OK);
}

class FlowOpenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engines_.AddNic("net_ring0", kNicAddress, /*engines=*/2);
    sessions_ = std::move(*SessionRegistry::Create(SessionLimits{}));
    absl::StatusOr<SessionRegistry::Opened> opened =
        sessions_->Open("app", 42, 0, [] {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    session_ = opened->id;
    token_.assign(reinterpret_cast<const char*>(opened->token.data()),
                  opened->token.size());
    absl::StatusOr<SessionSecret> ticket =
        sessions_->IssueTicket(session_, token_);
    ASSERT_TRUE(ticket.ok()) << ticket.status();
    ASSERT_TRUE(sessions_->Redeem(*ticket).ok());
    ASSERT_TRUE(sessions_->ChannelAttached(session_, kChannel,
                                           EngineRef{"net_ring0", 1}));
    opener_ =
        std::make_unique<FlowOpener>(&engines_, sessions_.get(), &waiter_);
  }

  ConnectTarget Target(uint32_t ip = kPeer, uint32_t port = 7000) {
    return ConnectTarget{session_, token_, kChannel, ip, port, 0};
  }

  struct Result {
    absl::StatusOr<OpenedFlow> flow = absl::UnknownError("no answer");
    uint16_t reason = 0;  // the ferry_status the failure carries
  };
  Result Connect(const ConnectTarget& target,
                 absl::Duration timeout = absl::Seconds(5),
                 const std::atomic<bool>* cancel = nullptr) {
    Result result;
    absl::Notification done;
    opener_->Connect(target, timeout, cancel,
                     [&](absl::StatusOr<OpenedFlow> flow) {
                       result.reason = ReasonOf(flow.status());
                       result.flow = std::move(flow);
                       done.Notify();
                     });
    done.WaitForNotification();
    return result;
  }

  FakeEngineCommands engines_;
  std::unique_ptr<SessionRegistry> sessions_;
  uint64_t session_ = 0;
  std::string token_;
  CompletionWaiter waiter_;
  std::unique_ptr<FlowOpener> opener_;
};

TEST_F(FlowOpenerTest, AConnectIsOneControlRequestToTheChannelsEngine) {
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_OK));
  const Result r = Connect(Target());
  ASSERT_TRUE(r.flow.ok()) << r.flow.status();
  // Expect: the flow the engine opened, on the channel's NIC.
  EXPECT_EQ(r.flow->flow, 0x00110005u);
  EXPECT_EQ(r.flow->nic, "net_ring0");
  EXPECT_EQ(r.flow->local_port, 49152);
  EXPECT_EQ(r.flow->local_ip, kNicAddress.address.value);
  EXPECT_EQ(r.flow->remote_ip, kPeer);
  // Expect: one connect, for the session's channel, with the target.
  const std::vector<engine::EngineCommand> posted = engines_.posted();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].type, engine::CommandType::kFlowOp);
  EXPECT_EQ(posted[0].channel_id, kChannel);
  EXPECT_EQ(posted[0].flow_op.kind, FlowOpKind::kConnect);
  EXPECT_EQ(posted[0].flow_op.remote_ip.value, kPeer);
  EXPECT_EQ(posted[0].flow_op.remote_port, 7000);
}

TEST_F(FlowOpenerTest, EachEngineAnswerHasItsCode) {
  const struct {
    ferry_status status;
    absl::StatusCode code;
  } kCases[] = {
      {FERRY_STATUS_REFUSED, absl::StatusCode::kUnavailable},
      {FERRY_STATUS_UNREACHABLE, absl::StatusCode::kUnavailable},
      {FERRY_STATUS_TIMED_OUT, absl::StatusCode::kDeadlineExceeded},
      {FERRY_STATUS_LIMIT, absl::StatusCode::kResourceExhausted},
      {FERRY_STATUS_BAD_REQUEST, absl::StatusCode::kInvalidArgument},
      {FERRY_STATUS_ABORTED, absl::StatusCode::kAborted},
      {FERRY_STATUS_PROTOCOL_ERROR, absl::StatusCode::kUnavailable},
  };
  for (const auto& c : kCases) {
    engines_.set_flow_op_answer(Answer(c.status));
    const Result r = Connect(Target());
    // Expect: the code, and the channel ABI's reason alongside.
    EXPECT_EQ(r.flow.status().code(), c.code) << c.status;
    EXPECT_EQ(r.reason, c.status);
  }
}

TEST_F(FlowOpenerTest, TargetsThatCannotBePeersNeverReachAnEngine) {
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_OK));
  for (const uint32_t ip :
       {0x00000001u, 0x7f000001u, 0xe0000001u, 0xffffffffu, 0xf0000001u,
        kNicAddress.address.value, 0x0a000000u, 0x0a0000ffu}) {
    // Expect: INVALID_ARGUMENT naming remote_ip.
    const Result r = Connect(Target(ip));
    EXPECT_EQ(r.flow.status().code(), absl::StatusCode::kInvalidArgument)
        << net::Ipv4Address{ip}.ToString();
    EXPECT_NE(r.flow.status().message().find("remote_ip"), std::string::npos);
  }
  EXPECT_EQ(Connect(Target(kPeer, 0)).flow.status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Connect(Target(kPeer, 70000)).flow.status().code(),
            absl::StatusCode::kInvalidArgument);
  // Expect: none was posted.
  EXPECT_TRUE(engines_.posted().empty());
}

TEST_F(FlowOpenerTest, AnotherSessionsChannelIsNotFound) {
  ConnectTarget target = Target();
  target.token = "not the token";
  EXPECT_EQ(Connect(target).flow.status().code(), absl::StatusCode::kNotFound);
  target = Target();
  target.channel = kChannel + 1;
  EXPECT_EQ(Connect(target).flow.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(engines_.posted().empty());
}

TEST_F(FlowOpenerTest, AHandshakePastTheDeadlineIsGivenUpAndItsFlowOrphaned) {
  // The engine holds the CONNECT: its handshake does not end in time.
  engines_.set_flow_op_answer(Hold);
  const Result r = Connect(Target(), absl::Milliseconds(20));
  // Expect: DEADLINE_EXCEEDED with the TIMED_OUT reason.
  EXPECT_EQ(r.flow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.reason, FERRY_STATUS_TIMED_OUT);
  // The handshake ends after all.
  // Expect: the engine learns nobody waits (it resets such a flow).
  ASSERT_EQ(engines_.held(), 1u);
  EXPECT_FALSE(engines_.CompleteHeld(FlowOpResult{}));
}

TEST_F(FlowOpenerTest, ACancelledCallGivesUpItsWait) {
  engines_.set_flow_op_answer(Hold);
  std::atomic<bool> cancel{true};
  const Result r = Connect(Target(), absl::Seconds(5), &cancel);
  // Expect: CANCELLED; the engine's late answer finds nobody.
  EXPECT_EQ(r.flow.status().code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(engines_.held(), 1u);
  EXPECT_FALSE(engines_.CompleteHeld(FlowOpResult{}));
}

TEST_F(FlowOpenerTest, AFullCommandRingIsRetried) {
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_OK));
  engines_.FillRing(3);
  // Expect: the Connect still succeeds, its CONNECT posted once.
  const Result r = Connect(Target());
  EXPECT_TRUE(r.flow.ok()) << r.flow.status();
  EXPECT_EQ(engines_.posted().size(), 1u);
}

TEST_F(FlowOpenerTest, AFlowItsCallerNeverReceivedIsReset) {
  OpenedFlow flow;
  flow.flow = 0x00110005;
  flow.nic = "net_ring0";
  opener_->Reset(flow, kChannel);
  // Expect: a reset of that flow, on its engine (1), for that channel only.
  const std::vector<engine::EngineCommand> posted = engines_.posted();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].type, engine::CommandType::kFlowOp);
  EXPECT_EQ(posted[0].flow_op.kind, FlowOpKind::kReset);
  EXPECT_EQ(posted[0].flow_op.flow, 0x00110005u);
  EXPECT_EQ(posted[0].channel_id, kChannel);
}

TEST_F(FlowOpenerTest, ListenAndStopListening) {
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_OK));
  absl::StatusOr<net::Ipv4Address> ip =
      opener_->Listen(session_, token_, kChannel, 7000);
  // Expect: the NIC's address, from the engine's answer; one listen.
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(*ip, kNicAddress.address);
  ASSERT_EQ(engines_.posted().size(), 1u);
  EXPECT_EQ(engines_.posted()[0].flow_op.kind, FlowOpKind::kListen);
  EXPECT_EQ(engines_.posted()[0].flow_op.local_port, 7000);
  // Expect: port 0 never reaches the engine.
  EXPECT_EQ(opener_->Listen(session_, token_, kChannel, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engines_.posted().size(), 1u);
  // Expect: a taken port is ALREADY_EXISTS, carrying the engine's reason.
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_ADDRESS_IN_USE));
  const absl::Status taken =
      opener_->Listen(session_, token_, kChannel, 7000).status();
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(taken), FERRY_STATUS_ADDRESS_IN_USE);
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_BAD_REQUEST));
  const absl::Status stop =
      opener_->StopListening(session_, token_, kChannel, 7001);
  EXPECT_EQ(stop.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(stop), FERRY_STATUS_BAD_REQUEST);
  EXPECT_EQ(engines_.posted().back().flow_op.kind, FlowOpKind::kUnlisten);
}

TEST_F(FlowOpenerTest, AChannelWhoseNicIsGoneIsUnavailable) {
  absl::StatusOr<SessionSecret> ticket =
      sessions_->IssueTicket(session_, token_);
  ASSERT_TRUE(ticket.ok());
  ASSERT_TRUE(sessions_->Redeem(*ticket).ok());
  ASSERT_TRUE(sessions_->ChannelAttached(session_, kChannel + 1,
                                         EngineRef{"net_gone0", 0}));
  ConnectTarget target = Target();
  target.channel = kChannel + 1;
  engines_.set_flow_op_answer(Answer(FERRY_STATUS_OK));
  // Expect: UNAVAILABLE, not NOT_FOUND (the channel exists; its NIC not).
  EXPECT_EQ(Connect(target).flow.status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      opener_->Listen(session_, token_, kChannel + 1, 7000).status().code(),
      absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ferry::controlplane

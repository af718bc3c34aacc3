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
#include "controlplane/session_registry.h"
#include "dataplane/engine/flow_ctrl_args.h"
#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

constexpr uint64_t kChannel = 7;
const net::Ipv4Prefix kNicAddress{net::Ipv4Address{0x0a000001}, 24};
constexpr uint32_t kPeer = 0x0a000002;  // 10.0.0.2

using engine::ReadArgs;

// The engine's answer to every control request: `status`, and for a
// CONNECT the flow it opened.
FakeEngineCommands::CtrlAnswer Answer(uint16_t status) {
  return [status](const ferry_ctrl& request, ferry_ctrl* reply) {
    reply->status = status;
    ferry_ctrl_flow_args out = ReadArgs(request);
    out.local_ip = kNicAddress.address.value;
    if (request.op == FERRY_CTRL_CONNECT && status == FERRY_STATUS_OK) {
      out.flow = 0x00110005;  // engine 1, slot 5
      out.local_port = 49152;
    }
    engine::WriteArgs(out, reply);
    return true;
  };
}

class FlowOpenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engines_.AddNic("net_ring0", kNicAddress);
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
    uint16_t reason = 0;
  };
  Result Connect(const ConnectTarget& target,
                 absl::Duration timeout = absl::Seconds(5),
                 const std::atomic<bool>* cancel = nullptr) {
    Result result;
    absl::Notification done;
    opener_->Connect(target, timeout, cancel,
                     [&](absl::StatusOr<OpenedFlow> flow, uint16_t reason) {
                       result.flow = std::move(flow);
                       result.reason = reason;
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
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_OK));
  const Result r = Connect(Target());
  ASSERT_TRUE(r.flow.ok()) << r.flow.status();
  // Expect: the flow the engine opened, on the channel's NIC.
  EXPECT_EQ(r.flow->flow, 0x00110005u);
  EXPECT_EQ(r.flow->nic, "net_ring0");
  EXPECT_EQ(r.flow->local_port, 49152);
  EXPECT_EQ(r.flow->local_ip, kNicAddress.address.value);
  EXPECT_EQ(r.flow->remote_ip, kPeer);
  // Expect: one CONNECT, for the session's channel, with the target.
  const std::vector<engine::EngineCommand> posted = engines_.posted();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].type, engine::CommandType::kChannelCtrl);
  EXPECT_EQ(posted[0].channel_id, kChannel);
  EXPECT_EQ(posted[0].ctrl.op, FERRY_CTRL_CONNECT);
  EXPECT_EQ(ReadArgs(posted[0].ctrl).remote_ip, kPeer);
  EXPECT_EQ(ReadArgs(posted[0].ctrl).remote_port, 7000);
}

TEST_F(FlowOpenerTest, EachEngineAnswerHasItsCode) {
  const struct {
    uint16_t status;
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
    engines_.set_ctrl_answer(Answer(c.status));
    const Result r = Connect(Target());
    // Expect: the code, and the channel ABI's reason alongside.
    EXPECT_EQ(r.flow.status().code(), c.code) << c.status;
    EXPECT_EQ(r.reason, c.status);
  }
}

TEST_F(FlowOpenerTest, TargetsThatCannotBePeersNeverReachAnEngine) {
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_OK));
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
  engines_.set_ctrl_answer(
      [](const ferry_ctrl&, ferry_ctrl*) { return false; });
  const Result r = Connect(Target(), absl::Milliseconds(20));
  // Expect: DEADLINE_EXCEEDED with the TIMED_OUT reason.
  EXPECT_EQ(r.flow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.reason, FERRY_STATUS_TIMED_OUT);
  // The handshake ends after all.
  // Expect: the engine learns nobody waits (it resets such a flow).
  ASSERT_EQ(engines_.held(), 1u);
  ferry_ctrl late = {};
  late.status = FERRY_STATUS_OK;
  EXPECT_FALSE(engines_.CompleteHeld(late));
}

TEST_F(FlowOpenerTest, ACancelledCallGivesUpItsWait) {
  engines_.set_ctrl_answer(
      [](const ferry_ctrl&, ferry_ctrl*) { return false; });
  std::atomic<bool> cancel{true};
  const Result r = Connect(Target(), absl::Seconds(5), &cancel);
  // Expect: CANCELLED; the engine's late answer finds nobody.
  EXPECT_EQ(r.flow.status().code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(engines_.held(), 1u);
  EXPECT_FALSE(engines_.CompleteHeld(ferry_ctrl{}));
}

TEST_F(FlowOpenerTest, AFullCommandRingIsRetried) {
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_OK));
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
  // Expect: a reset (close with abort) of that flow, on its engine (1),
  // for that channel only.
  const std::vector<engine::EngineCommand> posted = engines_.posted();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].type, engine::CommandType::kCloseFlow);
  EXPECT_EQ(posted[0].flow_id, 0x00110005u);
  EXPECT_TRUE(posted[0].abort);
  EXPECT_EQ(posted[0].channel_id, kChannel);
}

TEST_F(FlowOpenerTest, ListenAndStopListening) {
  uint16_t reason = 0;
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_OK));
  absl::StatusOr<uint32_t> ip =
      opener_->Listen(session_, token_, kChannel, 7000, &reason);
  // Expect: the NIC's address, from the engine's answer.
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(*ip, kNicAddress.address.value);
  EXPECT_EQ(
      opener_->Listen(session_, token_, kChannel, 0, &reason).status().code(),
      absl::StatusCode::kInvalidArgument);
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_ADDRESS_IN_USE));
  EXPECT_EQ(opener_->Listen(session_, token_, kChannel, 7000, &reason)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(reason, FERRY_STATUS_ADDRESS_IN_USE);
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_BAD_REQUEST));
  EXPECT_EQ(
      opener_->StopListening(session_, token_, kChannel, 7001, &reason).code(),
      absl::StatusCode::kNotFound);
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
  engines_.set_ctrl_answer(Answer(FERRY_STATUS_OK));
  // Expect: UNAVAILABLE, not NOT_FOUND (the channel exists; its NIC not).
  EXPECT_EQ(Connect(target).flow.status().code(),
            absl::StatusCode::kUnavailable);
  uint16_t reason = 0;
  EXPECT_EQ(opener_->Listen(session_, token_, kChannel + 1, 7000, &reason)
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ferry::controlplane

#include "controlplane/session_registry.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

std::string AsString(const SessionSecret& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

class SessionRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SessionLimits limits;
    limits.max_sessions = 2;
    limits.max_channels_per_session = 2;
    registry_ = std::move(*SessionRegistry::Create(limits));
  }
  SessionRegistry::Opened Open(bool* cancelled = nullptr) {
    auto opened = registry_->Open("app", 42, 0, [cancelled] {
      if (cancelled != nullptr) *cancelled = true;
    });
    EXPECT_TRUE(opened.ok()) << opened.status();
    return *opened;
  }
  std::unique_ptr<SessionRegistry> registry_;
};

TEST_F(SessionRegistryTest, TicketOfAKnownUserIsRedeemedOnlyByThatUser) {
  auto opened = registry_->Open(
      "app", 42, 0, [] {}, 0, PeerCredentials{4242, 1000, 1000});
  ASSERT_TRUE(opened.ok());
  auto ticket = registry_->IssueTicket(opened->id, AsString(opened->token));
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(registry_->Redeem(*ticket, PeerCredentials{7, 1001, 1001})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  // The refusal did not use it up.
  auto redeemed = registry_->Redeem(*ticket, PeerCredentials{4243, 1000, 1000});
  ASSERT_TRUE(redeemed.ok()) << redeemed.status();
  EXPECT_EQ(redeemed->session_id, opened->id);
}

TEST_F(SessionRegistryTest, StreamsThatNeverOpenAreBoundedPerUser) {
  SessionLimits limits;
  limits.max_unopened_per_user = 2;
  limits.open_timeout = absl::ZeroDuration();
  auto registry = std::move(*SessionRegistry::Create(limits));
  int cancelled = 0;
  const PeerCredentials user{1, 1000, 1000};
  auto a = registry->AwaitOpen(user, [&] { ++cancelled; });
  auto b = registry->AwaitOpen(user, [&] { ++cancelled; });
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(registry->AwaitOpen(user, [&] { ++cancelled; }).status().code(),
            absl::StatusCode::kResourceExhausted);
  // Another user still gets in.
  EXPECT_TRUE(
      registry->AwaitOpen(PeerCredentials{2, 1001, 1001}, [&] { ++cancelled; })
          .ok());
  registry->OpenArrived(*a);  // `open` came: never cancelled
  absl::SleepFor(absl::Milliseconds(2));
  registry->ExpireOverdue();
  EXPECT_EQ(cancelled, 2);
  EXPECT_TRUE(registry->AwaitOpen(user, [] {}).ok());
}

TEST_F(SessionRegistryTest, TicketAttachesAChannelToItsSessionOnce) {
  const auto s = Open();
  auto ticket = registry_->IssueTicket(s.id, AsString(s.token));
  ASSERT_TRUE(ticket.ok()) << ticket.status();
  auto redeemed = registry_->Redeem(*ticket);
  ASSERT_TRUE(redeemed.ok());
  EXPECT_EQ(redeemed->session_id, s.id);
  // Expect: a ticket works once.
  EXPECT_EQ(registry_->Redeem(*ticket).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(registry_->ChannelAttached(s.id, 7, EngineRef{"nic0", 1}));
  auto found = registry_->FindChannel(s.id, AsString(s.token), 7);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->where.nic, "nic0");
  EXPECT_EQ(found->where.engine, 1u);
}

TEST_F(SessionRegistryTest, NamesAreListedPrintableAndBounded) {
  auto opened = registry_->Open(
      "evil\nI1202 00:00:00 ferryd ready\x1b[2J" + std::string(200, 'x'), 1, 0,
      [] {});
  ASSERT_TRUE(opened.ok());
  const std::string name = registry_->List()[0].name;
  EXPECT_EQ(name.size(), 64u);
  EXPECT_EQ(name.find('\n'), std::string::npos);
  EXPECT_EQ(name.find('\x1b'), std::string::npos);
  EXPECT_EQ(name.substr(0, 5), "evil?");
}

TEST_F(SessionRegistryTest, WrongTokenOrOtherSessionIsNotFound) {
  const auto a = Open();
  const auto b = Open();
  ASSERT_TRUE(registry_->ChannelAttached(a.id, 7, EngineRef{"nic0", 0}));
  std::string wrong = AsString(a.token);
  wrong[3] ^= 1;
  EXPECT_EQ(registry_->IssueTicket(a.id, wrong).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->IssueTicket(a.id, "short").status().code(),
            absl::StatusCode::kNotFound);
  // Expect: b cannot reach a's channel, even with its own valid token.
  EXPECT_EQ(registry_->FindChannel(b.id, AsString(b.token), 7).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->DestroyChannel(b.id, AsString(b.token), 7).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SessionRegistryTest, QuotasGiveResourceExhausted) {
  const auto s = Open();
  Open();
  // Expect: a third session is over max_sessions.
  EXPECT_EQ(registry_->Open("x", 1, 0, {}).status().code(),
            absl::StatusCode::kResourceExhausted);
  const std::string token = AsString(s.token);
  ASSERT_TRUE(registry_->IssueTicket(s.id, token).ok());
  auto second = registry_->IssueTicket(s.id, token);
  ASSERT_TRUE(second.ok());
  // Expect: pending tickets count against the channel quota.
  EXPECT_EQ(registry_->IssueTicket(s.id, token).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(registry_->Redeem(*second).ok());
  ASSERT_TRUE(registry_->ChannelAttached(s.id, 9, EngineRef{}));
  EXPECT_EQ(registry_->IssueTicket(s.id, token).status().code(),
            absl::StatusCode::kResourceExhausted);
  // Expect: a channel that goes away frees its place.
  registry_->ChannelGone(9);
  EXPECT_TRUE(registry_->IssueTicket(s.id, token).ok());
}

TEST_F(SessionRegistryTest, BadHeartbeatTimeoutIsInvalid) {
  EXPECT_EQ(registry_->Open("x", 1, 50, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Open("x", 1, 60001, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_->Open(std::string(300, 'n'), 1, 0, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

std::vector<uint64_t> Ids(const std::vector<ChannelToClose>& closing) {
  std::vector<uint64_t> ids;
  for (const ChannelToClose& c : closing) ids.push_back(c.channel_id);
  return ids;
}

TEST_F(SessionRegistryTest, ClosingASessionQueuesItsChannelsAndVoidsTickets) {
  const auto s = Open();
  const std::string token = AsString(s.token);
  ASSERT_TRUE(registry_->ChannelAttached(s.id, 3, EngineRef{}));
  auto ticket = registry_->IssueTicket(s.id, token);
  ASSERT_TRUE(ticket.ok());
  ASSERT_TRUE(registry_->ChannelAttached(s.id, 4, EngineRef{}));
  registry_->Close(s.id);
  // Expect: the wake fd is readable and both channels are to close.
  char byte[8];
  EXPECT_EQ(read(registry_->wake_fd(), byte, sizeof(byte)), 8);
  EXPECT_EQ(Ids(registry_->TakeChannelsToClose()),
            (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(registry_->Redeem(*ticket).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(registry_->List().empty());
  // Expect: a channel whose session ended while it attached is refused.
  EXPECT_FALSE(registry_->ChannelAttached(s.id, 5, EngineRef{}));
}

TEST_F(SessionRegistryTest, SilentSessionsEnd) {
  auto opened = registry_->Open("quiet", 1, 100, [] {});
  ASSERT_TRUE(opened.ok());
  bool cancelled = false;
  auto lively =
      registry_->Open("lively", 2, 60000, [&cancelled] { cancelled = true; });
  ASSERT_TRUE(lively.ok());
  ASSERT_TRUE(registry_->ChannelAttached(opened->id, 11, EngineRef{}));
  // The overdue check compares against the clock: wait past 100 ms.
  usleep(150 * 1000);
  registry_->ExpireOverdue();
  // Expect: the quiet session is gone, its channel queued; the other stays.
  const auto left = registry_->List();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, "lively");
  EXPECT_FALSE(cancelled);
  EXPECT_EQ(Ids(registry_->TakeChannelsToClose()), (std::vector<uint64_t>{11}));
}

TEST_F(SessionRegistryTest, AStalledDaemonDoesNotEndItsSessions) {
  SessionLimits limits;
  limits.stalled_after = absl::Milliseconds(50);
  auto registry = std::move(*SessionRegistry::Create(limits));
  ASSERT_TRUE(registry->Open("app", 1, 100, [] {}).ok());
  registry->ExpireOverdue();
  // ferryd does not run for longer than the heartbeat timeout (a SIGSTOP):
  // the application's heartbeats wait unread in its socket meanwhile.
  usleep(150 * 1000);
  registry->ExpireOverdue();
  // Expect: the session stays, its heartbeat timeout started again.
  EXPECT_EQ(registry->List().size(), 1u);
  // Expect: a session that then stays silent, with ferryd running (sweeps
  // closer together than stalled_after), still ends.
  for (int i = 0; i < 10 && !registry->List().empty(); ++i) {
    usleep(20 * 1000);
    registry->ExpireOverdue();
  }
  EXPECT_TRUE(registry->List().empty());
}

TEST_F(SessionRegistryTest, ChannelsDrainForTheirSessionsLingerUnlessAborted) {
  auto lingering = registry_->Open("lingering", 1, 0, {}, 250);
  ASSERT_TRUE(lingering.ok());
  EXPECT_EQ(lingering->linger, absl::Milliseconds(250));
  auto plain = registry_->Open("plain", 2, 0, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->linger, registry_->limits().default_linger);
  const std::string token = AsString(lingering->token);
  ASSERT_TRUE(registry_->ChannelAttached(lingering->id, 1, EngineRef{}));
  ASSERT_TRUE(registry_->ChannelAttached(lingering->id, 2, EngineRef{}));
  ASSERT_TRUE(registry_->ChannelAttached(lingering->id, 3, EngineRef{}));
  ASSERT_TRUE(registry_->ChannelAttached(plain->id, 4, EngineRef{}));
  // Expect: an abort is a reset now, a destroy drains for the linger time.
  ASSERT_TRUE(registry_->DestroyChannel(lingering->id, token, 1, true).ok());
  ASSERT_TRUE(registry_->DestroyChannel(lingering->id, token, 2).ok());
  // Expect: a channel that went by itself drains for its session's time.
  EXPECT_EQ(registry_->ChannelGone(4), registry_->limits().default_linger);
  registry_->Close(lingering->id);
  const std::vector<ChannelToClose> closing = registry_->TakeChannelsToClose();
  ASSERT_EQ(closing.size(), 3u);
  EXPECT_EQ(closing[0].channel_id, 1u);
  EXPECT_EQ(closing[0].linger, absl::ZeroDuration());
  EXPECT_EQ(closing[1].channel_id, 2u);
  EXPECT_EQ(closing[1].linger, absl::Milliseconds(250));
  EXPECT_EQ(closing[2].channel_id, 3u);
  EXPECT_EQ(closing[2].linger, absl::Milliseconds(250));
  // Expect: a linger past the bound is refused.
  EXPECT_EQ(registry_->Open("x", 1, 0, {}, 600001).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ferry::controlplane

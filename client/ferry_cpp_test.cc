// The C++ API against a real channel socket, with the engine side pumped by
// a thread of the test that echoes every message.
#include "client/ferry_cpp.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "dataplane/channel/channel_listener.h"
#include "gtest/gtest.h"

namespace ferry {
namespace {

class ChannelCppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    doorbell_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    path_ = absl::StrFormat("@ferry-cpp-test-%d-%x", getpid(),
                            std::random_device{}());
    auto listener = channel::ChannelListener::Listen(
        path_, 0600, shm::ChannelSizes{},
        channel::SegmentMemory::kOrdinaryPages);
    ASSERT_TRUE(listener.ok());
    listener_ = std::move(*listener);
  }
  void TearDown() override {
    stop_ = true;
    if (engine_thread_.joinable()) engine_thread_.join();
    if (connection_ >= 0) close(connection_);
    engine_.reset();
    close(doorbell_);
  }

  absl::StatusOr<Channel> AttachAndServe() {
    absl::StatusOr<Channel> channel = absl::UnknownError("not attached");
    std::thread app([&] { channel = Channel::AttachChannelSocket(path_); });
    pollfd pfd = {listener_->fd(), POLLIN, 0};
    poll(&pfd, 1, 10000);
    auto accepted = listener_->AcceptOne(1, doorbell_);
    app.join();
    if (!accepted.ok()) return accepted.status();
    connection_ = accepted->connection;
    engine_ = std::move(accepted->channel);
    engine_thread_ = std::thread([this] {
      while (!stop_) {
        engine_->PollCtrl_st();
        engine_->PollTx_st(
            32, [this](const ferry_desc& desc,
                       absl::Span<const channel::MessagePiece> pieces) {
              return engine_->Deliver_st(desc.flow, pieces);
            });
        engine_->Flush_st();
        std::this_thread::yield();
      }
    });
    return channel;
  }

  int doorbell_ = -1;
  std::string path_;
  std::unique_ptr<channel::ChannelListener> listener_;
  int connection_ = -1;
  std::unique_ptr<channel::EngineChannel> engine_;
  std::atomic<bool> stop_{false};
  std::thread engine_thread_;
};

TEST_F(ChannelCppTest, SendReceiveAndErrors) {
  absl::StatusOr<Channel> channel = AttachAndServe();
  ASSERT_TRUE(channel.ok()) << channel.status();
  EXPECT_TRUE(channel->PingEngine(absl::Seconds(10)).ok());

  std::vector<uint8_t> data(10000, 0x42);
  ASSERT_TRUE(channel->Send(7, data).ok());
  std::vector<uint8_t> buffer(20000);
  absl::StatusOr<Received> got =
      channel->Receive(absl::MakeSpan(buffer), absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->flow, 7u);
  EXPECT_EQ(got->length, data.size());
  EXPECT_FALSE(got->truncated);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), buffer.begin()));

  // Expect: errors map to status codes a caller can act on.
  EXPECT_EQ(channel->TryReceive(absl::MakeSpan(buffer)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(channel->Receive(absl::MakeSpan(buffer), absl::Milliseconds(20))
                .status()
                .code(),
            absl::StatusCode::kDeadlineExceeded);
  std::vector<uint8_t> huge(FERRY_MAX_MESSAGE_SIZE + 1);
  EXPECT_EQ(channel->Send(1, huge).code(), absl::StatusCode::kInvalidArgument);

  // Expect: a moved-from channel is empty and the moved-to one works.
  Channel moved = std::move(*channel);
  ASSERT_TRUE(moved.Send(8, data).ok());
  EXPECT_TRUE(moved.Receive(absl::MakeSpan(buffer), absl::Seconds(10)).ok());
}

TEST(ChannelCppAttachTest, MissingDaemonIsUnavailable) {
  absl::StatusOr<Channel> channel =
      Channel::AttachChannelSocket("@ferry-nobody-listens-here");
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ferry

// The client library and the engine side of a channel in one process: the
// test attaches through a real ChannelListener socket, then plays the
// engine by pumping the channel (echoing every message back on its flow).
#include "dataplane/channel/engine_channel.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "client/ferry.h"
#include "client/shm_ring.h"
#include "dataplane/channel/channel_listener.h"
#include "gtest/gtest.h"

namespace ferry::channel {
namespace {

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    doorbell_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(doorbell_, 0);
    static int n = 0;
    path_ = absl::StrFormat("@ferry-channel-test-%d-%d-%x", getpid(), n++,
                            std::random_device{}());
    auto listener = ChannelListener::Listen(path_, 0600, shm::ChannelSizes{},
                                            SegmentMemory::kOrdinaryPages);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::move(*listener);
  }

  void TearDown() override {
    StopPumping();
    for (ferry_channel* ch : clients_) ferry_detach(ch);
    for (int fd : connections_) close(fd);
    engines_.clear();
    close(doorbell_);
  }

  // Attaches a client; returns the engine side of the same channel.
  EngineChannel* Attach(ferry_channel** client,
                        const ferry_channel_options* options = nullptr) {
    int rc = -1;
    std::thread app([&] {
      rc = ferry_attach_channel_socket(path_.c_str(), options, client);
    });
    pollfd pfd = {listener_->fd(), POLLIN, 0};
    EXPECT_EQ(poll(&pfd, 1, 10000), 1);
    absl::StatusOr<AcceptedChannel> accepted =
        listener_->AcceptOne(next_id_++, doorbell_);
    app.join();
    EXPECT_TRUE(accepted.ok()) << accepted.status();
    EXPECT_EQ(rc, 0);
    if (!accepted.ok() || rc != 0) return nullptr;
    clients_.push_back(*client);
    connections_.push_back(accepted->connection);
    engines_.push_back(std::move(accepted->channel));
    return engines_.back().get();
  }

  // One engine iteration: echo every message back on its own flow.
  static uint32_t Pump(EngineChannel* engine) {
    const uint32_t n = engine->PollTx_st(
        64, [&](const ferry_desc& desc, absl::Span<const MessagePiece> pieces) {
          return engine->Deliver_st(desc.flow, pieces);
        });
    const uint32_t c = engine->PollCtrl_st();
    engine->Flush_st();
    return n + c;
  }

  void StartPumping(EngineChannel* engine) {
    pumping_ = true;
    pump_thread_ = std::thread([this, engine] {
      while (pumping_.load()) {
        if (Pump(engine) == 0) std::this_thread::yield();
      }
    });
  }

  void StopPumping() {
    pumping_ = false;
    if (pump_thread_.joinable()) pump_thread_.join();
  }

  static std::vector<uint8_t> Pattern(size_t size, uint32_t seed) {
    std::vector<uint8_t> data(size);
    std::mt19937 rng(seed);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
    return data;
  }

  int doorbell_ = -1;  // the "engine's" eventfd
  std::string path_;
  std::unique_ptr<ChannelListener> listener_;
  uint64_t next_id_ = 1;
  std::vector<ferry_channel*> clients_;
  std::vector<int> connections_;
  std::vector<std::unique_ptr<EngineChannel>> engines_;
  std::atomic<bool> pumping_{false};
  std::thread pump_thread_;
};

TEST_F(ChannelTest, EchoesMessagesOfEverySize) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  std::vector<uint8_t> received(FERRY_MAX_MESSAGE_SIZE);
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{1000}, size_t{4096}, size_t{4097},
        size_t{100000}, size_t{1} << 20, size_t{FERRY_MAX_MESSAGE_SIZE}}) {
    const std::vector<uint8_t> sent =
        Pattern(size, static_cast<uint32_t>(size));
    ASSERT_EQ(ferry_send(client, 42 + size, sent.data(), sent.size()), 0)
        << size;
    Pump(engine);
    ferry_recv_info info;
    const ssize_t n =
        ferry_recv(client, received.data(), received.size(), &info);
    ASSERT_EQ(n, static_cast<ssize_t>(size));
    EXPECT_EQ(info.flow, 42 + size);
    EXPECT_EQ(info.flags, 0);
    EXPECT_EQ(info.length, size);
    EXPECT_TRUE(std::equal(sent.begin(), sent.end(), received.begin()))
        << "size " << size;
  }
  EXPECT_EQ(engine->counters().tx_messages.Get(), 8u);
  EXPECT_EQ(engine->counters().rx_messages.Get(), 8u);
  EXPECT_EQ(engine->counters().bad_descriptors.Get(), 0u);
}

TEST_F(ChannelTest, RejectsOversizedMessages) {
  ferry_channel* client;
  ASSERT_NE(Attach(&client), nullptr);
  std::vector<uint8_t> big(FERRY_MAX_MESSAGE_SIZE + 1);
  EXPECT_EQ(ferry_send(client, 1, big.data(), big.size()), -EMSGSIZE);
}

TEST_F(ChannelTest, BatchedSendAndScatteredReceive) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<iovec> iovs;
  std::vector<ferry_msghdr> messages(10);
  for (int i = 0; i < 10; ++i) payloads.push_back(Pattern(3000 + i * 700, i));
  iovs.resize(20);
  for (int i = 0; i < 10; ++i) {
    // Each message from two pieces.
    const size_t half = payloads[i].size() / 2;
    iovs[2 * i] = {payloads[i].data(), half};
    iovs[2 * i + 1] = {payloads[i].data() + half, payloads[i].size() - half};
    messages[i] = {static_cast<uint64_t>(i), 0, &iovs[2 * i], 2};
  }
  ASSERT_EQ(ferry_sendmmsg(client, messages.data(), 10), 10);
  Pump(engine);
  for (int i = 0; i < 10; ++i) {
    std::vector<uint8_t> a(1000), b(payloads[i].size());
    iovec out[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    ferry_recv_info info;
    ASSERT_EQ(ferry_recvmsg(client, out, 2, &info),
              static_cast<ssize_t>(payloads[i].size()));
    EXPECT_EQ(info.flow, static_cast<uint64_t>(i));
    std::vector<uint8_t> joined(a);
    joined.insert(joined.end(), b.begin(),
                  b.begin() + (payloads[i].size() - a.size()));
    EXPECT_EQ(joined, payloads[i]);
  }
  ferry_recv_info info;
  EXPECT_EQ(ferry_recv(client, nullptr, 0, &info), -EAGAIN);
}

TEST_F(ChannelTest, ShortBufferTruncates) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const std::vector<uint8_t> sent = Pattern(10000, 7);
  ASSERT_EQ(ferry_send(client, 5, sent.data(), sent.size()), 0);
  Pump(engine);
  std::vector<uint8_t> small(100);
  ferry_recv_info info;
  EXPECT_EQ(ferry_recv(client, small.data(), small.size(), &info), 100);
  EXPECT_EQ(info.length, 10000u);
  EXPECT_TRUE(info.flags & FERRY_RECV_TRUNCATED);
  EXPECT_TRUE(std::equal(small.begin(), small.end(), sent.begin()));
}

TEST_F(ChannelTest, ZeroCopyRoundTrip) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const std::vector<uint8_t> sent = Pattern(20000, 11);
  iovec iov[8];
  ferry_zc_buf buf;
  const int n = ferry_zc_alloc(client, sent.size(), iov, 8, &buf);
  ASSERT_EQ(n, 5);  // 20000 bytes in 4 KiB buffers
  size_t offset = 0;
  for (int i = 0; i < n; ++i) {
    std::memcpy(iov[i].iov_base, sent.data() + offset, iov[i].iov_len);
    offset += iov[i].iov_len;
  }
  ASSERT_EQ(ferry_zc_send(client, 9, &buf, 0), 0);
  Pump(engine);
  ferry_recv_info info;
  ferry_zc_buf rbuf;
  // Expect: too few iovecs consumes nothing.
  EXPECT_EQ(ferry_zc_recv(client, iov, 2, &info, &rbuf), -ENOSPC);
  const int m = ferry_zc_recv(client, iov, 8, &info, &rbuf);
  ASSERT_EQ(m, 5);
  std::vector<uint8_t> joined;
  for (int i = 0; i < m; ++i) {
    const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
    joined.insert(joined.end(), p, p + iov[i].iov_len);
  }
  EXPECT_EQ(joined, sent);
  EXPECT_EQ(info.flow, 9u);
  ferry_zc_release(client, &rbuf);
}

// Buffers circulate and none is lost: after traffic, the app can again take
// exactly its half, and the engine holds the other half.
TEST_F(ChannelTest, BuffersAreConserved) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  std::vector<uint8_t> received(1 << 20);
  for (int i = 0; i < 300; ++i) {
    const std::vector<uint8_t> sent = Pattern(1 + (i * 7919) % 300000, i);
    ASSERT_EQ(ferry_send(client, 1, sent.data(), sent.size()), 0);
    Pump(engine);
    ferry_recv_info info;
    ASSERT_EQ(ferry_recv(client, received.data(), received.size(), &info),
              static_cast<ssize_t>(sent.size()));
  }
  Pump(engine);  // publishes the buffers of the last sent message
  const uint32_t half = shm::ChannelSizes{}.buffer_count / 2;
  // Drain the app's free buffers through zero-copy allocations.
  uint32_t app_buffers = 0;
  iovec iov[1];
  ferry_zc_buf buf;
  while (ferry_zc_alloc(client, 1, iov, 1, &buf) == 1) ++app_buffers;
  EXPECT_EQ(app_buffers, half);
  // The engine's side: what it holds plus what the app gave back.
  EXPECT_EQ(engine->CollectFreeBuffers_st(), half);
}

TEST_F(ChannelTest, HostileDescriptorsAreRefusedAndReported) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  // Write descriptors straight into the tx ring, as a hostile app would.
  const shm::ChannelView& view = engine->segment().view();
  auto tx = shm::MakeProducer<ferry_desc>(
      view, FERRY_RING_TX, view.ring_indices(FERRY_RING_TX)->tail);
  ferry_buffer_meta* meta = view.meta();
  const uint32_t count = view.layout.sizes.buffer_count;
  auto desc = [](uint64_t cookie, uint32_t head, uint32_t length,
                 uint16_t type = FERRY_DESC_MESSAGE) {
    ferry_desc d = {};
    d.flow = 1;
    d.cookie = cookie;
    d.head = head;
    d.length = length;
    d.type = type;
    return d;
  };
  tx.Write(desc(1, count + 5, 10));  // index out of range
  meta[0] = {1, 4096};
  meta[1] = {0, 4096};
  tx.Write(desc(2, 0, 8192));  // a two-buffer loop
  meta[2] = {FERRY_BUFFER_NONE, 100};
  tx.Write(desc(3, 2, 5000));  // lengths disagree (a chain: over one buffer)
  meta[3] = {FERRY_BUFFER_NONE, 5000};
  tx.Write(desc(4, 3, 5000));                        // buffer overfilled
  tx.Write(desc(5, 2, 100, 77));                     // unknown type
  tx.Write(desc(6, 2, FERRY_MAX_MESSAGE_SIZE + 1));  // too long
  meta[4] = {count, 4096};
  tx.Write(desc(7, 4, 8192));  // bad next index
  tx.Publish();
  Pump(engine);
  EXPECT_EQ(engine->counters().bad_descriptors.Get(), 7u);
  EXPECT_EQ(engine->counters().tx_messages.Get(), 0u);
  const uint16_t expected[] = {
      FERRY_STATUS_BAD_BUFFER_INDEX, FERRY_STATUS_CHAIN_TOO_LONG,
      FERRY_STATUS_BAD_LENGTH,       FERRY_STATUS_BAD_LENGTH,
      FERRY_STATUS_BAD_LENGTH,       FERRY_STATUS_BAD_LENGTH,
      FERRY_STATUS_BAD_BUFFER_INDEX};
  for (uint64_t cookie = 1; cookie <= 7; ++cookie) {
    ferry_recv_info info;
    ASSERT_EQ(ferry_recv(client, nullptr, 0, &info), 0);
    EXPECT_TRUE(info.flags & FERRY_RECV_SEND_ERROR);
    EXPECT_EQ(info.cookie, cookie);
    EXPECT_EQ(info.status, expected[cookie - 1]) << "cookie " << cookie;
  }
}

TEST_F(ChannelTest, CorruptRingIndicesAreDetected) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const shm::ChannelView& view = engine->segment().view();
  view.ring_indices(FERRY_RING_TX)->tail = 0x7fffffff;
  view.ring_indices(FERRY_RING_RX)->head = 0x12345678;
  EXPECT_EQ(Pump(engine), 0u);
  std::vector<uint8_t> one(1);
  MessagePiece piece{one.data(), 1};
  EXPECT_EQ(engine->Deliver_st(1, absl::MakeConstSpan(&piece, 1)),
            FERRY_STATUS_NO_BUFFERS);
  EXPECT_EQ(engine->counters().ring_corruptions.Get(), 1u);
}

TEST_F(ChannelTest, PingAndBlockingReceiveWakeTheApp) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  StartPumping(engine);
  EXPECT_EQ(ferry_ping_engine(client, 10000), 0);
  const std::vector<uint8_t> data = Pattern(64, 3);
  ASSERT_EQ(ferry_send(client, 8, data.data(), data.size()), 0);
  std::vector<uint8_t> out(64);
  ferry_recv_info info;
  EXPECT_EQ(ferry_recv_wait(client, out.data(), out.size(), &info, 10000), 64);
  EXPECT_EQ(out, data);
  // Nothing more is coming: the wait times out.
  EXPECT_EQ(ferry_recv_wait(client, out.data(), out.size(), &info, 50),
            -ETIMEDOUT);
  StopPumping();
  EXPECT_GE(engine->counters().ctrl_requests.Get(), 1u);
}

TEST_F(ChannelTest, AttachRejectsBadSizes) {
  ferry_channel* client = nullptr;
  ferry_channel_options options = {1000, 0, 0};  // not a power of two
  int rc = 0;
  std::thread app([&] {
    rc = ferry_attach_channel_socket(path_.c_str(), &options, &client);
  });
  pollfd pfd = {listener_->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000), 1);
  EXPECT_FALSE(listener_->AcceptOne(99, doorbell_).ok());
  app.join();
  EXPECT_EQ(rc, -EINVAL);
  EXPECT_EQ(client, nullptr);
}

}  // namespace
}  // namespace ferry::channel

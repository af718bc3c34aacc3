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
#include "client/abi/shm_ring.h"
#include "client/ferry.h"
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

  // Buffers circulate and none is lost: the app can take exactly its half
  // again (drained through zero-copy allocations), and the engine holds the
  // other half (what it kept plus what the app gave back).
  static void ExpectEachSideHoldsHalf(ferry_channel* client,
                                      EngineChannel* engine) {
    const uint32_t half = shm::ChannelSizes{}.buffer_count / 2;
    uint32_t app_buffers = 0;
    iovec iov[1];
    ferry_zc_buf buf;
    while (ferry_zc_alloc(client, 1, iov, 1, &buf) == 1) ++app_buffers;
    EXPECT_EQ(app_buffers, half);
    EXPECT_EQ(engine->CollectFreeBuffers_st(), half);
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
  ExpectEachSideHoldsHalf(client, engine);
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
  // No buffer and more than fits inline.
  tx.Write(desc(8, FERRY_BUFFER_NONE, FERRY_INLINE_MAX + 1));
  tx.Publish();
  Pump(engine);
  EXPECT_EQ(engine->counters().bad_descriptors.Get(), 8u);
  EXPECT_EQ(engine->counters().tx_messages.Get(), 0u);
  const uint16_t expected[] = {
      FERRY_STATUS_BAD_BUFFER_INDEX, FERRY_STATUS_CHAIN_TOO_LONG,
      FERRY_STATUS_BAD_LENGTH,       FERRY_STATUS_BAD_LENGTH,
      FERRY_STATUS_BAD_LENGTH,       FERRY_STATUS_BAD_LENGTH,
      FERRY_STATUS_BAD_BUFFER_INDEX, FERRY_STATUS_BAD_LENGTH};
  for (uint64_t cookie = 1; cookie <= 8; ++cookie) {
    ferry_recv_info info;
    ASSERT_EQ(ferry_recv(client, nullptr, 0, &info), 0);
    EXPECT_TRUE(info.flags & FERRY_RECV_SEND_ERROR);
    EXPECT_EQ(info.cookie, cookie);
    EXPECT_EQ(info.status, expected[cookie - 1]) << "cookie " << cookie;
  }
}

// Messages of up to FERRY_INLINE_MAX bytes cross inside their descriptors,
// both ways: the engine's sink sees bytes outside the buffer area, and no
// buffer leaves either side's pool.
TEST_F(ChannelTest, SmallMessagesRideInTheirDescriptors) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const shm::ChannelView& view = engine->segment().view();
  const uint8_t* buffers = view.buffer(0);
  const uint8_t* buffers_end =
      buffers +
      uint64_t{view.layout.sizes.buffer_count} * view.layout.sizes.buffer_size;
  const uint32_t engine_buffers = engine->CollectFreeBuffers_st();
  for (size_t size : {size_t{1}, size_t{17}, size_t{FERRY_INLINE_MAX},
                      size_t{FERRY_INLINE_MAX + 1}}) {
    const std::vector<uint8_t> sent =
        Pattern(size, static_cast<uint32_t>(size));
    // Three pieces, so that the inline copy gathers.
    const size_t a = size / 3, b = size / 3;
    iovec iov[3] = {{const_cast<uint8_t*>(sent.data()), a},
                    {const_cast<uint8_t*>(sent.data()) + a, b},
                    {const_cast<uint8_t*>(sent.data()) + a + b, size - a - b}};
    ASSERT_EQ(ferry_sendmsg(client, 3, iov, 3, 77), 0);
    bool in_buffers = false;
    std::vector<uint8_t> seen;
    ASSERT_EQ(
        engine->PollTx_st(
            8,
            [&](const ferry_desc& desc, absl::Span<const MessagePiece> pieces) {
              EXPECT_EQ(desc.cookie, 77u);
              for (const MessagePiece& piece : pieces) {
                in_buffers |= piece.data >= buffers && piece.data < buffers_end;
                seen.insert(seen.end(), piece.data, piece.data + piece.length);
              }
              return engine->Deliver_st(desc.flow, pieces);
            }),
        1u);
    engine->Flush_st();
    EXPECT_EQ(seen, sent);
    EXPECT_EQ(in_buffers, size > FERRY_INLINE_MAX) << size;
    if (size <= FERRY_INLINE_MAX) {
      // Nothing was taken from the engine's pool for the echo either.
      EXPECT_EQ(engine->CollectFreeBuffers_st(), engine_buffers);
    }
    std::vector<uint8_t> received(64);
    ferry_recv_info info;
    ASSERT_EQ(ferry_recv(client, received.data(), received.size(), &info),
              static_cast<ssize_t>(size));
    received.resize(size);
    EXPECT_EQ(received, sent);
    EXPECT_EQ(info.flow, 3u);
    EXPECT_EQ(info.flags, 0);
  }
  // A receive buffer shorter than an inline message truncates it.
  const std::vector<uint8_t> sent = Pattern(20, 5);
  ASSERT_EQ(ferry_send(client, 4, sent.data(), sent.size()), 0);
  Pump(engine);
  uint8_t four[4];
  ferry_recv_info info;
  EXPECT_EQ(ferry_recv(client, four, sizeof(four), &info), 4);
  EXPECT_TRUE(info.flags & FERRY_RECV_TRUNCATED);
  EXPECT_EQ(info.length, 20u);
  EXPECT_EQ(std::memcmp(four, sent.data(), 4), 0);
  Pump(engine);  // publishes the buffer of the 33-byte message
  ExpectEachSideHoldsHalf(client, engine);
}

// A kept inline message (a transport waiting for its acknowledgement) is
// the engine's private copy: the app rewriting its ring slot changes
// nothing, and a full store holds the ring back instead of dropping.
TEST_F(ChannelTest, KeptInlineMessagesArePrivateCopies) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const shm::ChannelView& view = engine->segment().view();
  std::vector<uint32_t> handles;
  auto keep = [&](const ferry_desc& desc, absl::Span<const MessagePiece>) {
    handles.push_back(desc.head);
    return kTxKeep;
  };
  const std::vector<uint8_t> sent = Pattern(30, 9);
  ASSERT_EQ(ferry_send(client, 1, sent.data(), sent.size()), 0);
  ASSERT_EQ(engine->PollTx_st(8, keep), 1u);
  ASSERT_EQ(handles.size(), 1u);
  EXPECT_GE(handles[0], view.layout.sizes.buffer_count);
  EXPECT_EQ(engine->tx_kept_inline(), 1u);
  EXPECT_EQ(engine->tx_kept_buffers(), 0u);
  // The app scribbles over every tx ring slot.
  const ferry_ring_layout& ring = view.layout.rings[FERRY_RING_TX];
  std::memset(view.ring_entries<ferry_desc>(FERRY_RING_TX), 0xa5,
              uint64_t{ring.capacity} * ring.entry_size);
  std::vector<uint8_t> copy(sent.size());
  engine->CopyTx_st(handles[0], 0, copy.data(), 10);
  engine->CopyTx_st(handles[0], 10, copy.data() + 10, 20);
  EXPECT_EQ(copy, sent);
  // Past the end copies nothing more.
  uint8_t guard[8] = {};
  engine->CopyTx_st(handles[0], 28, guard, 8);
  EXPECT_EQ(guard[0], sent[28]);
  EXPECT_EQ(guard[2], 0);
  EXPECT_EQ(engine->ReleaseTx_st(handles[0]), 30u);
  EXPECT_EQ(engine->ReleaseTx_st(handles[0]), 0u);  // released twice
  EXPECT_EQ(engine->tx_kept_inline(), 0u);
}

TEST_F(ChannelTest, FullInlineStoreHoldsTheRingBack) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  std::vector<uint32_t> handles;
  auto keep = [&](const ferry_desc& desc, absl::Span<const MessagePiece>) {
    handles.push_back(desc.head);
    return kTxKeep;
  };
  const uint32_t store = shm::ChannelSizes{}.buffer_count / 2;
  uint8_t byte = 1;
  uint32_t queued = 0;
  // Send and keep until the engine stops taking.
  for (int round = 0; round < 100; ++round) {
    while (ferry_send(client, 1, &byte, 1) == 0) ++queued;
    if (engine->PollTx_st(4096, keep) == 0) break;
  }
  EXPECT_EQ(handles.size(), store);
  EXPECT_EQ(engine->tx_kept_inline(), store);
  EXPECT_GT(queued, store);
  // One acknowledged: one more comes in.
  EXPECT_EQ(engine->ReleaseTx_st(handles[7]), 1u);
  EXPECT_EQ(engine->PollTx_st(4096, keep), 1u);
  EXPECT_EQ(handles.back(), handles[7]);
  for (uint32_t i = 0; i < handles.size(); ++i) {
    if (i == 7) continue;
    engine->ReleaseTx_st(handles[i]);
  }
  EXPECT_EQ(engine->tx_kept_inline(), 0u);
  EXPECT_EQ(engine->counters().bad_descriptors.Get(), 0u);
}

// A CLOSE is answered after the messages queued on tx before it have been
// taken (so that its FIN follows them), while the requests behind it are
// answered at once.
TEST_F(ChannelTest, ACloseWaitsForEarlierMessagesNotForLaterRequests) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  // Plays the app on the raw rings (the library would wait for each answer).
  const shm::ChannelView& view = engine->segment().view();
  auto tx = shm::MakeProducer<ferry_desc>(view, FERRY_RING_TX, 0);
  auto sq = shm::MakeProducer<ferry_ctrl>(view, FERRY_RING_CTRL_SQ, 0);
  auto cq = shm::MakeConsumer<ferry_ctrl>(view, FERRY_RING_CTRL_CQ, 0);
  for (int i = 0; i < 10; ++i) {
    ferry_desc desc = {};
    desc.flow = 7;
    desc.head = FERRY_BUFFER_NONE;
    desc.length = 1;
    desc.type = FERRY_DESC_MESSAGE;
    desc.inline_data[0] = static_cast<uint8_t>(i);
    tx.Write(desc);
  }
  tx.Publish();
  ferry_ctrl close = {};
  close.id = 1;
  close.op = FERRY_CTRL_CLOSE;
  ferry_ctrl noop = {};
  noop.id = 2;
  noop.op = FERRY_CTRL_NOOP;
  sq.Write(close);
  sq.Write(noop);
  sq.Publish();
  std::vector<uint64_t> served;  // request ids, in the order answered
  auto handler = [&](const ferry_ctrl& request, ferry_ctrl* reply) {
    served.push_back(request.id);
    reply->status = FERRY_STATUS_OK;
    return true;
  };
  auto sink = [](const ferry_desc&, absl::Span<const MessagePiece>) {
    return static_cast<int>(FERRY_STATUS_OK);
  };
  // Expect: both requests taken; the NOOP answered, the CLOSE waiting.
  EXPECT_EQ(engine->PollCtrl_st(handler), 2u);
  EXPECT_EQ(served, std::vector<uint64_t>({2}));
  // Expect: with 4 of the 10 messages taken, the close still waits.
  EXPECT_EQ(engine->PollTx_st(4, sink), 4u);
  EXPECT_EQ(engine->PollCtrl_st(handler), 0u);
  EXPECT_EQ(served, std::vector<uint64_t>({2}));
  // Expect: once all 10 are taken, the close is answered.
  EXPECT_EQ(engine->PollTx_st(64, sink), 6u);
  engine->PollCtrl_st(handler);
  EXPECT_EQ(served, std::vector<uint64_t>({2, 1}));
  engine->Flush_st();
  ferry_ctrl answer;
  ASSERT_TRUE(cq.TryPop(&answer));
  EXPECT_EQ(answer.id, 2u);
  ASSERT_TRUE(cq.TryPop(&answer));
  EXPECT_EQ(answer.id, 1u);
  EXPECT_FALSE(cq.TryPop(&answer));
  // Expect: a close with nothing queued before it is answered at once.
  close.id = 3;
  sq.Write(close);
  sq.Publish();
  EXPECT_EQ(engine->PollCtrl_st(handler), 1u);
  EXPECT_EQ(served, std::vector<uint64_t>({2, 1, 3}));
}

// The engine's held-buffer level follows kept sends and open receives and
// is 0 again once they all end (what a soak watches for leaks).
TEST_F(ChannelTest, HeldBuffersReturnToZero) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const uint32_t size = engine->segment().view().layout.sizes.buffer_size;
  uint32_t head = FERRY_BUFFER_NONE;
  auto keep = [&](const ferry_desc& desc, absl::Span<const MessagePiece>) {
    head = desc.head;
    return kTxKeep;
  };
  const std::vector<uint8_t> sent = Pattern(3 * size, 2);
  ASSERT_EQ(ferry_send(client, 1, sent.data(), sent.size()), 0);
  ASSERT_EQ(engine->PollTx_st(8, keep), 1u);
  EXPECT_EQ(engine->engine_held_buffers(), 3u);
  // Two receives of two buffers each: one abandoned after its first
  // buffer filled, one delivered.
  const uint64_t dropped = engine->BeginRx_st(2 * size);
  const uint64_t delivered = engine->BeginRx_st(2 * size);
  ASSERT_NE(dropped, 0u);
  ASSERT_NE(delivered, 0u);
  EXPECT_EQ(engine->engine_held_buffers(), 7u);
  engine->WriteRx_st(dropped, 0, absl::MakeConstSpan(sent.data(), size + 1));
  engine->WriteRx_st(delivered, 0, absl::MakeConstSpan(sent.data(), 2 * size));
  EXPECT_EQ(engine->engine_held_buffers(), 7u);
  EXPECT_EQ(engine->EndRx_st(dropped, false, 1, 0), 0u);
  EXPECT_EQ(engine->EndRx_st(delivered, true, 1, 0), 2 * size);
  EXPECT_EQ(engine->engine_held_buffers(), 3u);
  EXPECT_EQ(engine->ReleaseTx_st(head), 3u * size);
  EXPECT_EQ(engine->engine_held_buffers(), 0u);
}

// A message received piece by piece (the transport reassembling segments)
// that fits inline is gathered privately and delivered in its descriptor.
TEST_F(ChannelTest, ReassembledSmallMessagesAreDeliveredInline) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const uint64_t room = engine->RxRoomBytes_st();
  const std::vector<uint8_t> sent = Pattern(20, 4);
  const uint64_t dropped = engine->BeginRx_st(20);
  ASSERT_NE(dropped, 0u);
  EXPECT_EQ(engine->RxRoomBytes_st(), room);  // no buffer reserved
  engine->WriteRx_st(dropped, 0, absl::MakeConstSpan(sent.data(), 5));
  EXPECT_EQ(engine->EndRx_st(dropped, false, 1, 0), 0u);
  const uint64_t handle = engine->BeginRx_st(20);
  ASSERT_NE(handle, 0u);
  engine->WriteRx_st(handle, 0, absl::MakeConstSpan(sent.data(), 12));
  engine->WriteRx_st(handle, 12, absl::MakeConstSpan(sent.data() + 12, 8));
  EXPECT_EQ(engine->EndRx_st(handle, true, 6, 1234), 20u);
  engine->Flush_st();
  std::vector<uint8_t> received(64);
  ferry_recv_info info;
  ASSERT_EQ(ferry_recv(client, received.data(), received.size(), &info), 20);
  received.resize(20);
  EXPECT_EQ(received, sent);
  EXPECT_EQ(info.flow, 6u);
  EXPECT_EQ(info.cookie, 1234u);
  EXPECT_EQ(ferry_recv(client, received.data(), received.size(), &info),
            -EAGAIN);
  EXPECT_EQ(engine->rx_open(), 0u);
  EXPECT_EQ(engine->RxRoomBytes_st(), room);
}

// Zero-copy receive of an inline message lends one of the app's own
// buffers, and release gives it back to the app: twice as many receives as
// the app has buffers run dry of nothing.
TEST_F(ChannelTest, ZeroCopyReceiveOfInlineMessages) {
  ferry_channel* client;
  EngineChannel* engine = Attach(&client);
  ASSERT_NE(engine, nullptr);
  const uint32_t half = shm::ChannelSizes{}.buffer_count / 2;
  for (uint32_t i = 0; i < 2 * half; ++i) {
    const std::vector<uint8_t> sent = Pattern(1 + i % FERRY_INLINE_MAX, i);
    ASSERT_EQ(ferry_send(client, 2, sent.data(), sent.size()), 0);
    Pump(engine);
    iovec iov[1];
    ferry_recv_info info;
    ferry_zc_buf buf;
    ASSERT_EQ(ferry_zc_recv(client, iov, 1, &info, &buf), 1) << i;
    ASSERT_EQ(iov[0].iov_len, sent.size());
    const uint8_t* p = static_cast<const uint8_t*>(iov[0].iov_base);
    ASSERT_TRUE(std::equal(sent.begin(), sent.end(), p)) << i;
    EXPECT_EQ(info.length, sent.size());
    ferry_zc_release(client, &buf);
  }
  // An inline message with no iovec to describe it stays queued.
  uint8_t byte = 7;
  ASSERT_EQ(ferry_send(client, 2, &byte, 1), 0);
  Pump(engine);
  iovec iov[1];
  ferry_recv_info info;
  ferry_zc_buf buf;
  EXPECT_EQ(ferry_zc_recv(client, iov, 0, &info, &buf), -ENOSPC);
  EXPECT_EQ(ferry_recv(client, nullptr, 0, &info), 0);
  EXPECT_EQ(info.length, 1u);
  ExpectEachSideHoldsHalf(client, engine);
}

// Receives the next message, flushing the engine once if none was ready
// (a flush moves waiting deliveries onto the ring); `seq` gets the number
// in its first 4 bytes. Returns what ferry_recv returned.
ssize_t RecvNumbered(ferry_channel* client, EngineChannel* engine,
                     uint32_t* seq) {
  uint8_t out[128];
  ferry_recv_info info;
  ssize_t n = ferry_recv(client, out, sizeof(out), &info);
  if (n == -EAGAIN) {
    engine->Flush_st();
    n = ferry_recv(client, out, sizeof(out), &info);
  }
  if (n >= 4) std::memcpy(seq, out, sizeof(*seq));
  return n;
}

// A burst larger than the app's receive ring waits in the engine, in
// order, instead of being refused (which would cost each message a
// retransmission timeout); past the backlog's room it is refused.
TEST_F(ChannelTest, DeliveriesBeyondTheRingWaitInOrder) {
  ferry_channel_options options = {};
  options.buffer_count = 4096;  // 16 MiB: the backlog's room
  options.ring_capacity = 64;
  ferry_channel* client;
  EngineChannel* engine = Attach(&client, &options);
  ASSERT_NE(engine, nullptr);
  // Inline messages: no buffers, so only the ring and backlog bound them.
  std::vector<uint8_t> message(16);
  const uint32_t burst = 64 + 4096;
  for (uint32_t i = 0; i < burst; ++i) {
    std::memcpy(message.data(), &i, sizeof(i));
    MessagePiece piece{message.data(), static_cast<uint32_t>(message.size())};
    ASSERT_EQ(engine->Deliver_st(7, absl::MakeConstSpan(&piece, 1)),
              FERRY_STATUS_OK)
        << i;
    if (i % 1000 == 0) engine->Flush_st();
  }
  engine->Flush_st();
  // Expect: ring and backlog are full now, and say so.
  MessagePiece piece{message.data(), static_cast<uint32_t>(message.size())};
  EXPECT_EQ(engine->Deliver_st(7, absl::MakeConstSpan(&piece, 1)),
            FERRY_STATUS_NO_BUFFERS);
  EXPECT_EQ(engine->counters().rx_ring_full.Get(), 1u);
  EXPECT_EQ(engine->counters().rx_backlogged.Get(), burst - 64);
  EXPECT_EQ(engine->rx_backlog(), burst - 64);
  // Expect: every message, in order, as the app makes room (each flush
  // moves what fits onto the ring).
  for (uint32_t i = 0; i < burst; ++i) {
    uint32_t seq = 0;
    ASSERT_EQ(RecvNumbered(client, engine, &seq), 16) << i;
    ASSERT_EQ(seq, i);
  }
  EXPECT_EQ(engine->rx_backlog(), 0u);
  // Expect: the engine does not sleep while deliveries wait (the app
  // frees ring room without a kick), and may once they are all out.
  EXPECT_TRUE(engine->PrepareToSleep_st());
  engine->DoneSleeping_st();
}

// The backlog is a ring as long as the channel's buffer count: deliveries
// that wrap around its end still come out whole and in order.
TEST_F(ChannelTest, TheBacklogWrapsAroundInOrder) {
  ferry_channel_options options = {};
  options.buffer_count = 128;     // the backlog's room
  options.buffer_size = 1 << 17;  // 16 MiB in all, the least allowed
  options.ring_capacity = 64;
  ferry_channel* client;
  EngineChannel* engine = Attach(&client, &options);
  ASSERT_NE(engine, nullptr);
  std::vector<uint8_t> message(16);
  uint32_t delivered = 0;
  uint32_t received = 0;
  auto deliver = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; ++i, ++delivered) {
      std::memcpy(message.data(), &delivered, sizeof(delivered));
      MessagePiece piece{message.data(), static_cast<uint32_t>(message.size())};
      ASSERT_EQ(engine->Deliver_st(7, absl::MakeConstSpan(&piece, 1)),
                FERRY_STATUS_OK)
          << delivered;
    }
    engine->Flush_st();
  };
  auto receive = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; ++i, ++received) {
      uint32_t seq = 0;
      ASSERT_EQ(RecvNumbered(client, engine, &seq), 16) << received;
      ASSERT_EQ(seq, received);
    }
  };
  // The ring fills, then 120 wait. Taking 180 moves them all onto the
  // ring: the backlog's head is at 120 of 128. Of the next 80, 60 fill the
  // ring and 20 wait, in slots 120 to 127 and then 0 to 11.
  deliver(64 + 120);
  EXPECT_EQ(engine->rx_backlog(), 120u);
  receive(180);
  EXPECT_EQ(engine->rx_backlog(), 0u);
  deliver(80);
  EXPECT_EQ(engine->rx_backlog(), 20u);
  receive(delivered - received);
  EXPECT_EQ(engine->rx_backlog(), 0u);
  EXPECT_EQ(engine->counters().rx_backlogged.Get(), 120u + 20);
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

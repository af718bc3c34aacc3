// Fuzz target for the engine's side of a channel: the input is a program
// of steps, each either an application step on the shared segment (send a
// message the way the client library does, push raw descriptors, return
// buffers, post control requests, scribble arbitrary bytes anywhere in the
// segment) or an engine step as the transport drives it (take messages and
// keep, refuse or defer them; copy and release kept messages; reassemble
// and deliver messages; post events; serve and complete control requests;
// flush and sleep). Whatever the application writes, nothing may crash or
// read out of bounds; every message the engine accepts lies inside the
// buffer area and adds up to its length; a released message gives back
// the bytes it was kept with; and at the end nothing is left kept or open.
// libFuzzer entry point; engine_channel_fuzz_seeds.cc gives fuzz_driver
// seeds.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "client/abi/channel_layout.h"
#include "client/abi/ferry_channel_abi.h"
#include "client/abi/shm_ring.h"
#include "dataplane/base/fuzz_input.h"
#include "dataplane/channel/channel_segment.h"
#include "dataplane/channel/engine_channel.h"

namespace {

using ferry::channel::ChannelSegment;
using ferry::channel::EngineChannel;
using ferry::channel::kTxKeep;
using ferry::channel::kTxNotNow;
using ferry::channel::MessagePiece;
using ferry::channel::SegmentMemory;
using ferry::fuzz::FuzzInput;
namespace shm = ferry::shm;

// Two shapes: many small buffers (long chains, a large meta table) and a
// few large ones with tiny rings (wrap-around, full rings).
const shm::ChannelSizes kShapes[] = {
    {4096, 4096, 16, 16},
    {16, 1u << 20, 4, 2},
};

std::unique_ptr<ChannelSegment>& Segment(int shape) {
  static std::unique_ptr<ChannelSegment> segments[2];
  return segments[shape];
}

int Doorbell() {
  static const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd;
}

// Bytes the engine copies from (deliveries, receives): as long as the
// largest message.
const uint8_t* Source() {
  static const std::vector<uint8_t> bytes(FERRY_MAX_MESSAGE_SIZE + 64, 0xa5);
  return bytes.data();
}

struct Kept {
  uint32_t head;
  uint32_t length;
};

struct OpenReceive {
  uint64_t handle;
  uint32_t length;
  uint32_t written;
};

// The application's side of the rings, as the client library keeps it:
// private indices over the shared memory.
struct App {
  explicit App(const shm::ChannelView& view)
      : tx(shm::MakeProducer<ferry_desc>(view, FERRY_RING_TX, 0)),
        rx(shm::MakeConsumer<ferry_desc>(view, FERRY_RING_RX, 0)),
        free_buffers(shm::MakeConsumer<uint32_t>(view, FERRY_RING_APP_FREE, 0)),
        returns(shm::MakeProducer<uint32_t>(view, FERRY_RING_ENGINE_FREE, 0)),
        ctrl_sq(shm::MakeProducer<ferry_ctrl>(view, FERRY_RING_CTRL_SQ, 0)),
        ctrl_cq(shm::MakeConsumer<ferry_ctrl>(view, FERRY_RING_CTRL_CQ, 0)) {}
  shm::RingProducer<ferry_desc> tx;
  shm::RingConsumer<ferry_desc> rx;
  shm::RingConsumer<uint32_t> free_buffers;
  shm::RingProducer<uint32_t> returns;
  shm::RingProducer<ferry_ctrl> ctrl_sq;
  shm::RingConsumer<ferry_ctrl> ctrl_cq;
};

class Program {
 public:
  Program(FuzzInput& in, EngineChannel& channel, const shm::ChannelView& view)
      : in_(in), channel_(channel), view_(view), app_(view) {}

  void Run() {
    for (int steps = 0; steps < 512 && !in_.empty(); ++steps) Step();
    // The transport ends every flow: open receives end incomplete and
    // kept messages go back.
    for (const OpenReceive& r : open_) channel_.EndRx_st(r.handle, false, 0, 0);
    open_.clear();
    for (const Kept& k : kept_) Release(k);
    kept_.clear();
    FERRY_FUZZ_CHECK(channel_.tx_kept_buffers() == 0);
    FERRY_FUZZ_CHECK(channel_.tx_kept_inline() == 0);
    FERRY_FUZZ_CHECK(channel_.rx_open() == 0);
    FERRY_FUZZ_CHECK(channel_.engine_held_buffers() == 0);
    FERRY_FUZZ_CHECK(channel_.CollectFreeBuffers_st() <= buffer_count());
    channel_.Flush_st();
  }

 private:
  uint32_t buffer_count() const { return view_.layout.sizes.buffer_count; }
  uint32_t buffer_size() const { return view_.layout.sizes.buffer_size; }

  // A length from small to the largest message and a little past it.
  uint32_t Length() {
    switch (in_.Byte() % 4) {
      case 0:
        return in_.Byte() % (FERRY_INLINE_MAX + 2);
      case 1:
        return in_.U16();
      case 2:
        return in_.U16() * 97u;
      default:
        return in_.U32() % (FERRY_MAX_MESSAGE_SIZE + 8);
    }
  }

  // A buffer index: a real one, one just past the end, or anything.
  uint32_t Index() {
    switch (in_.Byte() % 4) {
      case 0:
        return FERRY_BUFFER_NONE;
      case 1:
        return in_.U32();
      default:
        return in_.U16() % (buffer_count() + 2);
    }
  }

  void Step() {
    const uint8_t op = in_.Byte();
    switch (op % 16) {
      case 0:
        AppSend();
        break;
      case 1:
        AppRawDescriptor();
        break;
      case 2:
      case 3:
        Scribble(op % 16 == 2 ? view_.layout.data_offset
                              : view_.layout.segment_size);
        break;
      case 4: {
        const uint32_t index = in_.U16() % buffer_count();
        ferry_buffer_meta meta = {Index(), in_.U32() % (buffer_size() + 2)};
        std::memcpy(&view_.meta()[index], &meta, sizeof(meta));
        break;
      }
      case 5:
        AppReceive();
        break;
      case 6:
        app_.returns.TryPush(Index());
        app_.returns.PublishQuiet();
        break;
      case 7: {
        ferry_ctrl request;
        in_.Bytes(&request, sizeof(request));
        request.op %= 6;
        if (app_.ctrl_sq.TryPush(request)) app_.ctrl_sq.Publish();
        break;
      }
      case 8:
        EnginePollTx(op >> 4);
        break;
      case 9:
        EngineCopyAndRelease();
        break;
      case 10:
      case 11:
        EngineReceive();
        break;
      case 12:
        EngineDeliver();
        break;
      case 13:
        channel_.PostEvent_st(FERRY_DESC_FLOW_CLOSED, in_.U64(), in_.U64(),
                              FERRY_STATUS_CLOSED);
        break;
      case 14:
        EngineCtrl();
        break;
      default:
        EngineHousekeeping();
        break;
    }
  }

  // As the client library sends: free buffers chained through meta (or
  // inline), lengths that may or may not add up.
  void AppSend() {
    ferry_desc desc = {};
    desc.type = FERRY_DESC_MESSAGE;
    desc.flow = in_.Byte();
    desc.cookie = in_.U64();
    const uint32_t buffers = in_.Byte() % 5;
    uint32_t previous = FERRY_BUFFER_NONE;
    uint64_t total = 0;
    desc.head = FERRY_BUFFER_NONE;
    for (uint32_t i = 0; i < buffers; ++i) {
      uint32_t buffer;
      if (!app_.free_buffers.TryPop(&buffer) || buffer >= buffer_count()) break;
      const uint32_t used = 1 + in_.U32() % buffer_size();
      view_.meta()[buffer] = ferry_buffer_meta{FERRY_BUFFER_NONE, used};
      if (previous == FERRY_BUFFER_NONE) {
        desc.head = buffer;
      } else {
        view_.meta()[previous].next = buffer;
      }
      previous = buffer;
      total += used;
    }
    desc.length = static_cast<uint32_t>(total);
    if (desc.head == FERRY_BUFFER_NONE) {
      desc.length = in_.Byte() % (FERRY_INLINE_MAX + 1);
      in_.Bytes(desc.inline_data, desc.length);
    }
    if (in_.Byte() % 8 == 0) desc.length = Length();  // a lie
    if (app_.tx.TryPush(desc)) app_.tx.Publish();
  }

  void AppRawDescriptor() {
    ferry_desc desc = {};
    desc.flow = in_.U64();
    desc.cookie = in_.U64();
    desc.head = Index();
    desc.length = Length();
    desc.type = in_.Byte() % 6;
    desc.status = in_.U16();
    in_.Bytes(desc.inline_data, FERRY_INLINE_MAX);
    if (app_.tx.TryPush(desc)) app_.tx.Publish();
  }

  // Arbitrary bytes at an arbitrary place below `limit`: ring indices,
  // slot sequence numbers, descriptors, meta entries, the header, data.
  void Scribble(uint64_t limit) {
    const uint64_t offset = in_.U32() % limit;
    const uint32_t n = static_cast<uint32_t>(
        std::min<uint64_t>(1 + in_.Byte() % 16, limit - offset));
    in_.Bytes(view_.base + offset, n);
  }

  // Takes what the engine delivered and gives the buffers back (walking
  // the chain as the client does, bounded), or keeps some.
  void AppReceive() {
    const uint32_t n = in_.Byte() % 8;
    for (uint32_t i = 0; i < n; ++i) {
      ferry_desc desc;
      if (!app_.rx.TryPop(&desc)) break;
      if (desc.type != FERRY_DESC_MESSAGE || in_.Byte() % 4 == 0) continue;
      uint32_t buffer = desc.head;
      for (uint32_t hops = 0; buffer < buffer_count() && hops < buffer_count();
           ++hops) {
        const uint32_t next = view_.meta()[buffer].next;
        app_.returns.TryPush(buffer);
        buffer = next;
      }
    }
    app_.returns.PublishQuiet();
    ferry_ctrl completion;
    while (app_.ctrl_cq.TryPop(&completion)) {
    }
  }

  void EnginePollTx(uint8_t style) {
    const uint32_t max = 1 + in_.Byte() % 40;
    const uint8_t* data_begin = view_.base + view_.layout.data_offset;
    const uint8_t* data_end = view_.base + view_.layout.segment_size;
    channel_.PollTx_st(max, [&](const ferry_desc& desc,
                                absl::Span<const MessagePiece> pieces) {
      uint64_t total = 0;
      const bool is_inline = desc.head >= buffer_count();
      for (const MessagePiece& piece : pieces) {
        total += piece.length;
        if (is_inline) {
          FERRY_FUZZ_CHECK(piece.length <= FERRY_INLINE_MAX);
        } else {
          FERRY_FUZZ_CHECK(piece.data >= data_begin);
          FERRY_FUZZ_CHECK(piece.data + piece.length <= data_end);
          FERRY_FUZZ_CHECK(piece.length <= buffer_size());
        }
      }
      FERRY_FUZZ_CHECK(total == desc.length);
      FERRY_FUZZ_CHECK(desc.length <= FERRY_MAX_MESSAGE_SIZE);
      // Touch every byte, as the transport's copy to the wire would.
      uint8_t sum = 0;
      for (const MessagePiece& piece : pieces) {
        for (uint32_t i = 0; i < piece.length; i += 61) sum += piece.data[i];
      }
      sink_ += sum;
      switch ((style + in_.Byte()) % 5) {
        case 0:
          return static_cast<int>(FERRY_STATUS_OK);
        case 1:
        case 2:
          kept_.push_back(Kept{desc.head, desc.length});
          return kTxKeep;
        case 3:
          return kTxNotNow;
        default:
          return static_cast<int>(FERRY_STATUS_UNKNOWN_FLOW);
      }
    });
  }

  void Release(const Kept& k) {
    FERRY_FUZZ_CHECK(channel_.ReleaseTx_st(k.head) == k.length);
  }

  void EngineCopyAndRelease() {
    if (kept_.empty()) return;
    const size_t i = in_.U16() % kept_.size();
    const Kept k = kept_[i];
    // Copies in order, in pieces, as segments go out and come back.
    std::vector<uint8_t> out(4096);
    for (uint32_t offset = 0, rounds = in_.Byte() % 4;
         rounds > 0 && offset < k.length; --rounds) {
      const uint32_t n =
          std::min<uint32_t>(1 + in_.U16() % 4096, k.length - offset);
      channel_.CopyTx_st(k.head, offset, out.data(), n);
      offset += n;
    }
    if (in_.Byte() % 2 == 0) {
      Release(k);
      kept_.erase(kept_.begin() + static_cast<ptrdiff_t>(i));
    }
  }

  // A flow reassembling: begin, write in order in chunks, end.
  void EngineReceive() {
    const uint8_t what = in_.Byte() % 4;
    if (what == 0 || open_.empty()) {
      const uint32_t length = Length();
      const uint64_t handle = channel_.BeginRx_st(length);
      if (handle != 0) open_.push_back(OpenReceive{handle, length, 0});
      return;
    }
    const size_t i = in_.Byte() % open_.size();
    OpenReceive& r = open_[i];
    if (what == 1) {  // given up (the flow was reset)
      FERRY_FUZZ_CHECK(channel_.EndRx_st(r.handle, false, 0, 0) == 0);
      open_.erase(open_.begin() + static_cast<ptrdiff_t>(i));
      return;
    }
    uint32_t chunk = r.length - r.written;
    if (what == 2) chunk = std::min<uint32_t>(chunk, 1 + in_.U16() % 9000);
    channel_.WriteRx_st(r.handle, r.written,
                        absl::MakeConstSpan(Source(), chunk));
    r.written += chunk;
    if (r.written == r.length) {
      FERRY_FUZZ_CHECK(
          channel_.EndRx_st(r.handle, true, in_.Byte(), in_.U64()) == r.length);
      open_.erase(open_.begin() + static_cast<ptrdiff_t>(i));
    }
  }

  void EngineDeliver() {
    MessagePiece pieces[3];
    const uint32_t n = in_.Byte() % 4;
    for (uint32_t i = 0; i < n; ++i) {
      pieces[i] = MessagePiece{Source(), Length()};
    }
    const ferry_status status =
        channel_.Deliver_st(in_.Byte(), absl::MakeConstSpan(pieces, n));
    FERRY_FUZZ_CHECK(status == FERRY_STATUS_OK ||
                     status == FERRY_STATUS_NO_BUFFERS ||
                     status == FERRY_STATUS_BAD_LENGTH);
  }

  // Some requests are answered at once, some later (CONNECT).
  void EngineCtrl() {
    channel_.PollCtrl_st([&](const ferry_ctrl& request, ferry_ctrl* reply) {
      if (in_.Byte() % 3 == 0) {
        deferred_.push_back(request);
        return false;
      }
      reply->status = FERRY_STATUS_BAD_REQUEST;
      return true;
    });
    if (!deferred_.empty() && in_.Byte() % 2 == 0) {
      ferry_ctrl reply = deferred_.back();
      reply.status = FERRY_STATUS_TIMED_OUT;
      channel_.CompleteCtrl_st(reply);
      deferred_.pop_back();
    }
  }

  void EngineHousekeeping() {
    channel_.Flush_st();
    if (channel_.PrepareToSleep_st()) channel_.DoneSleeping_st();
    const uint64_t room = channel_.RxRoomBytes_st();
    FERRY_FUZZ_CHECK(room <= uint64_t{buffer_count()} * buffer_size());
    FERRY_FUZZ_CHECK(channel_.TxQueued() <=
                     view_.layout.sizes.message_ring_capacity);
    FERRY_FUZZ_CHECK(channel_.RxQueued() <=
                     view_.layout.sizes.message_ring_capacity);
    (void)channel_.TxEmpty_st();
  }

  FuzzInput& in_;
  EngineChannel& channel_;
  const shm::ChannelView& view_;
  App app_;
  std::vector<Kept> kept_;
  std::vector<OpenReceive> open_;
  std::vector<ferry_ctrl> deferred_;
  uint8_t sink_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const int shape = in.Byte() % 2;
  std::unique_ptr<ChannelSegment>& segment = Segment(shape);
  if (segment == nullptr) {
    auto created = ChannelSegment::Create(kShapes[shape], 1 + shape,
                                          SegmentMemory::kOrdinaryPages);
    FERRY_FUZZ_CHECK(created.ok());
    segment = std::move(*created);
  }
  // A fresh channel over the segment: everything below the buffers zeroed
  // and a new header, as ChannelSegment::Create leaves it.
  const shm::ChannelView view = segment->view();
  std::memset(view.base, 0, view.layout.data_offset);
  shm::WriteChannelHeader(view.layout, 1 + shape, view.header());
  auto channel = EngineChannel::Create(std::move(segment), Doorbell());
  FERRY_FUZZ_CHECK(channel.ok());
  Program(in, **channel, view).Run();
  segment = EngineChannel::ReleaseSegmentForTest(std::move(*channel));
  return 0;
}

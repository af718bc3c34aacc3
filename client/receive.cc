// The client library, receiving: copies out of the channel's buffers, zero-copy
// receives, and how an empty poll spins or yields.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/channel_state.h"

namespace {

// Gives a received chain's buffers back to the engine. The chain was
// written by ferryd, but a bad index must not crash the application either.
void ReturnChain(ferry_channel* ch, uint32_t head) {
  ferry::shm::WalkChain(ch->view, head,
                        [&](uint32_t index, const ferry_buffer_meta&) {
                          ch->engine_free.Write(index);
                          return true;
                        });
  ch->engine_free.PublishQuiet();
}

}  // namespace

namespace ferry::client {

void FillInfo(const ferry_desc& desc, ferry_recv_info* info) {
  if (info == nullptr) return;
  info->flow = desc.flow;
  info->cookie = desc.cookie;
  info->length = desc.length;
  info->status = desc.status;
  switch (desc.type) {
    case FERRY_DESC_SEND_ERROR:
      info->flags = FERRY_RECV_SEND_ERROR;
      break;
    case FERRY_DESC_FLOW_ACCEPTED:
      info->flags = FERRY_RECV_FLOW_ACCEPTED;
      break;
    case FERRY_DESC_FLOW_CLOSED:
      info->flags = FERRY_RECV_FLOW_CLOSED;
      break;
    default:
      info->flags = 0;
      break;
  }
}

}  // namespace ferry::client

namespace {

using ferry::client::CallGuard;
using ferry::client::FillInfo;
using ferry::client::NothingReceived;
using ferry::client::SomethingReceived;
using ferry::client::TakeBuffers;
using ferry::client::WaitFor;

// Copies `length` contiguous bytes into the iovecs; returns how many fit.
size_t ScatterInto(const uint8_t* data, size_t length, const struct iovec* iov,
                   int iovcnt) {
  size_t copied = 0;
  for (int slot = 0; slot < iovcnt && copied < length; ++slot) {
    const size_t n = std::min(iov[slot].iov_len, length - copied);
    if (n == 0) continue;
    std::memcpy(iov[slot].iov_base, data + copied, n);
    copied += n;
  }
  return copied;
}

ssize_t RecvInto(ferry_channel* ch, const struct iovec* iov, int iovcnt,
                 ferry_recv_info* info) {
  if (ch->rx.Available(1) == 0) return -EAGAIN;
  const ferry_desc desc = ch->rx.Peek(0);
  FillInfo(desc, info);
  if (desc.type != FERRY_DESC_MESSAGE) {
    ch->rx.Consume(1);
    return 0;
  }
  const bool is_inline = desc.head == FERRY_BUFFER_NONE;
  if (is_inline ||
      (desc.length <= ch->buffer_size && desc.head < ch->buffer_count)) {
    // Inline, or one buffer read without its meta entry (see the ABI).
    // ferryd never writes more than FERRY_INLINE_MAX bytes inline, but the
    // length is bounded anyway.
    const size_t copied =
        is_inline
            ? ScatterInto(desc.inline_data,
                          std::min(desc.length, FERRY_INLINE_MAX), iov, iovcnt)
            : ScatterInto(ch->view.buffer(desc.head), desc.length, iov, iovcnt);
    if (copied < desc.length && info != nullptr) {
      info->flags |= FERRY_RECV_TRUNCATED;
    }
    if (!is_inline) {
      ch->engine_free.Write(desc.head);
      ch->engine_free.PublishQuiet();
    }
    ch->rx.Consume(1);
    return static_cast<ssize_t>(copied);
  }
  size_t copied = 0;
  int slot = 0;
  size_t slot_offset = 0;
  ferry::shm::WalkChain(
      ch->view, desc.head, [&](uint32_t index, const ferry_buffer_meta& m) {
        const uint8_t* data = ch->view.buffer(index);
        const uint32_t length = std::min(m.length, ch->buffer_size);
        uint32_t offset = 0;
        while (offset < length && slot < iovcnt) {
          const size_t n = std::min(size_t{length - offset},
                                    iov[slot].iov_len - slot_offset);
          std::memcpy(static_cast<uint8_t*>(iov[slot].iov_base) + slot_offset,
                      data + offset, n);
          offset += static_cast<uint32_t>(n);
          slot_offset += n;
          copied += n;
          if (slot_offset == iov[slot].iov_len) {
            ++slot;
            slot_offset = 0;
          }
        }
        return true;
      });
  if (copied < desc.length && info != nullptr) {
    info->flags |= FERRY_RECV_TRUNCATED;
  }
  ReturnChain(ch, desc.head);
  ch->rx.Consume(1);
  return static_cast<ssize_t>(copied);
}

}  // namespace

namespace ferry::client {

// How long a run of empty non-blocking receives spins before one yields
// the CPU: learned per channel between these bounds (see NothingReceived).
// The clock is read every kPollsPerClockRead polls (a poll takes a few
// nanoseconds, a clock read tens).
constexpr uint64_t kSpinMinNs = 1000;
constexpr uint64_t kSpinMaxNs = 4000;
constexpr uint32_t kPollsPerClockRead = 16;
// A yield that took this much longer than the quickest one ran another
// thread: the core is shared.
constexpr uint64_t kYieldSwitchNs = 2000;

// A non-blocking receive found nothing. Applications poll in a tight loop
// and never yield (Machnet's examples and benchmarks do): on a core shared
// with the ferryd engine that would deliver the next message, under a
// kernel without preemption (this machine: PREEMPT_NONE, HZ=250), such a
// loop keeps the engine off the CPU until the scheduler tick, and a round
// trip takes milliseconds. So after a short spin the library yields, and
// learns from how long the yield took:
//  - another thread ran (the core is shared): from then on every empty
//    poll yields, after the shortest spin, so the engine runs at once;
//  - nobody else wanted the CPU (a dedicated core): the next spin lasts
//    twice as long, up to kSpinMaxNs. A system call costs a microsecond or
//    more here, longer than a whole app -> engine -> app round trip on
//    dedicated cores, so yielding early there would only slow it down;
//    the bound keeps what a wrong guess costs a shared core small.
ssize_t NothingReceived(ferry_channel* ch) {
  const uint32_t polls = ++ch->empty_polls;
  if (!ch->yielding) {
    // A short wait reads no clock at all: the spin is timed from its
    // kPollsPerClockRead-th poll.
    if (polls % kPollsPerClockRead != 0) return -EAGAIN;
    const uint64_t now = NowNs();
    if (polls == kPollsPerClockRead) ch->empty_since_ns = now;
    if (now - ch->empty_since_ns < ch->spin_ns) return -EAGAIN;
  }
  const uint64_t before = NowNs();
  sched_yield();
  const uint64_t took = NowNs() - before;
  ch->quickest_yield_ns = std::min(ch->quickest_yield_ns, took);
  if (took > 2 * ch->quickest_yield_ns + kYieldSwitchNs) {
    ch->spin_ns = kSpinMinNs;
    ch->yielding = true;  // until a message arrives
  } else {
    ch->spin_ns = std::min(ch->spin_ns * 2, kSpinMaxNs);
    ch->yielding = false;
    ch->empty_polls = 0;  // spin again before the next yield
  }
  return -EAGAIN;
}

// A non-blocking receive found something: the next empty run spins first.
void SomethingReceived(ferry_channel* ch) {
  ch->empty_polls = 0;
  ch->yielding = false;
}

}  // namespace ferry::client

extern "C" {

ssize_t ferry_recv(ferry_channel* channel, void* buffer, size_t capacity,
                   ferry_recv_info* info) {
  iovec iov = {buffer, capacity};
  return ferry_recvmsg(channel, &iov, 1, info);
}

ssize_t ferry_recvmsg(ferry_channel* channel, const struct iovec* iov,
                      int iovcnt, ferry_recv_info* info) {
  if (channel == nullptr || iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) {
    return -EINVAL;
  }
  CallGuard guard(channel);
  const ssize_t n = RecvInto(channel, iov, iovcnt, info);
  if (n == -EAGAIN) return NothingReceived(channel);
  SomethingReceived(channel);
  return n;
}

ssize_t ferry_recv_wait(ferry_channel* channel, void* buffer, size_t capacity,
                        ferry_recv_info* info, int timeout_ms) {
  if (channel == nullptr) return -EINVAL;
  {
    CallGuard guard(channel);
    const int rc = WaitFor(
        channel, channel->rx, [&] { return channel->rx.Available(1) > 0; },
        timeout_ms);
    if (rc != 0) return rc;
  }
  return ferry_recv(channel, buffer, capacity, info);
}

int ferry_zc_recv(ferry_channel* channel, struct iovec* iov, int max_iov,
                  ferry_recv_info* info, ferry_zc_buf* buf) {
  if (channel == nullptr || buf == nullptr || max_iov < 0) return -EINVAL;
  CallGuard guard(channel);
  if (channel->rx.Available(1) == 0) {
    return static_cast<int>(NothingReceived(channel));
  }
  SomethingReceived(channel);
  const ferry_desc desc = channel->rx.Peek(0);
  if (desc.type != FERRY_DESC_MESSAGE) {
    FillInfo(desc, info);
    channel->rx.Consume(1);
    buf->head = FERRY_BUFFER_NONE;
    buf->length = 0;
    buf->segments = 0;
    buf->flags = 0;
    return 0;
  }
  if (desc.head == FERRY_BUFFER_NONE) {
    // Inline: the ring slot is reused once consumed, so the bytes move to
    // one of the app's own free buffers, which release gives back to the
    // app's pool (not to ferryd).
    const uint32_t length = std::min(desc.length, FERRY_INLINE_MAX);
    buf->head = FERRY_BUFFER_NONE;
    buf->length = length;
    buf->segments = 0;
    buf->flags = 0;
    if (length > 0) {
      if (max_iov < 1) return -ENOSPC;
      if (!TakeBuffers(channel, 1)) return -EAGAIN;
      const uint32_t index = channel->spare.back();
      channel->spare.pop_back();
      std::memcpy(channel->view.buffer(index), desc.inline_data, length);
      iov[0].iov_base = channel->view.buffer(index);
      iov[0].iov_len = length;
      buf->head = index;
      buf->segments = 1;
      buf->flags = FERRY_ZC_APP_BUFFER;
    }
    FillInfo(desc, info);
    channel->rx.Consume(1);
    return static_cast<int>(buf->segments);
  }
  int n = 0;
  bool room = true;
  ferry::shm::WalkChain(channel->view, desc.head,
                        [&](uint32_t index, const ferry_buffer_meta& m) {
                          if (n == max_iov) return room = false;
                          iov[n].iov_base = channel->view.buffer(index);
                          iov[n].iov_len =
                              std::min(m.length, channel->buffer_size);
                          ++n;
                          return true;
                        });
  if (!room) return -ENOSPC;
  FillInfo(desc, info);
  buf->head = desc.head;
  buf->length = desc.length;
  buf->segments = static_cast<uint32_t>(n);
  buf->flags = 0;
  channel->rx.Consume(1);
  return n;
}

void ferry_zc_release(ferry_channel* channel, const ferry_zc_buf* buf) {
  if (channel == nullptr || buf == nullptr || buf->segments == 0) return;
  CallGuard guard(channel);
  if (buf->flags & FERRY_ZC_APP_BUFFER) {
    if (buf->head < channel->buffer_count) channel->spare.push_back(buf->head);
    return;
  }
  ReturnChain(channel, buf->head);
}

}  // extern "C"

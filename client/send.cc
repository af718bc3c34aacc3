// The client library, sending: copies into the channel's buffers (or inline
// into the descriptor), zero-copy buffers, and batches.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/channel_state.h"

namespace ferry::client {

// Makes sure `n` free buffers are in ch->spare. Buffers the engine gave
// back are taken onto the top of the stack: the next message goes into a
// buffer used recently, still in cache, instead of cycling through the
// whole pool. Looking for them costs a cache miss on app_free's tail,
// which the engine rewrites all the time under load, so while the stack
// has enough the library looks only every kRefillEvery calls: 64 B
// messages one way went from 11.2-11.8M to 13.9-14.2M/s (channel_bench,
// same runs), while the buffers in use stay a few dozen (never looking
// until the stack ran out made 1 KiB round trips slower: every buffer of
// the pool came round cold).
constexpr uint32_t kRefillEvery = 16;
bool TakeBuffers(ferry_channel* ch, uint32_t n) {
  if (ch->spare.size() >= n && ++ch->refill_tick % kRefillEvery != 0) {
    return true;
  }
  const uint32_t ready = ch->app_free.Available();
  for (uint32_t i = 0; i < ready; ++i) {
    const uint32_t index = ch->app_free.Peek(i);
    if (index < ch->buffer_count) ch->spare.push_back(index);
  }
  if (ready > 0) ch->app_free.Consume(ready);
  return ch->spare.size() >= n;
}

}  // namespace ferry::client

namespace {

using ferry::client::CallGuard;
using ferry::client::Kick;
using ferry::client::TakeBuffers;

size_t IovLength(const struct iovec* iov, int iovcnt) {
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  return total;
}

uint32_t BuffersFor(const ferry_channel* ch, size_t length) {
  return static_cast<uint32_t>((length + ch->buffer_size - 1) /
                               ch->buffer_size);
}

// Copies the iovecs into fresh buffers (TakeBuffers must have succeeded)
// and returns the chain's head.
uint32_t FillChain(ferry_channel* ch, const struct iovec* iov, int iovcnt,
                   size_t length) {
  ferry_buffer_meta* meta = ch->view.meta();
  uint32_t head = FERRY_BUFFER_NONE;
  uint32_t previous = FERRY_BUFFER_NONE;
  uint32_t buffer = FERRY_BUFFER_NONE;
  uint32_t used = ch->buffer_size;
  for (int i = 0; i < iovcnt; ++i) {
    const uint8_t* data = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t offset = 0;
    while (offset < iov[i].iov_len) {
      if (used == ch->buffer_size) {
        buffer = ch->spare.back();
        ch->spare.pop_back();
        if (previous == FERRY_BUFFER_NONE) {
          head = buffer;
        } else {
          meta[previous].length = ch->buffer_size;
          meta[previous].next = buffer;
        }
        previous = buffer;
        used = 0;
      }
      const size_t n =
          std::min(iov[i].iov_len - offset, size_t{ch->buffer_size - used});
      std::memcpy(ch->view.buffer(buffer) + used, data + offset, n);
      used += static_cast<uint32_t>(n);
      offset += n;
    }
  }
  if (previous != FERRY_BUFFER_NONE) {
    meta[previous].length = used;
    meta[previous].next = FERRY_BUFFER_NONE;
  }
  (void)length;
  return head;
}

void QueueMessage(ferry_channel* ch, uint64_t flow, uint64_t cookie,
                  uint32_t head, uint32_t length) {
  // In place: the engine reads no inline bytes of a buffered message.
  ch->tx.WriteInPlace([&](ferry_desc* desc) {
    desc->flow = flow;
    desc->cookie = cookie;
    desc->head = head;
    desc->length = length;
    desc->type = FERRY_DESC_MESSAGE;
    desc->status = 0;
  });
}

void PublishTx(ferry_channel* ch) {
  if (ch->tx.Publish()) Kick(ch->engine_fd);
}

// Whether the engine has blocked `flow` (its queue there is full).
bool FlowBlocked(const ferry_channel* ch, uint64_t flow) {
  const uint32_t slot = FERRY_FLOW_SLOT(flow);
  const uint64_t word =
      __atomic_load_n(&ch->view.blocked_flows()[slot / 64], __ATOMIC_RELAXED);
  return (word >> (slot % 64)) & 1;
}

// Queues one message; the caller publishes.
int QueueCopy(ferry_channel* ch, uint64_t flow, const struct iovec* iov,
              int iovcnt, uint64_t cookie) {
  if (iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) return -EINVAL;
  const size_t length = IovLength(iov, iovcnt);
  if (length > FERRY_MAX_MESSAGE_SIZE) return -EMSGSIZE;
  if (!ch->tx.HasRoom(1) || FlowBlocked(ch, flow)) return -EAGAIN;
  if (length <= FERRY_INLINE_MAX) {
    // Rides in the descriptor: no buffer, one cache line to the engine,
    // which reads only `length` of its inline bytes.
    ch->tx.WriteInPlace([&](ferry_desc* desc) {
      size_t used = 0;
      for (int i = 0; i < iovcnt; ++i) {
        if (iov[i].iov_len == 0) continue;
        std::memcpy(desc->inline_data + used, iov[i].iov_base, iov[i].iov_len);
        used += iov[i].iov_len;
      }
      desc->flow = flow;
      desc->cookie = cookie;
      desc->head = FERRY_BUFFER_NONE;
      desc->length = static_cast<uint32_t>(length);
      desc->type = FERRY_DESC_MESSAGE;
      desc->status = 0;
    });
    return 0;
  }
  if (!TakeBuffers(ch, BuffersFor(ch, length))) return -EAGAIN;
  const uint32_t head = FillChain(ch, iov, iovcnt, length);
  QueueMessage(ch, flow, cookie, head, static_cast<uint32_t>(length));
  return 0;
}
}  // namespace

extern "C" {

int ferry_send(ferry_channel* channel, uint64_t flow, const void* data,
               size_t length) {
  iovec iov = {const_cast<void*>(data), length};
  return ferry_sendmsg(channel, flow, &iov, 1, 0);
}

int ferry_sendmsg(ferry_channel* channel, uint64_t flow,
                  const struct iovec* iov, int iovcnt, uint64_t cookie) {
  if (channel == nullptr) return -EINVAL;
  CallGuard guard(channel);
  const int rc = QueueCopy(channel, flow, iov, iovcnt, cookie);
  if (rc == 0) PublishTx(channel);
  return rc;
}

int ferry_sendmmsg(ferry_channel* channel, const ferry_msghdr* messages,
                   int count) {
  if (channel == nullptr || count < 0 || (count > 0 && messages == nullptr)) {
    return -EINVAL;
  }
  CallGuard guard(channel);
  int sent = 0;
  int rc = 0;
  for (; sent < count; ++sent) {
    rc = QueueCopy(channel, messages[sent].flow, messages[sent].iov,
                   messages[sent].iovcnt, messages[sent].cookie);
    if (rc != 0) break;
  }
  if (sent > 0) PublishTx(channel);
  return sent > 0 ? sent : rc;
}

int ferry_flow_blocked(const ferry_channel* channel, uint64_t flow) {
  if (channel == nullptr) return -EINVAL;
  return FlowBlocked(channel, flow) ? 1 : 0;
}

int ferry_zc_alloc(ferry_channel* channel, size_t length, struct iovec* iov,
                   int max_iov, ferry_zc_buf* buf) {
  if (channel == nullptr || buf == nullptr || max_iov < 0) return -EINVAL;
  CallGuard guard(channel);
  if (length > FERRY_MAX_MESSAGE_SIZE) return -EMSGSIZE;
  const uint32_t n = BuffersFor(channel, length);
  if (n > static_cast<uint32_t>(max_iov)) return -ENOSPC;
  if (!TakeBuffers(channel, n)) return -EAGAIN;
  ferry_buffer_meta* meta = channel->view.meta();
  uint32_t previous = FERRY_BUFFER_NONE;
  size_t left = length;
  buf->head = FERRY_BUFFER_NONE;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t index = channel->spare.back();
    channel->spare.pop_back();
    const uint32_t used =
        static_cast<uint32_t>(std::min(left, size_t{channel->buffer_size}));
    meta[index].length = used;
    meta[index].next = FERRY_BUFFER_NONE;
    if (previous == FERRY_BUFFER_NONE) {
      buf->head = index;
    } else {
      meta[previous].next = index;
    }
    previous = index;
    iov[i].iov_base = channel->view.buffer(index);
    iov[i].iov_len = used;
    left -= used;
  }
  buf->length = static_cast<uint32_t>(length);
  buf->segments = n;
  buf->flags = 0;
  return static_cast<int>(n);
}

int ferry_zc_send(ferry_channel* channel, uint64_t flow,
                  const ferry_zc_buf* buf, uint64_t cookie) {
  if (channel == nullptr || buf == nullptr) return -EINVAL;
  CallGuard guard(channel);
  if (!channel->tx.HasRoom(1) || FlowBlocked(channel, flow)) return -EAGAIN;
  QueueMessage(channel, flow, cookie, buf->head, buf->length);
  PublishTx(channel);
  return 0;
}

void ferry_zc_discard(ferry_channel* channel, const ferry_zc_buf* buf) {
  if (channel == nullptr || buf == nullptr) return;
  CallGuard guard(channel);
  const ferry_buffer_meta* meta = channel->view.meta();
  uint32_t index = buf->head;
  for (uint32_t i = 0; i < buf->segments && index < channel->buffer_count;
       ++i) {
    channel->spare.push_back(index);
    index = meta[index].next;
  }
}

}  // extern "C"

// The client library: ferry.h's C API over one mapped channel segment.
#include "client/ferry.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "client/channel_layout.h"
#include "client/fd_passing.h"
#include "client/ferry_attach_abi.h"
#include "client/session_client.h"
#include "client/shm_ring.h"

using ferry::shm::ChannelView;
using ferry::shm::RingConsumer;
using ferry::shm::RingProducer;

// A session and the channels attached through it (ferry_session_close
// refuses while any is left).
struct ferry_session {
  std::unique_ptr<ferry::client::SessionClient> client;
  std::atomic<int> channels{0};
};

struct alignas(FERRY_CACHE_LINE) ferry_channel {
  int sock = -1;
  // The session this channel belongs to (null for a bare channel from
  // ferry_attach_channel_socket); `owned_session` when ferry_attach made
  // it for this channel alone.
  ferry_session* session = nullptr;
  ferry_session* owned_session = nullptr;
  int segment_fd = -1;
  int engine_fd = -1;
  int app_fd = -1;
  uint64_t id = 0;
  ChannelView view;
  uint32_t buffer_count = 0;
  uint32_t buffer_size = 0;
  RingProducer<ferry_desc> tx;
  RingConsumer<ferry_desc> rx;
  RingConsumer<uint32_t> app_free;
  RingProducer<uint32_t> engine_free;
  RingProducer<ferry_ctrl> ctrl_sq;
  RingConsumer<ferry_ctrl> ctrl_cq;
  std::vector<uint32_t> spare;  // free buffers taken from app_free
  uint32_t refill_tick = 0;     // see TakeBuffers
  uint64_t next_ctrl_id = 1;
  uint32_t local_ip = 0;      // the engine's address, from flow calls
  uint64_t wait_spin_ns = 0;  // see ferry_set_wait_spin_ns
  // The run of non-blocking receives that found nothing, and how long such
  // a run spins before it yields the CPU (see NothingReceived).
  uint32_t empty_polls = 0;
  bool yielding = false;
  uint64_t empty_since_ns = 0;
  uint64_t spin_ns = 1000;
  uint64_t quickest_yield_ns = UINT64_MAX;
  std::atomic<bool> in_call{false};
};

namespace {

// Debug builds catch two threads inside one channel at once.
class CallGuard {
 public:
  explicit CallGuard(ferry_channel* channel) {
#ifndef NDEBUG
    channel_ = channel;
    if (channel_->in_call.exchange(true, std::memory_order_acquire)) {
      std::fprintf(stderr,
                   "ferry: channel %llu used by two threads at once; a "
                   "channel belongs to one thread at a time (see ferry.h)\n",
                   static_cast<unsigned long long>(channel_->id));
      std::abort();
    }
#else
    (void)channel;
#endif
  }
  ~CallGuard() {
#ifndef NDEBUG
    channel_->in_call.store(false, std::memory_order_release);
#endif
  }

 private:
#ifndef NDEBUG
  ferry_channel* channel_;
#endif
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void Kick(int fd) {
  const uint64_t one = 1;
  ssize_t ignored = write(fd, &one, sizeof(one));
  (void)ignored;
}

void Drain(int fd) {
  uint64_t value;
  ssize_t ignored = read(fd, &value, sizeof(value));
  (void)ignored;
}

void CloseAll(ferry_channel* ch) {
  if (ch->view.base != nullptr) {
    munmap(ch->view.base, ch->view.layout.segment_size);
  }
  for (int fd : {ch->sock, ch->segment_fd, ch->engine_fd, ch->app_fd}) {
    if (fd >= 0) close(fd);
  }
}

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
  ferry_desc desc = {};
  desc.flow = flow;
  desc.cookie = cookie;
  desc.head = head;
  desc.length = length;
  desc.type = FERRY_DESC_MESSAGE;
  ch->tx.Write(desc);
}

void PublishTx(ferry_channel* ch) {
  if (ch->tx.Publish()) Kick(ch->engine_fd);
}

// Queues one message; the caller publishes.
int QueueCopy(ferry_channel* ch, uint64_t flow, const struct iovec* iov,
              int iovcnt, uint64_t cookie) {
  if (iovcnt < 0 || (iovcnt > 0 && iov == nullptr)) return -EINVAL;
  const size_t length = IovLength(iov, iovcnt);
  if (length > FERRY_MAX_MESSAGE_SIZE) return -EMSGSIZE;
  if (!ch->tx.HasRoom(1)) return -EAGAIN;
  if (length <= FERRY_INLINE_MAX) {
    // Rides in the descriptor: no buffer, one cache line to the engine.
    ferry_desc desc = {};
    size_t used = 0;
    for (int i = 0; i < iovcnt; ++i) {
      if (iov[i].iov_len == 0) continue;
      std::memcpy(desc.inline_data + used, iov[i].iov_base, iov[i].iov_len);
      used += iov[i].iov_len;
    }
    desc.flow = flow;
    desc.cookie = cookie;
    desc.head = FERRY_BUFFER_NONE;
    desc.length = static_cast<uint32_t>(length);
    desc.type = FERRY_DESC_MESSAGE;
    ch->tx.Write(desc);
    return 0;
  }
  if (!TakeBuffers(ch, BuffersFor(ch, length))) return -EAGAIN;
  const uint32_t head = FillChain(ch, iov, iovcnt, length);
  QueueMessage(ch, flow, cookie, head, static_cast<uint32_t>(length));
  return 0;
}

// Gives a received chain's buffers back to the engine. The chain was
// written by ferryd, but a bad index must not crash the application either.
void ReturnChain(ferry_channel* ch, uint32_t head) {
  const ferry_buffer_meta* meta = ch->view.meta();
  uint32_t index = head;
  for (uint32_t steps = 0; index < ch->buffer_count && steps < ch->buffer_count;
       ++steps) {
    const uint32_t next = meta[index].next;
    ch->engine_free.Write(index);
    index = next;
  }
  ch->engine_free.PublishQuiet();
}

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
  if (ch->rx.Available() == 0) return -EAGAIN;
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
  const ferry_buffer_meta* meta = ch->view.meta();
  size_t copied = 0;
  int slot = 0;
  size_t slot_offset = 0;
  uint32_t index = desc.head;
  for (uint32_t steps = 0; index < ch->buffer_count && steps < ch->buffer_count;
       ++steps) {
    const uint8_t* data = ch->view.buffer(index);
    const uint32_t length = std::min(meta[index].length, ch->buffer_size);
    uint32_t offset = 0;
    while (offset < length && slot < iovcnt) {
      const size_t n =
          std::min(size_t{length - offset}, iov[slot].iov_len - slot_offset);
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
    index = meta[index].next;
  }
  if (copied < desc.length && info != nullptr) {
    info->flags |= FERRY_RECV_TRUNCATED;
  }
  ReturnChain(ch, desc.head);
  ch->rx.Consume(1);
  return static_cast<ssize_t>(copied);
}

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

// Sleeps until `ready()` or the deadline (0: none). The consumer ring's
// doorbell flag makes the engine kick app_fd when it publishes.
template <typename Ring, typename Ready>
int WaitFor(ferry_channel* ch, Ring& ring, Ready ready, int timeout_ms) {
  const uint64_t start = NowNs();
  const uint64_t deadline =
      timeout_ms < 0 ? 0 : start + uint64_t(timeout_ms) * 1000000ull;
  while (!ready()) {
    const uint64_t now = NowNs();
    if (deadline != 0 && now >= deadline) return -ETIMEDOUT;
    if (now - start < ch->wait_spin_ns) {
      sched_yield();
      continue;
    }
    if (!ring.PrepareToSleep()) continue;
    pollfd pfd = {ch->app_fd, POLLIN, 0};
    const int wait_ms =
        deadline == 0 ? -1
                      : static_cast<int>((deadline - now + 999999) / 1000000);
    poll(&pfd, 1, wait_ms);
    ring.DoneSleeping();
    Drain(ch->app_fd);
  }
  return 0;
}

// How long blocking calls spin (yielding) before they sleep. A reply is
// often microseconds away and a sleep and wake-up costs tens of
// microseconds, so the default spins 50 us. With no spin, a lone round
// trip on a two-core machine went faster (the application no longer takes
// its engine's core: 1 KiB, window 1, P99.9 741 -> 208 us) but a pipelined
// load collapsed (window 32: 307k -> 38k RPC/s, every lull a sleep), so the
// choice is the application's: ferry_set_wait_spin_ns, or
// $FERRY_WAIT_SPIN_NS for a process.
uint64_t DefaultWaitSpinNs() {
  if (const char* env = std::getenv("FERRY_WAIT_SPIN_NS")) {
    return std::strtoull(env, nullptr, 10);
  }
  return 50000;
}

// Sends a control request and waits for its answer. Answers to requests
// whose caller gave up waiting are skipped.
int CtrlCall(ferry_channel* ch, ferry_ctrl request, int timeout_ms,
             ferry_ctrl* reply) {
  request.id = ch->next_ctrl_id++;
  if (!ch->ctrl_sq.TryPush(request)) return -EAGAIN;
  if (ch->ctrl_sq.Publish()) Kick(ch->engine_fd);
  bool got = false;
  return WaitFor(
      ch, ch->ctrl_cq,
      [&] {
        ferry_ctrl answer;
        while (!got && ch->ctrl_cq.TryPop(&answer)) {
          if (answer.id == request.id) {
            *reply = answer;
            got = true;
          }
        }
        return got;
      },
      timeout_ms);
}

int FlowCall(ferry_channel* ch, uint16_t op, const ferry_ctrl_flow_args& args,
             int timeout_ms, ferry_ctrl_flow_args* out) {
  if (ch->session != nullptr && op != FERRY_CTRL_CLOSE) {
    // The session's channels listen and connect through ferryd's API (its
    // quotas and checks apply); the engine does the same as for the ring.
    // A close stays on the ring, behind the messages already queued there.
    const int rc = ch->session->client->FlowCall(ch->id, op, args, timeout_ms,
                                                 out, nullptr);
    if (rc == 0 && out->local_ip != 0) ch->local_ip = out->local_ip;
    return rc;
  }
  ferry_ctrl request = {};
  request.op = op;
  std::memcpy(request.args, &args, sizeof(args));
  ferry_ctrl reply = {};
  const int rc = CtrlCall(ch, request, timeout_ms, &reply);
  if (rc != 0) return rc;
  std::memcpy(out, reply.args, sizeof(*out));
  if (out->local_ip != 0) ch->local_ip = out->local_ip;
  return ferry_status_errno(reply.status);
}

int ConnectSocket(const char* path) {
  sockaddr_un addr = {};
  socklen_t addr_len = 0;
  if (!ferry::shm::MakeUnixAddress(path, &addr, &addr_len)) {
    return -ENAMETOOLONG;
  }
  const int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -errno;
  if (connect(sock, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    const int err = errno;
    close(sock);
    return -err;
  }
  return sock;
}

// Connects to a channel socket and maps the channel it hands over; with a
// ticket (16 bytes) from the session's CreateChannel.
int AttachSocket(const char* socket_path, const uint8_t* ticket,
                 const ferry_channel_options* options, ferry_channel** channel);

}  // namespace

extern "C" {

int ferry_session_open(const char* socket_path, ferry_session** session) {
  return ferry_session_open_ex(socket_path, nullptr, session);
}

int ferry_session_open_ex(const char* socket_path,
                          const ferry_session_options* options,
                          ferry_session** session) {
  if (session == nullptr) return -EINVAL;
  *session = nullptr;
  uint32_t linger_ms = options != nullptr ? options->linger_ms : 0;
  if (linger_ms == 0) {
    // Programs written for another API (Machnet's) choose it from outside.
    if (const char* env = std::getenv("FERRY_LINGER_MS")) {
      linger_ms = static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
    }
  }
  auto s = std::make_unique<ferry_session>();
  const int rc = ferry::client::SessionClient::Open(
      socket_path != nullptr ? socket_path : FERRY_DEFAULT_SOCKET,
      program_invocation_short_name, &s->client, nullptr, linger_ms);
  if (rc != 0) return rc;
  *session = s.release();
  return 0;
}

int ferry_session_close(ferry_session* session) {
  if (session == nullptr) return 0;
  if (session->channels.load() != 0) return -EBUSY;
  delete session;
  return 0;
}

uint64_t ferry_session_id(const ferry_session* session) {
  return session->client->id();
}

int ferry_session_attach(ferry_session* session,
                         const ferry_channel_options* options,
                         ferry_channel** channel) {
  if (session == nullptr || channel == nullptr) return -EINVAL;
  *channel = nullptr;
  ferry::client::ChannelTicket ticket;
  const ferry_channel_options none = {};
  const ferry_channel_options& sizes = options != nullptr ? *options : none;
  if (const int rc = session->client->CreateChannel(
          &ticket, nullptr, sizes.buffer_count, sizes.buffer_size,
          sizes.ring_capacity);
      rc != 0) {
    return rc;
  }
  const int rc = AttachSocket(ticket.channel_socket.c_str(),
                              ticket.ticket.data(), options, channel);
  if (rc != 0) return rc;
  (*channel)->session = session;
  ++session->channels;
  return 0;
}

int ferry_attach(const char* socket_path, const ferry_channel_options* options,
                 ferry_channel** channel) {
  if (channel == nullptr) return -EINVAL;
  *channel = nullptr;
  ferry_session* session = nullptr;
  if (const int rc = ferry_session_open(socket_path, &session); rc != 0) {
    return rc;
  }
  if (const int rc = ferry_session_attach(session, options, channel); rc != 0) {
    ferry_session_close(session);
    return rc;
  }
  (*channel)->owned_session = session;
  return 0;
}

int ferry_attach_channel_socket(const char* socket_path,
                                const ferry_channel_options* options,
                                ferry_channel** channel) {
  if (socket_path == nullptr || channel == nullptr) return -EINVAL;
  *channel = nullptr;
  return AttachSocket(socket_path, nullptr, options, channel);
}

namespace {

void Detach(ferry_channel* channel, bool abort) {
  if (channel == nullptr) return;
  if (channel->session != nullptr) {
    // Best effort: ferryd also frees the channel (draining it) when its
    // socket closes.
    channel->session->client->DestroyChannel(channel->id, abort, nullptr);
    --channel->session->channels;
  }
  CloseAll(channel);
  ferry_session_close(channel->owned_session);
  delete channel;
}

}  // namespace

void ferry_detach(ferry_channel* channel) { Detach(channel, false); }

void ferry_detach_abort(ferry_channel* channel) { Detach(channel, true); }

}  // extern "C"

namespace {

int AttachSocket(const char* socket_path, const uint8_t* ticket,
                 const ferry_channel_options* options,
                 ferry_channel** channel) {
  const int sock = ConnectSocket(socket_path);
  if (sock < 0) return sock;
  auto* ch = new ferry_channel();
  ch->sock = sock;
  ferry_attach_request request = {};
  request.magic = FERRY_ATTACH_MAGIC;
  request.version = FERRY_CHANNEL_ABI_VERSION;
  if (ticket != nullptr) {
    std::memcpy(request.ticket, ticket, sizeof(request.ticket));
  }
  if (options != nullptr) {
    request.buffer_count = options->buffer_count;
    request.buffer_size = options->buffer_size;
    request.ring_capacity = options->ring_capacity;
  }
  ferry_attach_reply reply = {};
  int fds[FERRY_ATTACH_FD_COUNT];
  int fd_count = 0;
  int rc = ferry::shm::SendWithFds(sock, &request, sizeof(request), nullptr, 0);
  if (rc == 0) {
    rc = ferry::shm::ReceiveWithFds(sock, &reply, sizeof(reply), fds,
                                    FERRY_ATTACH_FD_COUNT, &fd_count);
  }
  if (rc == 0 && reply.magic != FERRY_ATTACH_MAGIC) rc = -EPROTO;
  if (rc == 0 && reply.error != 0) rc = -reply.error;
  if (rc == 0 && fd_count != FERRY_ATTACH_FD_COUNT) rc = -EPROTO;
  if (rc != 0) {
    for (int i = 0; i < fd_count; ++i) close(fds[i]);
    CloseAll(ch);
    delete ch;
    return rc;
  }
  ch->segment_fd = fds[0];
  ch->engine_fd = fds[1];
  ch->app_fd = fds[2];
  ch->id = reply.channel_id;
  struct stat st;
  void* base = MAP_FAILED;
  if (fstat(ch->segment_fd, &st) == 0 && st.st_size > 0) {
    base =
        mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_POPULATE, ch->segment_fd, 0);
  }
  std::string error;
  if (base == MAP_FAILED ||
      !ferry::shm::ValidateChannelHeader(
          *static_cast<const ferry_channel_header*>(base),
          static_cast<uint64_t>(st.st_size), &ch->view.layout, &error)) {
    if (base != MAP_FAILED) munmap(base, static_cast<size_t>(st.st_size));
    CloseAll(ch);
    delete ch;
    return -EPROTO;
  }
  ch->view.base = static_cast<uint8_t*>(base);
  // Unmap exactly what was mapped.
  ch->view.layout.segment_size = static_cast<uint64_t>(st.st_size);
  ch->buffer_count = ch->view.layout.sizes.buffer_count;
  ch->buffer_size = ch->view.layout.sizes.buffer_size;
  // The library trusts ferryd's segment: each side resumes where the
  // shared indices stand.
  const ChannelView& v = ch->view;
  auto tail = [&](int id) {
    return ferry::shm::LoadAcquire(&v.ring_indices(id)->tail);
  };
  auto head = [&](int id) {
    return ferry::shm::LoadAcquire(&v.ring_indices(id)->head);
  };
  using ferry::shm::MakeConsumer;
  using ferry::shm::MakeProducer;
  ch->tx = MakeProducer<ferry_desc>(v, FERRY_RING_TX, tail(FERRY_RING_TX));
  ch->rx = MakeConsumer<ferry_desc>(v, FERRY_RING_RX, head(FERRY_RING_RX));
  ch->app_free =
      MakeConsumer<uint32_t>(v, FERRY_RING_APP_FREE, head(FERRY_RING_APP_FREE));
  ch->engine_free = MakeProducer<uint32_t>(v, FERRY_RING_ENGINE_FREE,
                                           tail(FERRY_RING_ENGINE_FREE));
  ch->ctrl_sq =
      MakeProducer<ferry_ctrl>(v, FERRY_RING_CTRL_SQ, tail(FERRY_RING_CTRL_SQ));
  ch->ctrl_cq =
      MakeConsumer<ferry_ctrl>(v, FERRY_RING_CTRL_CQ, head(FERRY_RING_CTRL_CQ));
  ch->spare.reserve(ch->buffer_count);
  ch->wait_spin_ns = DefaultWaitSpinNs();
  *channel = ch;
  return 0;
}

}  // namespace

namespace ferry::client {
SessionClient* SessionOf(ferry_session* session) {
  return session->client.get();
}
}  // namespace ferry::client

extern "C" {

void ferry_set_wait_spin_ns(ferry_channel* channel, uint64_t ns) {
  if (channel != nullptr) channel->wait_spin_ns = ns;
}

uint64_t ferry_channel_id(const ferry_channel* channel) { return channel->id; }

int ferry_wait_fd(const ferry_channel* channel) { return channel->app_fd; }

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
        channel, channel->rx, [&] { return channel->rx.Available() > 0; },
        timeout_ms);
    if (rc != 0) return rc;
  }
  return ferry_recv(channel, buffer, capacity, info);
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
  if (!channel->tx.HasRoom(1)) return -EAGAIN;
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

int ferry_zc_recv(ferry_channel* channel, struct iovec* iov, int max_iov,
                  ferry_recv_info* info, ferry_zc_buf* buf) {
  if (channel == nullptr || buf == nullptr || max_iov < 0) return -EINVAL;
  CallGuard guard(channel);
  if (channel->rx.Available() == 0) {
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
  const ferry_buffer_meta* meta = channel->view.meta();
  int n = 0;
  uint32_t index = desc.head;
  for (uint32_t steps = 0;
       index < channel->buffer_count && steps < channel->buffer_count;
       ++steps) {
    if (n == max_iov) return -ENOSPC;
    iov[n].iov_base = channel->view.buffer(index);
    iov[n].iov_len = std::min(meta[index].length, channel->buffer_size);
    ++n;
    index = meta[index].next;
  }
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

int ferry_ping_engine(ferry_channel* channel, int timeout_ms) {
  if (channel == nullptr) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl request = {};
  request.op = FERRY_CTRL_NOOP;
  ferry_ctrl reply = {};
  const int rc = CtrlCall(channel, request, timeout_ms, &reply);
  if (rc != 0) return rc;
  return reply.status == FERRY_STATUS_OK ? 0 : -EPROTO;
}

int ferry_listen(ferry_channel* channel, uint16_t port, int timeout_ms) {
  if (channel == nullptr || port == 0) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.local_port = port;
  ferry_ctrl_flow_args out = {};
  return FlowCall(channel, FERRY_CTRL_LISTEN, args, timeout_ms, &out);
}

int ferry_unlisten(ferry_channel* channel, uint16_t port, int timeout_ms) {
  if (channel == nullptr || port == 0) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.local_port = port;
  ferry_ctrl_flow_args out = {};
  return FlowCall(channel, FERRY_CTRL_UNLISTEN, args, timeout_ms, &out);
}

int ferry_connect(ferry_channel* channel, uint32_t remote_ip,
                  uint16_t remote_port, uint16_t local_port, int timeout_ms,
                  uint64_t* flow) {
  return ferry_connect_ex(channel, remote_ip, remote_port, local_port,
                          timeout_ms, flow, nullptr);
}

int ferry_connect_ex(ferry_channel* channel, uint32_t remote_ip,
                     uint16_t remote_port, uint16_t local_port, int timeout_ms,
                     uint64_t* flow, ferry_flow_addr* addr) {
  if (channel == nullptr || flow == nullptr || remote_ip == 0 ||
      remote_port == 0) {
    return -EINVAL;
  }
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.remote_ip = remote_ip;
  args.remote_port = remote_port;
  args.local_port = local_port;
  ferry_ctrl_flow_args out = {};
  const int rc = FlowCall(channel, FERRY_CTRL_CONNECT, args, timeout_ms, &out);
  if (rc == 0) {
    *flow = out.flow;
    if (addr != nullptr) {
      addr->local_ip = out.local_ip;
      addr->remote_ip = out.remote_ip;
      addr->local_port = out.local_port;
      addr->remote_port = out.remote_port;
    }
  }
  return rc;
}

int ferry_close(ferry_channel* channel, uint64_t flow, int timeout_ms) {
  if (channel == nullptr) return -EINVAL;
  CallGuard guard(channel);
  ferry_ctrl_flow_args args = {};
  args.flow = flow;
  ferry_ctrl_flow_args out = {};
  return FlowCall(channel, FERRY_CTRL_CLOSE, args, timeout_ms, &out);
}

uint32_t ferry_local_ip(const ferry_channel* channel) {
  return channel == nullptr ? 0 : channel->local_ip;
}

const char* ferry_status_name(uint16_t status) {
  switch (status) {
    case FERRY_STATUS_OK:
      return "ok";
    case FERRY_STATUS_BAD_BUFFER_INDEX:
      return "bad buffer index";
    case FERRY_STATUS_BAD_LENGTH:
      return "bad length";
    case FERRY_STATUS_CHAIN_TOO_LONG:
      return "buffer chain too long or looping";
    case FERRY_STATUS_NO_BUFFERS:
      return "no free buffers";
    case FERRY_STATUS_UNKNOWN_FLOW:
      return "unknown flow";
    case FERRY_STATUS_BAD_REQUEST:
      return "bad request";
    case FERRY_STATUS_REFUSED:
      return "refused (nobody listens there)";
    case FERRY_STATUS_TIMED_OUT:
      return "timed out (no answer)";
    case FERRY_STATUS_RESET:
      return "reset by the peer";
    case FERRY_STATUS_PEER_DEAD:
      return "peer stopped answering";
    case FERRY_STATUS_PROTOCOL_ERROR:
      return "protocol error";
    case FERRY_STATUS_CLOSED:
      return "closed";
    case FERRY_STATUS_ADDRESS_IN_USE:
      return "address in use";
    case FERRY_STATUS_LIMIT:
      return "limit reached";
    case FERRY_STATUS_ABORTED:
      return "aborted by ferryd";
    case FERRY_STATUS_UNREACHABLE:
      return "unreachable (no ARP answer)";
  }
  return "unknown status";
}

int ferry_status_errno(uint16_t status) {
  switch (status) {
    case FERRY_STATUS_OK:
      return 0;
    case FERRY_STATUS_NO_BUFFERS:
      return -EAGAIN;
    case FERRY_STATUS_UNKNOWN_FLOW:
      return -ENOTCONN;
    case FERRY_STATUS_REFUSED:
      return -ECONNREFUSED;
    case FERRY_STATUS_TIMED_OUT:
    case FERRY_STATUS_PEER_DEAD:
      return -ETIMEDOUT;
    case FERRY_STATUS_RESET:
    case FERRY_STATUS_ABORTED:
    case FERRY_STATUS_PROTOCOL_ERROR:
      return -ECONNRESET;
    case FERRY_STATUS_CLOSED:
      return -EPIPE;
    case FERRY_STATUS_ADDRESS_IN_USE:
      return -EADDRINUSE;
    case FERRY_STATUS_LIMIT:
      return -EMFILE;
    case FERRY_STATUS_UNREACHABLE:
      return -EHOSTUNREACH;
    default:
      return -EINVAL;
  }
}

}  // extern "C"

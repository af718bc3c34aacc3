// Inside the client library: the state of a session and of a channel, and
// the helpers the library's files share (attach.cc, send.cc, receive.cc,
// control.cc, status.cc). Not installed; applications see only ferry.h.
//
// Threading: a channel belongs to one thread at a time (see ferry.h); debug
// builds check it with CallGuard on every call.
#ifndef FERRY_CLIENT_CHANNEL_STATE_H_
#define FERRY_CLIENT_CHANNEL_STATE_H_

#include <poll.h>
#include <sched.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "client/abi/channel_layout.h"
#include "client/abi/shm_ring.h"
#include "client/ferry.h"
#include "client/session_client.h"

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

namespace ferry::client {

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

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Wakes whoever sleeps on the eventfd.
inline void Kick(int fd) {
  const uint64_t one = 1;
  ssize_t ignored = write(fd, &one, sizeof(one));
  (void)ignored;
}

// Clears an eventfd after waking on it.
inline void Drain(int fd) {
  uint64_t value;
  ssize_t ignored = read(fd, &value, sizeof(value));
  (void)ignored;
}

// attach.cc: unmaps the segment and closes the channel's descriptors.
void CloseAll(ferry_channel* ch);

// send.cc: makes sure `n` free buffers are in ch->spare (see there).
bool TakeBuffers(ferry_channel* ch, uint32_t n);

// receive.cc: what a received descriptor tells the application.
void FillInfo(const ferry_desc& desc, ferry_recv_info* info);
// receive.cc: a non-blocking receive found nothing (returns -EAGAIN, after
// spinning or yielding as the channel learned), or found something.
ssize_t NothingReceived(ferry_channel* ch);
void SomethingReceived(ferry_channel* ch);

// control.cc: sends a control request on the ring and waits for its answer.
int CtrlCall(ferry_channel* ch, ferry_ctrl request, int timeout_ms,
             ferry_ctrl* reply);

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

}  // namespace ferry::client

#endif  // FERRY_CLIENT_CHANNEL_STATE_H_

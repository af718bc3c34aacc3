// A process that serves channels the way an engine does and echoes every
// message back on its flow, verifying self-checking test messages on the
// way. Two-process and hostile-client tests run applications against it.
//
//   channel_echo_server --socket=@name
//
// Prints "ready" once listening; on SIGTERM prints one line of totals
// ("echo-server stats key=value ...") and exits 0.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "dataplane/base/clock.h"
#include "dataplane/base/logging.h"
#include "dataplane/channel/channel_listener.h"
#include "dataplane/channel/channel_set.h"
#include "dataplane/channel/testing/test_message.h"
#include "dataplane/engine/waker.h"

ABSL_FLAG(std::string, socket, "", "channel socket path ('@name': abstract)");

namespace ferry::channel {
namespace {

struct Totals {
  uint64_t attached = 0;
  uint64_t reclaimed = 0;
#define FERRY_TOTAL_FIELD(name, help) uint64_t name = 0;
  FERRY_CHANNEL_COUNTERS(FERRY_TOTAL_FIELD)
#undef FERRY_TOTAL_FIELD

  void Add(const ChannelCounters& c) {
#define FERRY_TOTAL_ADD(name, help) name += c.name.Get();
    FERRY_CHANNEL_COUNTERS(FERRY_TOTAL_ADD)
#undef FERRY_TOTAL_ADD
  }
};

std::atomic<uint64_t> verified{0};
std::atomic<uint64_t> corrupt{0};

void EngineLoop(ChannelSet& set, engine::Waker& waker,
                std::atomic<bool>& stop) {
  uint64_t last_work = MonotonicNanos();
  while (!stop.load(std::memory_order_relaxed)) {
    bool work = set.ApplyPending_st();
    work |= set.PollTx_st(32, [](EngineChannel& channel, const ferry_desc& desc,
                                 absl::Span<const MessagePiece> pieces) {
      if (desc.length >= testing::kTestHeaderSize) {
        if (testing::VerifyTestMessage(pieces)) {
          verified.fetch_add(1, std::memory_order_relaxed);
        } else {
          corrupt.fetch_add(1, std::memory_order_relaxed);
        }
      }
      return channel.Deliver_st(desc.flow, pieces);
    }) > 0;
    set.Flush_st();
    const uint64_t now = MonotonicNanos();
    if (work) {
      last_work = now;
    } else if (now - last_work < 200 * kNanosPerMicro) {
      sched_yield();
    } else if (set.PrepareToSleep_st()) {
      waker.Sleep(10 * kNanosPerMilli);
      set.DoneSleeping_st();
    }
  }
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_socket);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);

  absl::StatusOr<std::unique_ptr<ChannelListener>> listener =
      ChannelListener::Listen(path, 0600, shm::ChannelSizes{},
                              SegmentMemory::kAuto);
  if (!listener.ok()) {
    std::fprintf(stderr, "echo-server: %s\n",
                 std::string(listener.status().message()).c_str());
    return 2;
  }
  engine::Waker waker;
  if (!waker.Init().ok()) return 2;
  ChannelSet set;
  std::atomic<bool> stop{false};
  std::thread engine_thread([&] { EngineLoop(set, waker, stop); });
  std::printf("ready\n");
  std::fflush(stdout);

  Totals totals;
  std::map<int, EngineChannel*> live;  // connection -> channel (engine-owned)
  uint64_t next_id = 1;
  bool running = true;
  while (running) {
    std::vector<pollfd> fds = {{signal_fd, POLLIN, 0},
                               {(*listener)->fd(), POLLIN, 0}};
    for (const auto& [connection, channel] : live) {
      fds.push_back({connection, POLLIN, 0});
    }
    poll(fds.data(), fds.size(), 100);
    if (fds[0].revents & POLLIN) running = false;
    if (fds[1].revents & POLLIN) {
      absl::StatusOr<AcceptedChannel> accepted =
          (*listener)->AcceptOne(next_id++, waker.doorbell_fd());
      if (accepted.ok()) {
        EngineChannel* channel = accepted->channel.get();
        if (set.PostAttach(std::move(accepted->channel)) == nullptr) {
          live[accepted->connection] = channel;
          ++totals.attached;
          waker.Ring();
        } else {
          close(accepted->connection);
        }
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      // Applications never write after attaching: readable means EOF (the
      // application is gone), or bytes it had no reason to send, which end
      // its channel all the same.
      set.PostDetach(live[fds[i].fd]->segment().channel_id());
      waker.Ring();
      close(fds[i].fd);
      live.erase(fds[i].fd);
    }
    while (std::unique_ptr<EngineChannel> gone = set.TakeDetached()) {
      totals.Add(gone->counters());
      ++totals.reclaimed;
    }
  }
  stop = true;
  waker.Ring();
  engine_thread.join();
  // The engine thread is gone: apply what it had not yet, here, and count
  // the channels it let go of.
  set.ApplyPending_st();
  while (std::unique_ptr<EngineChannel> gone = set.TakeDetached()) {
    totals.Add(gone->counters());
    ++totals.reclaimed;
  }
  for (const auto& [connection, channel] : live) {
    totals.Add(channel->counters());
    close(connection);
  }
  std::printf(
      "echo-server stats attached=%lu reclaimed=%lu live=%zu verified=%lu "
      "corrupt=%lu",
      totals.attached, totals.reclaimed, live.size(), verified.load(),
      corrupt.load());
#define FERRY_PRINT_TOTAL(name, help) \
  std::printf(" " #name "=%lu", totals.name);
  FERRY_CHANNEL_COUNTERS(FERRY_PRINT_TOTAL)
#undef FERRY_PRINT_TOTAL
  std::printf("\n");
  return 0;
}

}  // namespace
}  // namespace ferry::channel

int main(int argc, char** argv) { return ferry::channel::Main(argc, argv); }

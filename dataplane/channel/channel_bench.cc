// Channel hand-off benchmarks, application thread on CPU 0, engine thread on
// CPU 1, through a real segment attached over a real socket.
//
//   bazel build -c opt //dataplane/channel:channel_bench
//   taskset -c 0-1 bazel-bin/dataplane/channel/channel_bench
//
// (`bazel run` measured about 3x slower round trips here: run the binary.)
//
// BM_CacheLinePingPong   the floor: a ping-pong of one cache line each way
//                        (each side writes its own line, spins on the
//                        other's)
// BM_SharedLinePingPong  a stricter floor: one line bounced both ways
// BM_RingThroughput      raw SPSC ring, one way, batches of 32 descriptors
// BM_RingRoundTrip       one descriptor there and back through two bare
//                        rings: the ring protocol alone
// BM_OneWayHandoff/N     ferry_sendmmsg of N-byte messages in batches of
//                        32; the engine takes them (items/s = messages/s)
// BM_RoundTrip/N         one N-byte message app -> engine -> app, both
//                        spinning; reports both floors, measured right
//                        after, and the ratios (32 B rides inline in its
//                        descriptor, 64 B and up in a buffer)
// BM_RoundTripDoorbell/N the same when the engine was asleep and the app
//                        sleeps too: the eventfd wake-up path
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "client/abi/shm_ring.h"
#include "client/ferry.h"
#include "dataplane/base/clock.h"
#include "dataplane/channel/channel_listener.h"
#include "dataplane/channel/engine_channel.h"
#include "dataplane/engine/waker.h"

namespace ferry::channel {
namespace {

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::thread::hardware_concurrency(), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// A channel attached through a real listener, and the engine-side thread.
class Bench {
 public:
  Bench() {
    if (!waker_.Init().ok()) std::abort();
    const std::string path =
        absl::StrFormat("@ferry-bench-%d-%x", getpid(), std::random_device{}());
    listener_ = std::move(*ChannelListener::Listen(
        path, 0600, shm::ChannelSizes{}, SegmentMemory::kAuto));
    std::thread app(
        [&] { ferry_attach_channel_socket(path.c_str(), nullptr, &client_); });
    pollfd pfd = {listener_->fd(), POLLIN, 0};
    poll(&pfd, 1, 10000);
    auto accepted = listener_->AcceptOne(1, waker_.doorbell_fd());
    app.join();
    connection_ = accepted->connection;
    engine_ = std::move(accepted->channel);
  }
  ~Bench() {
    Stop();
    ferry_detach(client_);
    close(connection_);
  }

  // Runs `step()` on CPU 1 until Stop(); `step` returns whether it worked.
  // With `sleep_when_idle`, the engine sleeps on its doorbell when idle.
  template <typename Step>
  void Start(Step step, bool sleep_when_idle = false) {
    stop_ = false;
    thread_ = std::thread([this, step, sleep_when_idle]() mutable {
      PinTo(1);
      while (!stop_.load(std::memory_order_relaxed)) {
        if (step()) continue;
        if (sleep_when_idle && engine_->PrepareToSleep_st()) {
          waker_.Sleep(100 * kNanosPerMilli);
          engine_->DoneSleeping_st();
        }
      }
    });
  }
  void Stop() {
    stop_ = true;
    waker_.Ring();
    if (thread_.joinable()) thread_.join();
  }

  ferry_channel* client() { return client_; }
  EngineChannel& engine() { return *engine_; }

 private:
  engine::Waker waker_;
  std::unique_ptr<ChannelListener> listener_;
  ferry_channel* client_ = nullptr;
  int connection_ = -1;
  std::unique_ptr<EngineChannel> engine_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One cache line each way: this thread writes `ping` and spins on `pong`,
// the other the reverse, as an app and an engine hand a slot each way.
uint64_t PingPongRoundTripNs(int rounds) {
  struct alignas(64) Line {
    std::atomic<uint64_t> value{0};
  };
  Line ping, pong;
  alignas(64) std::atomic<bool> ready{false};
  std::thread other([&] {
    PinTo(1);
    ready.store(true, std::memory_order_release);
    for (uint64_t i = 1; i <= uint64_t(rounds); ++i) {
      while (ping.value.load(std::memory_order_acquire) != i) {
      }
      pong.value.store(i, std::memory_order_release);
    }
  });
  PinTo(0);
  // The clock starts once the other thread runs on its own core: a new
  // thread may start on this one and, with this thread spinning, wait for
  // the scheduler's tick (4 ms here) before it can move.
  while (!ready.load(std::memory_order_acquire)) sched_yield();
  const uint64_t start = MonotonicNanos();
  for (uint64_t i = 1; i <= uint64_t(rounds); ++i) {
    ping.value.store(i, std::memory_order_release);
    while (pong.value.load(std::memory_order_acquire) != i) {
    }
  }
  const uint64_t elapsed = MonotonicNanos() - start;
  other.join();
  return elapsed / rounds;
}

// One line bounced: each side waits for the other's value in the same line.
uint64_t SharedLineRoundTripNs(int rounds) {
  alignas(64) std::atomic<uint64_t> line{0};
  alignas(64) std::atomic<bool> ready{false};
  std::thread other([&] {
    PinTo(1);
    ready.store(true, std::memory_order_release);
    for (uint64_t i = 1; i <= uint64_t(rounds) * 2; i += 2) {
      while (line.load(std::memory_order_acquire) != i) {
      }
      line.store(i + 1, std::memory_order_release);
    }
  });
  PinTo(0);
  while (!ready.load(std::memory_order_acquire)) sched_yield();
  const uint64_t start = MonotonicNanos();
  for (uint64_t i = 0; i < uint64_t(rounds) * 2; i += 2) {
    line.store(i + 1, std::memory_order_release);
    while (line.load(std::memory_order_acquire) != i + 2) {
    }
  }
  const uint64_t elapsed = MonotonicNanos() - start;
  other.join();
  return elapsed / rounds;
}

template <uint64_t (*kRoundTripNs)(int)>
void PingPong(benchmark::State& state) {
  uint64_t total = 0;
  int64_t iterations = 0;
  for (auto _ : state) {
    total += kRoundTripNs(10000);
    ++iterations;
  }
  state.counters["round_trip_ns"] = double(total) / iterations;
}

void BM_CacheLinePingPong(benchmark::State& state) {
  PingPong<PingPongRoundTripNs>(state);
}
BENCHMARK(BM_CacheLinePingPong)->UseRealTime();

void BM_SharedLinePingPong(benchmark::State& state) {
  PingPong<SharedLineRoundTripNs>(state);
}
BENCHMARK(BM_SharedLinePingPong)->UseRealTime();

// Both floors right after a measurement, on the same cores: this VM's
// cross-core latency drifts by 4x between phases minutes apart, so only
// ratios taken together are comparable.
void ReportAgainstFloors(benchmark::State& state, double per_trip) {
  const double floor = double(PingPongRoundTripNs(100000));
  const double shared = double(SharedLineRoundTripNs(100000));
  state.counters["round_trip_ns"] = per_trip;
  state.counters["floor_ns"] = floor;
  state.counters["ratio_to_floor"] = per_trip / floor;
  state.counters["shared_line_ns"] = shared;
  state.counters["ratio_to_shared_line"] = per_trip / shared;
}

void BM_RingThroughput(benchmark::State& state) {
  constexpr uint32_t kCapacity = 1024;
  auto indices = std::make_unique<ferry_ring_indices>();
  std::vector<ferry_desc> entries(kCapacity);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> consumed{0};
  std::thread consumer_thread([&] {
    PinTo(1);
    shm::RingConsumer<ferry_desc> consumer(indices.get(), entries.data(),
                                           kCapacity, 0);
    uint64_t sum = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const uint32_t n = consumer.Available();
      for (uint32_t i = 0; i < n; ++i) sum += consumer.Peek(i).length;
      if (n > 0) consumer.Consume(n);
      consumed.fetch_add(n, std::memory_order_relaxed);
    }
    benchmark::DoNotOptimize(sum);
  });
  PinTo(0);
  shm::RingProducer<ferry_desc> producer(indices.get(), entries.data(),
                                         kCapacity, 0);
  ferry_desc desc = {};
  desc.length = 64;
  int64_t pushed = 0;
  for (auto _ : state) {
    uint32_t room;
    while ((room = producer.FreeSlots()) < 32) {
    }
    for (int i = 0; i < 32; ++i) producer.Write(desc);
    producer.Publish();
    pushed += 32;
  }
  while (consumed.load() < uint64_t(pushed)) {
  }
  stop = true;
  consumer_thread.join();
  state.SetItemsProcessed(pushed);
}
BENCHMARK(BM_RingThroughput)->UseRealTime();

void BM_RingRoundTrip(benchmark::State& state) {
  constexpr uint32_t kCapacity = 256;
  auto there = std::make_unique<ferry_ring_indices>();
  auto back = std::make_unique<ferry_ring_indices>();
  std::vector<ferry_desc> there_entries(kCapacity), back_entries(kCapacity);
  std::atomic<bool> stop{false};
  std::thread engine([&] {
    PinTo(1);
    shm::RingConsumer<ferry_desc> in(there.get(), there_entries.data(),
                                     kCapacity, 0);
    shm::RingProducer<ferry_desc> out(back.get(), back_entries.data(),
                                      kCapacity, 0);
    while (!stop.load(std::memory_order_relaxed)) {
      ferry_desc desc;
      if (!in.TryPop(&desc)) continue;
      while (!out.TryPush(desc)) {
      }
      out.Publish();
    }
  });
  PinTo(0);
  shm::RingProducer<ferry_desc> out(there.get(), there_entries.data(),
                                    kCapacity, 0);
  shm::RingConsumer<ferry_desc> in(back.get(), back_entries.data(), kCapacity,
                                   0);
  ferry_desc desc = {};
  desc.length = 64;
  const uint64_t start = MonotonicNanos();
  for (auto _ : state) {
    while (!out.TryPush(desc)) {
    }
    out.Publish();
    ferry_desc reply;
    while (!in.TryPop(&reply)) {
    }
  }
  const double per_trip =
      double(MonotonicNanos() - start) / double(state.iterations());
  stop = true;
  engine.join();
  ReportAgainstFloors(state, per_trip);
}
BENCHMARK(BM_RingRoundTrip)->UseRealTime();

void BM_OneWayHandoff(benchmark::State& state) {
  Bench bench;
  std::atomic<uint64_t> taken{0};
  EngineChannel& engine = bench.engine();
  bench.Start([&] {
    const uint32_t n = engine.PollTx_st(
        64, [](const ferry_desc&, absl::Span<const MessagePiece>) {
          return FERRY_STATUS_OK;
        });
    engine.Flush_st();
    taken.fetch_add(n, std::memory_order_relaxed);
    return n > 0;
  });
  PinTo(0);
  std::vector<char> payload(state.range(0));
  iovec iov = {payload.data(), payload.size()};
  std::vector<ferry_msghdr> batch(32, ferry_msghdr{1, 0, &iov, 1});
  int64_t sent = 0;
  for (auto _ : state) {
    int done = 0;
    while (done < 32) {
      const int rc =
          ferry_sendmmsg(bench.client(), batch.data() + done, 32 - done);
      if (rc > 0) done += rc;
    }
    sent += 32;
  }
  while (taken.load() < uint64_t(sent)) {
  }
  bench.Stop();
  state.SetItemsProcessed(sent);
}
BENCHMARK(BM_OneWayHandoff)->UseRealTime()->Arg(FERRY_INLINE_MAX)->Arg(64);

constexpr size_t kMaxRoundTripBytes = 1024;

void RoundTrips(benchmark::State& state, bool doorbell) {
  Bench bench;
  EngineChannel& engine = bench.engine();
  bench.Start(
      [&] {
        const uint32_t n = engine.PollTx_st(
            32,
            [&](const ferry_desc& desc, absl::Span<const MessagePiece> pieces) {
              return engine.Deliver_st(desc.flow, pieces);
            });
        engine.Flush_st();
        return n > 0;
      },
      doorbell);
  PinTo(0);
  // On this thread's stack, on their own cache lines: heap blocks could
  // share a line with something the engine thread writes.
  alignas(64) char payload[kMaxRoundTripBytes] = {};
  alignas(64) char reply[kMaxRoundTripBytes];
  const size_t size = std::min<size_t>(state.range(0), kMaxRoundTripBytes);
  ferry_recv_info info;
  uint64_t timed_ns = 0;
  // Spinning round trips are timed as one stretch, as the floor is: two
  // clock reads per trip would add tens of nanoseconds to a few hundred.
  const uint64_t loop_start = MonotonicNanos();
  for (auto _ : state) {
    if (doorbell) {
      // Let the engine fall asleep first (it sleeps after finding no work).
      state.PauseTiming();
      usleep(200);
      state.ResumeTiming();
      const uint64_t start = MonotonicNanos();
      ferry_send(bench.client(), 1, payload, size);
      ferry_recv_wait(bench.client(), reply, size, &info, 1000);
      timed_ns += MonotonicNanos() - start;
      continue;
    }
    ferry_send(bench.client(), 1, payload, size);
    while (ferry_recv(bench.client(), reply, size, &info) < 0) {
    }
  }
  if (!doorbell) timed_ns = MonotonicNanos() - loop_start;
  bench.Stop();
  const double per_trip = double(timed_ns) / double(state.iterations());
  if (doorbell) {
    state.counters["round_trip_ns"] = per_trip;
  } else {
    ReportAgainstFloors(state, per_trip);
  }
}

void BM_RoundTrip(benchmark::State& state) { RoundTrips(state, false); }
BENCHMARK(BM_RoundTrip)
    ->UseRealTime()
    ->Arg(FERRY_INLINE_MAX)
    ->Arg(64)
    ->Arg(1024);

void BM_RoundTripDoorbell(benchmark::State& state) { RoundTrips(state, true); }
BENCHMARK(BM_RoundTripDoorbell)
    ->UseRealTime()
    ->Iterations(2000)
    ->Arg(FERRY_INLINE_MAX)
    ->Arg(64);

}  // namespace
}  // namespace ferry::channel

BENCHMARK_MAIN();

// Request/response over the whole dataplane, stepped in lockstep in one
// thread: two engines joined by a ring-backed port pair (a wire with no
// scheduler in it), a client application on A and an echo server on B, both
// on the real client library and channels. The "wire" argument: 0 the ring
// pair; 1 a memif pair in this process (the driver copies each frame
// through shared memory, as between two ferryd); 2 the same memif pair with
// zero-copy transmit off (every payload copied into its frame first); 3 the
// ring pair with encryption required on both sides (each segment sealed and
// opened, docs/SECURITY.md), beside 0 for its cost. One
// thread runs everything, so the figures are the CPU cost of both hosts' work
// together, free of cross-core wake-ups:
//   rpc_per_s       round trips completed per second of this thread
//   cpu_ns_per_rpc  thread CPU time per round trip (both sides' engines and
//                   applications)
//   copied_per_msg  payload bytes the engines copied into frames per message
//                   (the rest went out from the channel without a copy)
//
//   connect_us/rtt_us (BM_ConnectVersusRoundTrip): a connect's latency next
//                   to a 1-byte round trip on the same engines
//
//   bazel run -c opt //dataplane/engine:transport_lockstep_bench
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "client/ferry.h"
#include "dataplane/base/clock.h"
#include "dataplane/crypto/flow_crypto.h"
#include "dataplane/engine/testing/engine_pair.h"

namespace ferry::engine {
namespace {

using testing::EnginePair;

uint64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

// A's retransmissions (fast and by timeout) from `before` to `after`.
uint64_t RetransmitsBetween(const EngineStats& before,
                            const EngineStats& after) {
  return after.transport_retransmits_fast - before.transport_retransmits_fast +
         after.transport_retransmits_timeout -
         before.transport_retransmits_timeout;
}

struct Setup {
  EnginePair* pair = nullptr;
  std::unique_ptr<EnginePair> owned;  // a ring pair; memif pairs are shared
  ferry_channel* client = nullptr;
  ferry_channel* server = nullptr;
  uint64_t flow = 0;
  uint16_t port = 0;  // the server's listener
};

// Every flow of the pair encrypted: two nodes that trust each other, for
// the whole process.
void Encrypt(testing::EnginePairOptions* options) {
  static crypto::TrustConfig* const trust = [] {
    auto* t = new crypto::TrustConfig[2];
    for (int i = 0; i < 2; ++i) t[i].node_key = *crypto::KeyPair::Generate();
    t[0].trusted.Insert(t[1].node_key->public_key());
    t[1].trusted.Insert(t[0].node_key->public_key());
    return t;
  }();
  options->transport.encryption = Encryption::kRequired;
  options->transport.trust = &trust[0];
  TransportConfig b = options->transport;
  b.trust = &trust[1];
  options->transport_b = b;
}

// Two engines, two applications, one flow; the stepper thread is stopped
// before returning: from here on the caller steps.
bool MakeSetup(Setup* s, int wire = 0) {
  // One memif pair of each kind for the whole process, never torn down:
  // DPDK's memif driver crashed now and then when ports were made and
  // removed in one process (a ring pair is made per case).
  static EnginePair* memif_pairs[3] = {};
  const bool ring = wire == 0 || wire == 3;
  if (ring || memif_pairs[wire] == nullptr) {
    testing::EnginePairOptions options;
    if (!ring) options.wire = testing::EnginePairOptions::Wire::kMemif;
    options.tx_external = wire != 2;
    if (wire == 3) Encrypt(&options);
    auto pair = EnginePair::Create(options);
    if (!pair.ok()) {
      std::fprintf(stderr, "%s\n", pair.status().ToString().c_str());
      return false;
    }
    if (ring) {
      s->owned = std::move(*pair);
    } else {
      memif_pairs[wire] = pair->release();
    }
  }
  s->pair = ring ? s->owned.get() : memif_pairs[wire];
  // A port of its own per setup: a shared pair may not have dropped the
  // last one's listener yet.
  static uint16_t next_port = 7000;
  const uint16_t port = next_port++;
  s->port = port;
  s->pair->StartStepper();
  auto a = s->pair->Attach(0);
  auto b = s->pair->Attach(1);
  if (!a.ok() || !b.ok()) return false;
  s->client = *a;
  s->server = *b;
  if (ferry_listen(s->server, port, 10000) != 0) return false;
  if (ferry_connect(s->client, testing::kHostB, port, 0, 10000, &s->flow) !=
      0) {
    return false;
  }
  ferry_recv_info info{};
  uint8_t byte;
  if (ferry_recv_wait(s->server, &byte, 1, &info, 10000) != 0 ||
      info.flags != FERRY_RECV_FLOW_ACCEPTED) {
    return false;
  }
  s->pair->StopStepper();
  return true;
}

void BM_LockstepRequestResponse(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const int window = static_cast<int>(state.range(1));
  const int wire = static_cast<int>(state.range(2));
  Setup s;
  if (!MakeSetup(&s, wire)) {
    state.SkipWithError("setup failed");
    return;
  }
  std::vector<uint8_t> request(size, 0x5a);
  std::vector<uint8_t> buffer(size);
  ferry_recv_info info{};
  int in_flight = 0;
  auto top_up = [&] {
    while (in_flight < window &&
           ferry_send(s.client, s.flow, request.data(), size) == 0) {
      ++in_flight;
    }
  };
  // The server echoes every request on its flow.
  auto serve = [&] {
    ssize_t n;
    while ((n = ferry_recv(s.server, buffer.data(), buffer.size(), &info)) >=
           0) {
      if (info.flags & FERRY_RECV_EVENT_MASK) continue;
      ferry_send(s.server, info.flow, buffer.data(), static_cast<size_t>(n));
    }
  };
  uint64_t completed = 0;
  // A shared pair's counters go on from earlier cases: count from here.
  const EngineStats a0 = s.pair->a().ReadStats();
  const EngineStats b0 = s.pair->b().ReadStats();
  top_up();
  const uint64_t cpu_start = ThreadCpuNanos();
  for (auto _ : state) {
    // One iteration: one response back at the client.
    for (;;) {
      ssize_t n = ferry_recv(s.client, buffer.data(), buffer.size(), &info);
      if (n >= 0 && (info.flags & FERRY_RECV_EVENT_MASK) == 0) break;
      s.pair->Step(MonotonicNanos());
      serve();
    }
    --in_flight;
    ++completed;
    top_up();
  }
  const uint64_t cpu_ns = ThreadCpuNanos() - cpu_start;
  state.counters["rpc_per_s"] = benchmark::Counter(
      static_cast<double>(completed), benchmark::Counter::kIsRate);
  state.counters["cpu_ns_per_rpc"] =
      completed == 0 ? 0 : static_cast<double>(cpu_ns) / completed;
  const EngineStats a = s.pair->a().ReadStats();
  const EngineStats b = s.pair->b().ReadStats();
  const uint64_t messages = a.transport_messages_tx - a0.transport_messages_tx +
                            b.transport_messages_tx - b0.transport_messages_tx;
  state.counters["copied_per_msg"] =
      messages == 0
          ? 0
          : static_cast<double>(
                a.tx_payload_copied_bytes - a0.tx_payload_copied_bytes +
                b.tx_payload_copied_bytes - b0.tx_payload_copied_bytes) /
                messages;
  state.counters["retransmits"] =
      static_cast<double>(RetransmitsBetween(a0, a));
  state.counters["segments_per_rpc"] =
      completed == 0 ? 0
                     : static_cast<double>(
                           a.transport_segments_tx - a0.transport_segments_tx +
                           b.transport_segments_tx - b0.transport_segments_tx) /
                           completed;
  ferry_detach(s.client);
  ferry_detach(s.server);
  // The next case steps a shared pair from the stepper thread first.
  if (s.owned == nullptr) s.pair->ReleaseThreads();
}

// Connect latency against a round trip on the same engines: a stepper
// thread polls both engines while this thread connects (control ring ->
// engine -> SYN -> SYN-ACK -> completion: the whole connect, handshake
// included) and, for comparison, sends one 1-byte request to an echo
// server thread and waits for the answer.
void BM_ConnectVersusRoundTrip(benchmark::State& state) {
  Setup s;
  if (!MakeSetup(&s)) {
    state.SkipWithError("setup failed");
    return;
  }
  s.pair->StartStepper();
  std::atomic<bool> stop{false};
  // The server: echo messages, drop events.
  std::thread server([&] {
    uint8_t buf[64];
    ferry_recv_info info{};
    while (!stop.load(std::memory_order_relaxed)) {
      const ssize_t n = ferry_recv(s.server, buf, sizeof(buf), &info);
      if (n < 0 || (info.flags & FERRY_RECV_EVENT_MASK)) {
        std::this_thread::yield();
        continue;
      }
      ferry_send(s.server, info.flow, buf, static_cast<size_t>(n));
    }
  });
  uint64_t connect_ns = 0, rtt_ns = 0, n = 0;
  uint8_t byte = 1;
  for (auto _ : state) {
    uint64_t flow = 0;
    const uint64_t t0 = MonotonicNanos();
    if (ferry_connect(s.client, testing::kHostB, s.port, 0, 10000, &flow) !=
        0) {
      state.SkipWithError("connect failed");
      break;
    }
    const uint64_t t1 = MonotonicNanos();
    ferry_send(s.client, flow, &byte, 1);
    ferry_recv_info info{};
    uint8_t reply;
    while (ferry_recv(s.client, &reply, 1, &info) < 0 ||
           (info.flags & FERRY_RECV_EVENT_MASK)) {
    }
    const uint64_t t2 = MonotonicNanos();
    connect_ns += t1 - t0;
    rtt_ns += t2 - t1;
    ++n;
    ferry_close(s.client, flow, 10000);
  }
  stop.store(true);
  server.join();
  s.pair->StopStepper();
  if (n > 0) {
    state.counters["connect_us"] = connect_ns / 1e3 / n;
    state.counters["rtt_us"] = rtt_ns / 1e3 / n;
  }
  ferry_detach(s.client);
  ferry_detach(s.server);
}

BENCHMARK(BM_ConnectVersusRoundTrip)->Iterations(2000)->UseRealTime();

BENCHMARK(BM_LockstepRequestResponse)
    ->ArgNames({"bytes", "window", "wire"})
    ->Args({1024, 1, 0})
    ->Args({1024, 32, 0})
    ->Args({64, 32, 0})
    ->Args({64 * 1024, 8, 0})
    ->Args({1024, 1, 3})
    ->Args({1024, 32, 3})
    ->Args({64, 32, 3})
    ->Args({64 * 1024, 8, 3})
    ->UseRealTime();

// memif: zero-copy transmit (1) against copying (2). A fixed number of
// round trips (about a second each): each run of a case connects a flow
// afresh, and the library would run a case several times to size it.
BENCHMARK(BM_LockstepRequestResponse)
    ->ArgNames({"bytes", "window", "wire"})
    ->Args({1024, 32, 1})
    ->Args({1024, 32, 2})
    ->Iterations(1'000'000)
    ->UseRealTime();
BENCHMARK(BM_LockstepRequestResponse)
    ->ArgNames({"bytes", "window", "wire"})
    ->Args({64 * 1024, 8, 1})
    ->Args({64 * 1024, 8, 2})
    ->Iterations(20'000)
    ->UseRealTime();
BENCHMARK(BM_LockstepRequestResponse)
    ->ArgNames({"bytes", "window", "wire"})
    ->Args({1024 * 1024, 8, 1})
    ->Args({1024 * 1024, 8, 2})
    ->Iterations(1'000)
    ->UseRealTime();

// An echo server on one channel for the many-flow cases: answers every
// request on its flow (and passes over the accept events); answers the
// channel had no room for wait for the next Serve.
class EchoServer {
 public:
  EchoServer(ferry_channel* channel, size_t size)
      : channel_(channel), buffer_(std::max<size_t>(size, 1)) {}

  void Serve() {
    size_t kept = 0;
    for (const auto& [flow, n] : unanswered_) {
      if (ferry_send(channel_, flow, buffer_.data(), n) != 0) {
        unanswered_[kept++] = {flow, n};
      }
    }
    unanswered_.resize(kept);
    ferry_recv_info info{};
    ssize_t n;
    while ((n = ferry_recv(channel_, buffer_.data(), buffer_.size(), &info)) >=
           0) {
      if (info.flags & FERRY_RECV_EVENT_MASK) continue;
      if (ferry_send(channel_, info.flow, buffer_.data(),
                     static_cast<size_t>(n)) != 0) {
        unanswered_.push_back({info.flow, static_cast<size_t>(n)});
      }
    }
  }

 private:
  ferry_channel* channel_;
  std::vector<uint8_t> buffer_;
  std::vector<std::pair<uint64_t, size_t>> unanswered_;
};

// Many flows, one message in flight on each (msg_gen --flows=N --window=1,
// as bench/flow_scale.sh runs it between two ferryd), stepped in lockstep
// like the case above: the CPU each round trip costs as the flows' state
// outgrows the caches, without the scheduler noise of two processes on
// shared cores. The client answers each response with the flow's next
// request; the server echoes.
void BM_LockstepManyFlows(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  const size_t size = static_cast<size_t>(state.range(1));
  testing::EnginePairOptions pair_options;
  if (state.range(2) != 0) Encrypt(&pair_options);
  auto pair = EnginePair::Create(pair_options);
  if (!pair.ok()) {
    state.SkipWithError(pair.status().ToString().c_str());
    return;
  }
  EnginePair& p = **pair;
  // Room for a request and a response of every flow on each side.
  ferry_channel_options options = {};
  options.buffer_count = 32768;
  options.buffer_size = 2048;
  options.ring_capacity = 16384;
  p.StartStepper();
  auto a = p.Attach(0, &options);
  auto b = p.Attach(1, &options);
  if (!a.ok() || !b.ok()) {
    state.SkipWithError("attach failed");
    return;
  }
  ferry_channel* client = *a;
  ferry_channel* server = *b;
  constexpr uint16_t kPort = 7000;
  if (ferry_listen(server, kPort, 10000) != 0) {
    state.SkipWithError("listen failed");
    return;
  }
  std::vector<uint64_t> ids(flows);
  for (uint32_t i = 0; i < flows; ++i) {
    if (ferry_connect(client, testing::kHostB, kPort, 0, 10000, &ids[i]) != 0) {
      state.SkipWithError("connect failed");
      return;
    }
  }
  p.StopStepper();
  std::vector<uint8_t> request(size, 0x5a);
  std::vector<uint8_t> buffer(size);
  // Flows whose next request the channel had no room for yet.
  std::vector<uint64_t> unsent(ids.begin(), ids.end());
  auto send_unsent = [&] {
    size_t kept = 0;
    for (uint64_t flow : unsent) {
      if (ferry_send(client, flow, request.data(), size) != 0) {
        unsent[kept++] = flow;
      }
    }
    unsent.resize(kept);
  };
  // The server echoes every request (and passes over the accept events).
  EchoServer echo(server, size);
  // One response at the client, answered with its flow's next request.
  auto round_trip = [&] {
    ferry_recv_info info{};
    for (;;) {
      const ssize_t n = ferry_recv(client, buffer.data(), buffer.size(), &info);
      if (n >= 0 && (info.flags & FERRY_RECV_EVENT_MASK) == 0) break;
      if (n < 0) {
        send_unsent();
        p.Step(MonotonicNanos());
        echo.Serve();
      }
    }
    if (ferry_send(client, info.flow, request.data(), size) != 0) {
      unsent.push_back(info.flow);
    }
  };
  // Warm up: every flow's first round trip, connects' stragglers and
  // accept events out of the way.
  for (uint32_t i = 0; i < flows; ++i) round_trip();
  const EngineStats a0 = p.a().ReadStats();
  const uint64_t cpu_start = ThreadCpuNanos();
  uint64_t completed = 0;
  for (auto _ : state) {
    round_trip();
    ++completed;
  }
  const uint64_t cpu_ns = ThreadCpuNanos() - cpu_start;
  const EngineStats a1 = p.a().ReadStats();
  state.counters["rpc_per_s"] = benchmark::Counter(
      static_cast<double>(completed), benchmark::Counter::kIsRate);
  state.counters["cpu_ns_per_rpc"] =
      completed == 0 ? 0 : static_cast<double>(cpu_ns) / completed;
  state.counters["retransmits"] =
      static_cast<double>(RetransmitsBetween(a0, a1));
  ferry_detach(client);
  ferry_detach(server);
}

BENCHMARK(BM_LockstepManyFlows)
    ->ArgNames({"flows", "bytes", "encrypted"})
    ->Args({100, 1024, 0})
    ->Args({1000, 1024, 0})
    ->Args({10000, 1024, 0})
    ->Args({100, 1024, 1})
    ->Args({10000, 1024, 1})
    // Connecting 10,000 flows takes seconds: a fixed count, so that they
    // are connected once, not once per trial run.
    ->Iterations(300'000)
    ->UseRealTime();

// Many applications against one: `channels` client channels on A with
// `flows` flows each at window 1, against one server channel on B that
// echoes (bench/channel_scale.sh runs 64 msg_gen processes with a channel
// each against one process with 64 flows on one channel). Stepped in
// lockstep like the cases above, so the figure is what serving many
// channels costs the engines and the library, without the context switch
// that each of many processes on few cores needs per round trip. One
// iteration is one pass: both engines step, the server answers, then each
// client channel takes its responses and sends each flow's next request,
// as its own process would.
void BM_LockstepManyChannels(benchmark::State& state) {
  const uint32_t channels = static_cast<uint32_t>(state.range(0));
  const uint32_t flows_per_channel = static_cast<uint32_t>(state.range(1));
  const size_t size = static_cast<size_t>(state.range(2));
  auto pair = EnginePair::Create();
  if (!pair.ok()) {
    state.SkipWithError(pair.status().ToString().c_str());
    return;
  }
  EnginePair& p = **pair;
  p.StartStepper();
  std::vector<ferry_channel*> clients;
  for (uint32_t i = 0; i < channels; ++i) {
    // ferryd's default channel, as msg_gen attaches for these runs.
    auto a = p.Attach(0);
    if (!a.ok()) {
      state.SkipWithError(a.status().ToString().c_str());
      return;
    }
    clients.push_back(*a);
  }
  auto b = p.Attach(1);
  if (!b.ok()) {
    state.SkipWithError(b.status().ToString().c_str());
    return;
  }
  ferry_channel* server = *b;
  constexpr uint16_t kPort = 7000;
  if (ferry_listen(server, kPort, 10000) != 0) {
    state.SkipWithError("listen failed");
    return;
  }
  // Each flow's first request goes out with its connect.
  std::vector<uint8_t> request(size, 0x5a);
  std::vector<uint8_t> buffer(std::max<size_t>(size, 1));
  for (ferry_channel* client : clients) {
    for (uint32_t i = 0; i < flows_per_channel; ++i) {
      uint64_t flow = 0;
      if (ferry_connect(client, testing::kHostB, kPort, 0, 10000, &flow) != 0 ||
          ferry_send(client, flow, request.data(), size) != 0) {
        state.SkipWithError("connect failed");
        return;
      }
    }
  }
  p.StopStepper();
  std::vector<std::pair<ferry_channel*, uint64_t>> unsent;
  EchoServer echo(server, size);
  uint64_t completed = 0;
  auto pass = [&] {
    p.Step(MonotonicNanos());
    echo.Serve();
    size_t kept = 0;
    for (const auto& [client, flow] : unsent) {
      if (ferry_send(client, flow, request.data(), size) != 0) {
        unsent[kept++] = {client, flow};
      }
    }
    unsent.resize(kept);
    for (ferry_channel* client : clients) {
      ferry_recv_info info{};
      while (ferry_recv(client, buffer.data(), buffer.size(), &info) >= 0) {
        if (info.flags & FERRY_RECV_EVENT_MASK) continue;
        ++completed;
        if (ferry_send(client, info.flow, request.data(), size) != 0) {
          unsent.push_back({client, info.flow});
        }
      }
    }
  };
  // Warm up until every flow has had a few round trips.
  const uint64_t total_flows = uint64_t(channels) * flows_per_channel;
  while (completed < 4 * total_flows) pass();
  completed = 0;
  const EngineStats a0 = p.a().ReadStats();
  const uint64_t cpu_start = ThreadCpuNanos();
  for (auto _ : state) pass();
  const uint64_t cpu_ns = ThreadCpuNanos() - cpu_start;
  const EngineStats a1 = p.a().ReadStats();
  state.counters["rpc_per_s"] = benchmark::Counter(
      static_cast<double>(completed), benchmark::Counter::kIsRate);
  state.counters["cpu_ns_per_rpc"] =
      completed == 0 ? 0 : static_cast<double>(cpu_ns) / completed;
  state.counters["retransmits"] =
      static_cast<double>(RetransmitsBetween(a0, a1));
  for (ferry_channel* client : clients) ferry_detach(client);
  ferry_detach(server);
}

BENCHMARK(BM_LockstepManyChannels)
    ->ArgNames({"channels", "flows", "bytes"})
    ->Args({1, 64, 64})
    ->Args({64, 1, 64})
    ->Args({1, 64, 1024})
    ->Args({64, 1, 1024})
    ->UseRealTime();

}  // namespace
}  // namespace ferry::engine

BENCHMARK_MAIN();

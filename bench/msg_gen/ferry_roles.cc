// msg_gen over Ferry: the client library, one channel, one flow per
// --flows, --window requests in flight on each.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "bench/msg_gen/payload.h"
#include "bench/msg_gen/roles.h"
#include "bench/msg_gen/run_stats.h"
#include "client/ferry.h"
#include "dataplane/base/clock.h"

namespace ferry::bench {
namespace {

// Requests in flight on one flow: their send times and sequence numbers,
// oldest first (a flow delivers in order, so responses come back in order).
struct ClientFlow {
  uint64_t handle = 0;
  uint64_t next_seq = 0;
  // When the channel first refused the request now waiting to go (0: none
  // waits): the time it waits for room is the application's, and a flow
  // that waits long waits whatever its round trips say.
  uint64_t refused_since_ns = 0;
  std::vector<uint64_t> sent_ns;
  std::vector<uint64_t> waited_ns;  // how long each waited for room
  std::vector<uint64_t> seqs;
  std::vector<uint8_t> size_classes;  // of each request in flight
  uint32_t head = 0;
  uint32_t count = 0;
  bool waiting = false;  // in the queue of flows the full channel refused
};

std::string Errno(int rc) { return std::strerror(-rc); }

// A connect's failure, with what the two encryption refusals mean.
std::string ConnectError(int rc) {
  if (rc == -EACCES) {
    return "untrusted: this host and the peer do not trust each other's "
           "node key (--trusted_peers_file, docs/SECURITY.md)";
  }
  if (rc == -EPROTONOSUPPORT) {
    return "encryption: one side requires it and the other has it off "
           "(--encryption)";
  }
  return Errno(rc);
}

// The channel's options: ferryd's defaults unless the run needs more
// buffers than they give (a client's flows x window, each request and its
// response in a buffer of its own, and room for one 8 MiB message).
ferry_channel_options ChannelOptions(const MsgGenOptions& o) {
  ferry_channel_options options = {};
  uint64_t buffers = o.channel_buffers;
  if (buffers == 0 && o.role == Role::kClient) {
    const uint64_t needed = 2ull * o.flows * o.window + 4096;
    if (needed > 8192) {
      buffers = 1;
      while (buffers < needed) buffers <<= 1;
    }
  }
  options.buffer_count = static_cast<uint32_t>(buffers);
  if (buffers > 8192) {
    // Many buffers: each as small as the messages allow (a power of two of
    // 1 to 4 KiB), so that the pool the copies cycle through stays as
    // small as it can (its whole size is touched, at 4 KiB a buffer
    // mostly empty), while still holding an 8 MiB message twice.
    uint32_t size = 1024;
    while (size < 4096 && size < std::max(o.request_size, o.response_size)) {
      size <<= 1;
    }
    while (uint64_t{options.buffer_count} * size < (16u << 20)) {
      options.buffer_count <<= 1;
    }
    options.buffer_size = size;
  }
  return options;
}

// Sends on `flow` until its window is full; -EAGAIN (the channel is full)
// is not an error: the caller tries again after receiving.
// `rng`: the request size distribution's generator state.
int TopUp(ferry_channel* ch, ClientFlow& flow, uint32_t index,
          const MsgGenOptions& o, std::vector<uint8_t>& request,
          uint64_t* rng) {
  const uint32_t window = static_cast<uint32_t>(flow.sent_ns.size());
  while (flow.count < window) {
    // A request too short to carry its sequence number carries 0 (the
    // server answers with the pattern of what it read).
    const uint64_t seq = o.request_size >= sizeof(uint64_t)
                             ? (uint64_t{index} << 40) | flow.next_seq
                             : 0;
    // A refused send keeps its draw: the retry sends the same size.
    uint64_t draw = *rng;
    const size_t size_class = o.request_sizes.Draw(&draw);
    const size_t size = o.request_sizes.mixed()
                            ? o.request_sizes.size(size_class)
                            : request.size();
    if (o.verify) {
      FillPayload(request.data(), size, seq, false);
    } else if (size >= sizeof(seq)) {
      std::memcpy(request.data(), &seq, sizeof(seq));
    }
    const int rc = ferry_send(ch, flow.handle, request.data(), size);
    if (rc == -EAGAIN) {
      if (flow.refused_since_ns == 0) flow.refused_since_ns = MonotonicNanos();
      return 0;
    }
    if (rc != 0) return rc;
    *rng = draw;
    const uint32_t slot = (flow.head + flow.count) % window;
    const uint64_t now = MonotonicNanos();
    flow.sent_ns[slot] = now;
    flow.waited_ns[slot] =
        flow.refused_since_ns == 0 ? 0 : now - flow.refused_since_ns;
    flow.refused_since_ns = 0;
    flow.seqs[slot] = seq;
    flow.size_classes[slot] = static_cast<uint8_t>(size_class);
    ++flow.count;
    ++flow.next_seq;
  }
  return 0;
}

// One client run over an attached channel: connect the flows, keep each
// one's window full until the run ends, then close them in order.
class FerryClientRun {
 public:
  FerryClientRun(ferry_channel* ch, const MsgGenOptions& o)
      : ch_(ch),
        o_(o),
        flows_(o.flows),
        request_(o.request_size),
        response_(std::max<uint32_t>(o.response_size, 1) + 1) {}

  // Connects every flow, and prints how long the connects took.
  absl::Status Connect() {
    // Each connect's duration: the handshake round trip plus whatever the
    // control path adds (ferryd's API, the engine's poll).
    std::vector<uint64_t> connect_ns;
    for (uint32_t i = 0; i < o_.flows; ++i) {
      const uint64_t connect_start = MonotonicNanos();
      const MsgGenOptions::Server& server = o_.ServerOfFlow(i);
      const int rc = ferry_connect(ch_, server.ip, server.port, 0, 10000,
                                   &flows_[i].handle);
      connect_ns.push_back(MonotonicNanos() - connect_start);
      if (rc != 0) {
        return absl::UnavailableError(absl::StrFormat(
            "connect %d of %d failed: %s", i + 1, o_.flows, ConnectError(rc)));
      }
      flows_[i].sent_ns.resize(o_.window);
      flows_[i].waited_ns.resize(o_.window);
      flows_[i].seqs.resize(o_.window);
      flows_[i].size_classes.resize(o_.window);
      by_handle_[flows_[i].handle] = i;
    }
    std::sort(connect_ns.begin(), connect_ns.end());
    std::printf("connected %u flow(s): median %.1f us, max %.1f us\n", o_.flows,
                connect_ns[connect_ns.size() / 2] / 1e3,
                connect_ns.back() / 1e3);
    std::fflush(stdout);
    return absl::OkStatus();
  }

  // Requests and responses until `stats` says the run is over; the error
  // that ended it early, or empty.
  std::string Drive(RunStats& stats) {
    std::string error = TopUpAll();
    bool done = false;
    while (!done && error.empty()) {
      ferry_recv_info info{};
      const ssize_t n =
          o_.spin ? ferry_recv(ch_, response_.data(), response_.size(), &info)
                  : ferry_recv_wait(ch_, response_.data(), response_.size(),
                                    &info, 100);
      const uint64_t now = MonotonicNanos();
      if (n == -EAGAIN || n == -ETIMEDOUT) {
        // Spinning polls again at once, as applications written for
        // Machnet do (the library yields for us after a run of empty
        // polls). A send may have found the channel full: try again.
        done = stats.Tick(now);
        if (!done) error = TopUpAll();
        continue;
      }
      if (n < 0) return Errno(static_cast<int>(n));
      if (info.flags & FERRY_RECV_EVENT_MASK) {
        return absl::StrFormat("flow %d: %s", info.flow,
                               ferry_status_name(info.status));
      }
      error = OnResponse(info.flow, static_cast<size_t>(n), now, stats, &done);
    }
    return error;
  }

  // An orderly close: waits (briefly) until each flow's FIN exchange is
  // done, so that detaching does not reset flows still closing.
  void Close() {
    uint32_t closing = 0;
    for (ClientFlow& flow : flows_) {
      if (ferry_close(ch_, flow.handle, 1000) == 0) ++closing;
    }
    // Under loss the FIN exchange can take a few (backed-off) timeouts.
    const uint64_t close_deadline = MonotonicNanos() + 10'000'000'000ull;
    while (closing > 0 && MonotonicNanos() < close_deadline) {
      ferry_recv_info info{};
      const ssize_t n =
          ferry_recv_wait(ch_, response_.data(), response_.size(), &info, 100);
      if (n >= 0 && (info.flags & FERRY_RECV_FLOW_CLOSED)) --closing;
    }
  }

 private:
  // Every flow's window, the first time; flows the channel refuses then
  // wait in order. Later (an idle poll), the waiting ones.
  std::string TopUpAll() {
    if (!started_) {
      started_ = true;
      for (uint32_t i = 0; i < o_.flows; ++i) {
        if (const int rc = TopUp(ch_, flows_[i], i, o_, request_, &rng_);
            rc != 0) {
          return Errno(rc);
        }
        if (flows_[i].count < flows_[i].sent_ns.size()) Wait(i);
      }
      return "";
    }
    const int rc = TopUpWaiting();
    return rc == 0 ? "" : Errno(rc);
  }

  // A response of `n` bytes on `handle`: the oldest request of its flow
  // is answered and, unless that ended the run, the flow's window refilled.
  std::string OnResponse(uint64_t handle, size_t n, uint64_t now,
                         RunStats& stats, bool* done) {
    auto it = by_handle_.find(handle);
    if (it == by_handle_.end()) return "";
    ClientFlow& flow = flows_[it->second];
    if (flow.count == 0) return "a response nobody asked for";
    const uint32_t window = static_cast<uint32_t>(flow.sent_ns.size());
    const uint64_t seq = flow.seqs[flow.head];
    stats.OnRoundTrip(now, now - flow.sent_ns[flow.head],
                      flow.size_classes[flow.head], flow.waited_ns[flow.head]);
    flow.head = (flow.head + 1) % window;
    --flow.count;
    if (o_.verify && (n != o_.response_size ||
                      !CheckPayload(response_.data(), n, seq, true))) {
      stats.OnVerifyFailure();
    }
    *done = stats.Tick(now);
    if (*done) return "";
    // Flows the full channel refused go first, oldest first, then this
    // one: a flow refused once must not wait until the channel is idle
    // (with thousands of flows it never is).
    if (const int rc = TopUpWaiting(); rc != 0) return Errno(rc);
    if (flow.waiting) return "";
    const int rc = TopUp(ch_, flow, it->second, o_, request_, &rng_);
    if (rc != 0) return Errno(rc);
    if (flow.count < window) Wait(it->second);
    return "";
  }

  void Wait(uint32_t index) {
    flows_[index].waiting = true;
    waiting_.push_back(index);
  }

  // Tops up waiting flows in order until one is refused again.
  int TopUpWaiting() {
    while (!waiting_.empty()) {
      const uint32_t index = waiting_.front();
      ClientFlow& flow = flows_[index];
      if (const int rc = TopUp(ch_, flow, index, o_, request_, &rng_);
          rc != 0) {
        return rc;
      }
      if (flow.count < flow.sent_ns.size()) return 0;  // refused: stays
      flow.waiting = false;
      waiting_.pop_front();
    }
    return 0;
  }

  ferry_channel* const ch_;
  const MsgGenOptions& o_;
  std::vector<ClientFlow> flows_;
  absl::flat_hash_map<uint64_t, uint32_t> by_handle_;
  std::deque<uint32_t> waiting_;  // flows refused by the full channel
  bool started_ = false;
  std::vector<uint8_t> request_;
  std::vector<uint8_t> response_;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;  // request sizes' draws
};

}  // namespace

absl::Status RunFerryClient(const MsgGenOptions& o) {
  ferry_channel* ch = nullptr;
  const ferry_channel_options options = ChannelOptions(o);
  const int rc = ferry_attach(o.ferryd_socket.c_str(), &options, &ch);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrFormat(
        "cannot attach to ferryd at %s: %s", o.ferryd_socket, Errno(rc)));
  }
  FerryClientRun run(ch, o);
  if (absl::Status connected = run.Connect(); !connected.ok()) {
    ferry_detach(ch);
    return connected;
  }
  RunStats stats(o, MonotonicNanos());
  const std::string error = run.Drive(stats);
  const absl::Status written = stats.Finish(MonotonicNanos(), error);
  run.Close();
  ferry_detach(ch);
  if (!error.empty()) return absl::AbortedError(error);
  if (stats.verify_failures() > 0) {
    return absl::DataLossError(absl::StrFormat(
        "%d responses failed verification", stats.verify_failures()));
  }
  return written;
}

absl::Status RunFerryServer(const MsgGenOptions& o,
                            const std::atomic<bool>& stop) {
  ferry_channel* ch = nullptr;
  const ferry_channel_options options = ChannelOptions(o);
  int rc = ferry_attach(o.ferryd_socket.c_str(), &options, &ch);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrFormat(
        "cannot attach to ferryd at %s: %s", o.ferryd_socket, Errno(rc)));
  }
  rc = ferry_listen_on(ch, o.local_ip, o.local_port, 5000);
  if (rc != 0) {
    ferry_detach(ch);
    return absl::UnavailableError(absl::StrFormat(
        "cannot listen on port %d: %s", o.local_port, Errno(rc)));
  }
  std::printf("msg_gen server: ferry, listening on port %d\n", o.local_port);
  std::fflush(stdout);
  std::vector<uint8_t> request(FERRY_MAX_MESSAGE_SIZE);
  std::vector<uint8_t> response(o.response_size);
  uint64_t served = 0, accepted = 0, closed = 0, bad = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    ferry_recv_info info{};
    const ssize_t n =
        o.spin
            ? ferry_recv(ch, request.data(), request.size(), &info)
            : ferry_recv_wait(ch, request.data(), request.size(), &info, 100);
    if (n == -EAGAIN || n == -ETIMEDOUT) continue;
    if (n < 0) break;
    if (info.flags & FERRY_RECV_FLOW_ACCEPTED) ++accepted;
    if (info.flags & FERRY_RECV_FLOW_CLOSED) ++closed;
    if (info.flags & FERRY_RECV_EVENT_MASK) continue;
    const uint64_t seq = PayloadSeq(request.data(), static_cast<size_t>(n));
    // Any request size is answered (clients may differ); its bytes must
    // match the pattern of its sequence number.
    if (o.verify &&
        !CheckPayload(request.data(), static_cast<size_t>(n), seq, false)) {
      ++bad;
    }
    if (o.think_us > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(o.think_us));
    }
    if (o.verify) {
      FillPayload(response.data(), response.size(), seq, true);
    } else if (response.size() >= sizeof(seq)) {
      std::memcpy(response.data(), &seq, sizeof(seq));
    }
    while ((rc = ferry_send(ch, info.flow, response.data(), response.size())) ==
               -EAGAIN &&
           !stop.load(std::memory_order_relaxed)) {
      std::this_thread::yield();
    }
    ++served;
  }
  std::printf(
      "msg_gen server: %lu requests answered, %lu flows accepted, %lu "
      "closed, %lu failed verification\n",
      static_cast<unsigned long>(served), static_cast<unsigned long>(accepted),
      static_cast<unsigned long>(closed), static_cast<unsigned long>(bad));
  ferry_detach(ch);
  if (bad > 0) {
    return absl::DataLossError(
        absl::StrFormat("%d requests failed verification", bad));
  }
  return absl::OkStatus();
}

}  // namespace ferry::bench

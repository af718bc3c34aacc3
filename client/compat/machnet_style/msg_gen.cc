// A request/response load generator written the way Machnet's own msg_gen
// and its users' programs are: C++ with gflags, one channel, the Machnet
// API only, and a loop that spins on machnet_recv without ever yielding or
// blocking. It is built with Machnet's compile line against Ferry's
// machnet.h and libmachnet_shim, never by Bazel:
//
//   g++ -O2 -I<include dir> msg_gen.cc -L<lib dir> -lmachnet_shim -lgflags
//
// Server: echoes every message back to its sender.
//   msg_gen --local_ip=10.0.0.2
// Client (--active_generator): keeps --msg_window requests of
// --tx_msg_size bytes in flight for --duration_s seconds, then prints one
// line: "msg_gen: RPC/s R p50_us A p99_us B p999_us C count N".
//   msg_gen --local_ip=10.0.0.1 --remote_ip=10.0.0.2 --active_generator
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <vector>

#include "machnet.h"

DEFINE_string(local_ip, "", "IP address of the local Machnet interface");
DEFINE_string(remote_ip, "", "IP address of the remote server");
DEFINE_uint32(remote_port, 888, "Port of the remote server");
DEFINE_uint32(local_port, 888, "Port the server listens on");
DEFINE_uint32(tx_msg_size, 1024, "Size of each request and response");
DEFINE_uint32(msg_window, 8, "Requests in flight");
DEFINE_double(duration_s, 5, "How long the client measures");
DEFINE_double(warmup_s, 0.5, "How long the client runs before measuring");
DEFINE_bool(active_generator, false, "Client (sends requests)");

static volatile sig_atomic_t g_stop = 0;
static void OnSignal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

struct Slot {
  uint64_t id;
  uint64_t sent_ns;
};

static uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch())
      .count();
}

static int RunServer(void *channel) {
  if (machnet_listen(channel, FLAGS_local_ip.c_str(), FLAGS_local_port) != 0) {
    fprintf(stderr, "machnet_listen failed\n");
    return 1;
  }
  printf("msg_gen server: listening on %s:%u\n", FLAGS_local_ip.c_str(),
         FLAGS_local_port);
  fflush(stdout);
  std::vector<char> buf(MACHNET_MSG_MAX_LEN);
  uint64_t served = 0;
  while (!g_stop) {
    MachnetFlow flow;
    const ssize_t n = machnet_recv(channel, buf.data(), buf.size(), &flow);
    if (n <= 0) continue;  // spin: no yield, no sleep
    // Answer the sender: swap the tuple, as Machnet's examples do.
    MachnetFlow reply = flow;
    std::swap(reply.src_ip, reply.dst_ip);
    std::swap(reply.src_port, reply.dst_port);
    while (machnet_send(channel, reply, buf.data(), n) != 0 && !g_stop) {
    }
    ++served;
  }
  printf("msg_gen server: served %lu\n", (unsigned long)served);
  return 0;
}

static int RunClient(void *channel) {
  MachnetFlow flow;
  if (machnet_connect(channel, FLAGS_local_ip.c_str(), FLAGS_remote_ip.c_str(),
                      FLAGS_remote_port, &flow) != 0) {
    fprintf(stderr, "machnet_connect failed\n");
    return 1;
  }
  const uint32_t size = std::max<uint32_t>(FLAGS_tx_msg_size, sizeof(Slot));
  const uint32_t window = std::max<uint32_t>(FLAGS_msg_window, 1);
  std::vector<char> request(size), response(size + 1);
  std::vector<uint64_t> latencies;
  latencies.reserve(1 << 22);
  uint64_t next_id = 0, in_flight = 0, bad = 0;
  const uint64_t start = NowNs();
  const uint64_t measure_from = start + uint64_t(FLAGS_warmup_s * 1e9);
  const uint64_t end = measure_from + uint64_t(FLAGS_duration_s * 1e9);
  uint64_t now = start;
  while (now < end && !g_stop) {
    while (in_flight < window) {
      Slot slot{next_id, NowNs()};
      memcpy(request.data(), &slot, sizeof(slot));
      if (machnet_send(channel, flow, request.data(), size) != 0) break;
      ++next_id;
      ++in_flight;
    }
    MachnetFlow from;
    const ssize_t n =
        machnet_recv(channel, response.data(), response.size(), &from);
    now = NowNs();
    if (n == 0) continue;  // spin
    if (n != ssize_t(size)) {
      fprintf(stderr, "machnet_recv: %zd (expected %u)\n", n, size);
      ++bad;
      break;
    }
    Slot slot;
    memcpy(&slot, response.data(), sizeof(slot));
    --in_flight;
    if (slot.sent_ns >= measure_from) latencies.push_back(now - slot.sent_ns);
  }
  if (bad != 0 || latencies.empty()) {
    fprintf(stderr, "msg_gen: no measurement\n");
    return 1;
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies[std::min(latencies.size() - 1,
                              size_t(p * latencies.size()))] /
           1e3;
  };
  const double seconds = (now - std::max(measure_from, start)) / 1e9;
  printf("msg_gen: RPC/s %.0f p50_us %.1f p99_us %.1f p999_us %.1f count %zu\n",
         latencies.size() / seconds, pct(0.5), pct(0.99), pct(0.999),
         latencies.size());
  return 0;
}

int main(int argc, char **argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  if (machnet_init() != 0) {
    fprintf(stderr, "machnet_init failed\n");
    return 1;
  }
  void *channel = machnet_attach();
  if (channel == nullptr) {
    fprintf(stderr, "machnet_attach failed\n");
    return 1;
  }
  usleep(1000);  // unistd.h comes with machnet.h, as with Machnet's
  return FLAGS_active_generator ? RunClient(channel) : RunServer(channel);
}

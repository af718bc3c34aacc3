// A Machnet application that sends and leaves: it connects, sends --count
// messages (each accepted by machnet_send, retried while the channel is
// full, as Machnet's programs do), and returns from main at once, or with
// --kill dies by SIGKILL right after the last send returned. Everything
// machnet_send accepted must still reach the peer.
//
// The same program is the peer (--sink): it spins on machnet_recv, checks
// every message byte for byte against what the sender generates from the
// same run number, and prints "run R complete: N messages, B bytes" once a
// run has arrived whole and in order (or "run R: BAD ..." at the first
// difference). --stall_after=K makes it stop reading after K messages (a
// peer that has stopped reading).
//
// Built with Machnet's compile line:
//   g++ -O2 -I<include dir> send_and_exit.cc -L<lib dir> -lmachnet_shim
//     -lgflags
#include <gflags/gflags.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "machnet.h"

DEFINE_string(local_ip, "", "IP address of the local Machnet interface");
DEFINE_string(remote_ip, "", "sender: IP address of the sink");
DEFINE_uint32(port, 888, "the sink's port");
DEFINE_bool(sink, false, "receive and verify instead of sending");
DEFINE_uint64(run, 1, "sender: run number (seeds sizes and contents)");
DEFINE_uint32(count, 1000, "sender: messages to send (1..1000000)");
DEFINE_uint32(max_size, MACHNET_MSG_MAX_LEN,
              "sender: the largest message; every 250th and the last have "
              "this size (1..8 MiB)");
DEFINE_bool(kill, false, "sender: SIGKILL itself right after the last send");
DEFINE_uint32(give_up_ms, 0,
              "sender: stop (and exit) when the channel has stayed full "
              "this long (0: retry for ever)");
DEFINE_uint64(stall_after, 0, "sink: stop reading after this many messages");

namespace {

constexpr uint32_t kMagic = 0x5e4dc0de;

// What a run's first message says (then come its messages, in order).
struct RunHeader {
  uint32_t magic;
  uint32_t count;
  uint64_t run;
  uint32_t max_size;
  uint32_t reserved;
};

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Message `index` of a run: 1 B up to max_size, mostly small.
uint32_t SizeOf(const RunHeader& h, uint32_t index) {
  if (index + 1 == h.count || index % 250 == 249) return h.max_size;
  const uint64_t r = Mix(h.run * 1000003 + index);
  uint32_t size;
  switch (r % 20) {
    case 0:
      size = 16385 + uint32_t((r >> 8) % 245760);  // up to 256 KiB
      break;
    case 1:
    case 2:
    case 3:
    case 4:
      size = 65 + uint32_t((r >> 8) % 16320);
      break;
    default:
      size = 1 + uint32_t((r >> 8) % 64);
      break;
  }
  return size < h.max_size ? size : h.max_size;
}

void Fill(const RunHeader& h, uint32_t index, char* out, uint32_t size) {
  uint64_t state = Mix(h.run ^ (uint64_t(index) << 32));
  for (uint32_t i = 0; i < size; i += 8) {
    state = Mix(state);
    const uint32_t n = size - i < 8 ? size - i : 8;
    memcpy(out + i, &state, n);
  }
}

int RunSender(void* channel) {
  MachnetFlow flow;
  if (machnet_connect(channel, FLAGS_local_ip.c_str(), FLAGS_remote_ip.c_str(),
                      FLAGS_port, &flow) != 0) {
    fprintf(stderr, "machnet_connect failed\n");
    return 1;
  }
  RunHeader h = {kMagic, FLAGS_count, FLAGS_run, FLAGS_max_size, 0};
  if (h.count == 0 || h.max_size == 0 || h.max_size > MACHNET_MSG_MAX_LEN) {
    fprintf(stderr,
            "--count and --max_size must be positive, the size at "
            "most 8 MiB\n");
    return 2;
  }
  while (machnet_send(channel, flow, &h, sizeof(h)) != 0) {
  }
  std::vector<char> buf(h.max_size);
  uint64_t bytes = 0;
  uint32_t sent = 0;
  bool gave_up = false;
  for (uint32_t i = 0; i < h.count && !gave_up; ++i) {
    const uint32_t size = SizeOf(h, i);
    Fill(h, i, buf.data(), size);
    // The channel is full while the peer acknowledges: try again.
    const auto first_try = std::chrono::steady_clock::now();
    while (machnet_send(channel, flow, buf.data(), size) != 0) {
      if (FLAGS_give_up_ms != 0 &&
          std::chrono::steady_clock::now() - first_try >
              std::chrono::milliseconds(FLAGS_give_up_ms)) {
        gave_up = true;
        break;
      }
    }
    if (gave_up) break;
    ++sent;
    bytes += size;
  }
  printf("run %lu sent: %u messages, %lu bytes%s\n", (unsigned long)h.run, sent,
         (unsigned long)bytes,
         gave_up ? " (then the channel stayed full)" : "");
  fflush(stdout);
  if (FLAGS_kill) kill(getpid(), SIGKILL);
  return 0;  // at once: no wait for the peer
}

struct Progress {
  RunHeader header{};
  bool started = false;
  bool failed = false;
  uint32_t next = 0;
  uint64_t bytes = 0;
};

int RunSink(void* channel) {
  if (machnet_listen(channel, FLAGS_local_ip.c_str(), FLAGS_port) != 0) {
    fprintf(stderr, "machnet_listen failed\n");
    return 1;
  }
  printf("sink: listening on %s:%u\n", FLAGS_local_ip.c_str(), FLAGS_port);
  fflush(stdout);
  std::vector<char> buf(MACHNET_MSG_MAX_LEN + 1), expected(MACHNET_MSG_MAX_LEN);
  std::map<std::pair<uint32_t, uint16_t>, Progress> flows;
  uint64_t received = 0;
  for (;;) {
    if (FLAGS_stall_after != 0 && received >= FLAGS_stall_after) {
      printf("sink: stalled after %lu messages\n", (unsigned long)received);
      fflush(stdout);
      for (;;) pause();
    }
    MachnetFlow from;
    const ssize_t n = machnet_recv(channel, buf.data(), buf.size(), &from);
    if (n == 0) continue;  // spin
    if (n < 0) {
      fprintf(stderr, "machnet_recv failed\n");
      return 1;
    }
    ++received;
    Progress& p = flows[{from.src_ip, from.src_port}];
    if (p.failed) continue;
    if (!p.started) {
      if (n != sizeof(RunHeader) ||
          (memcpy(&p.header, buf.data(), sizeof(RunHeader)),
           p.header.magic != kMagic)) {
        printf("sink: BAD first message of %zd bytes\n", n);
        p.failed = true;
      } else {
        p.started = true;
      }
      fflush(stdout);
      continue;
    }
    const uint32_t size = SizeOf(p.header, p.next);
    Fill(p.header, p.next, expected.data(), size);
    if (n != ssize_t(size) || memcmp(buf.data(), expected.data(), size) != 0) {
      printf("run %lu: BAD message %u: %zd bytes, expected %u\n",
             (unsigned long)p.header.run, p.next, n, size);
      fflush(stdout);
      p.failed = true;
      continue;
    }
    p.bytes += size;
    if (++p.next == p.header.count) {
      printf("run %lu complete: %u messages, %lu bytes\n",
             (unsigned long)p.header.run, p.header.count,
             (unsigned long)p.bytes);
      fflush(stdout);
      flows.erase({from.src_ip, from.src_port});
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (machnet_init() != 0) {
    fprintf(stderr, "machnet_init failed\n");
    return 1;
  }
  void* channel = machnet_attach();
  if (channel == nullptr) {
    fprintf(stderr, "machnet_attach failed\n");
    return 1;
  }
  return FLAGS_sink ? RunSink(channel) : RunSender(channel);
}

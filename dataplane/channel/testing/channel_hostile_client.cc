// A hostile application: it attaches through the raw ABI (no client library)
// and then misbehaves in one of several ways.
//
//   channel_hostile_client --socket=@name --mode=MODE [--duration_ms=N]
//   channel_hostile_client --ferryd_socket=@api --mode=MODE  (through a
//       session: the ticket comes from ferryd's API, the rest is raw)
//
//   scribble         random bytes over the whole segment, rings included
//   bad_descriptors  descriptors with out-of-range indices and lengths,
//                    chain loops, overfilled buffers
//   corrupt_indices  garbage in every ring's head, tail and doorbell flag
//   shrink           tries to shrink the segment (sealed: must fail), then
//                    unmaps its own view of it
//   die_mid_send     half-writes an 8 MiB chain, queues it, and SIGKILLs
//                    itself
//   no_ticket        attaches to --socket without a ticket, or with a
//                    forged one: must be refused (exits 0 when it was)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "client/abi/channel_layout.h"
#include "client/abi/fd_passing.h"
#include "client/abi/ferry_attach_abi.h"
#include "client/abi/shm_ring.h"
#include "client/session_client.h"
#include "dataplane/base/clock.h"

ABSL_FLAG(std::string, socket, "", "channel socket");
ABSL_FLAG(std::string, ferryd_socket, "",
          "ferryd's API socket: attach with a session's ticket");
ABSL_FLAG(std::string, mode, "scribble", "what to do wrong");
ABSL_FLAG(int, duration_ms, 2000, "how long to keep doing it");

namespace {

using ferry::shm::ChannelView;

struct Attached {
  int sock = -1;
  int segment_fd = -1;
  int engine_fd = -1;
  uint8_t* base = nullptr;
  size_t size = 0;
  ChannelView view;
};

bool AttachRaw(const std::string& path, const uint8_t* ticket, Attached* out) {
  sockaddr_un addr;
  socklen_t len;
  if (!ferry::shm::MakeUnixAddress(path.c_str(), &addr, &len)) return false;
  out->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(out->sock, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return false;
  }
  ferry_attach_request request = {};
  request.magic = FERRY_ATTACH_MAGIC;
  request.version = FERRY_CHANNEL_ABI_VERSION;
  if (ticket != nullptr) {
    std::memcpy(request.ticket, ticket, sizeof(request.ticket));
  }
  ferry_attach_reply reply;
  int fds[FERRY_ATTACH_FD_COUNT];
  int count = 0;
  if (ferry::shm::SendWithFds(out->sock, &request, sizeof(request), nullptr,
                              0) != 0 ||
      ferry::shm::ReceiveWithFds(out->sock, &reply, sizeof(reply), fds, 3,
                                 &count) != 0 ||
      count != 3 || reply.error != 0) {
    return false;
  }
  out->segment_fd = fds[0];
  out->engine_fd = fds[1];
  struct stat st;
  fstat(out->segment_fd, &st);
  out->size = static_cast<size_t>(st.st_size);
  out->base =
      static_cast<uint8_t*>(mmap(nullptr, out->size, PROT_READ | PROT_WRITE,
                                 MAP_SHARED, out->segment_fd, 0));
  std::string error;
  if (out->base == MAP_FAILED ||
      !ferry::shm::ValidateChannelHeader(
          *reinterpret_cast<ferry_channel_header*>(out->base), out->size,
          &out->view.layout, &error)) {
    return false;
  }
  out->view.base = out->base;
  return true;
}

void KickEngine(const Attached& a) {
  const uint64_t one = 1;
  ssize_t ignored = write(a.engine_fd, &one, sizeof(one));
  (void)ignored;
}

bool TimeLeft(uint64_t deadline) { return ferry::MonotonicNanos() < deadline; }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  // Kept for the process's lifetime: the channel belongs to the session.
  std::unique_ptr<ferry::client::SessionClient> session;
  std::string path = absl::GetFlag(FLAGS_socket);
  ferry::client::ChannelTicket ticket;
  const uint8_t* ticket_bytes = nullptr;
  if (!absl::GetFlag(FLAGS_ferryd_socket).empty()) {
    std::string error;
    if (ferry::client::SessionClient::Open(absl::GetFlag(FLAGS_ferryd_socket),
                                           "hostile", &session, &error) != 0 ||
        session->CreateChannel(&ticket, &error) != 0) {
      std::printf("FAIL session: %s\n", error.c_str());
      return 1;
    }
    if (path.empty()) path = ticket.channel_socket;
    ticket_bytes = ticket.ticket.data();
  }
  Attached a;
  if (mode == "no_ticket") {
    uint8_t forged[16];
    std::memset(forged, 0x5a, sizeof(forged));
    Attached b;
    if (AttachRaw(path, nullptr, &a) || AttachRaw(path, forged, &b)) {
      std::printf("FAIL attached without a valid ticket\n");
      return 1;
    }
    std::printf("ok refused without a valid ticket\n");
    return 0;
  }
  if (!AttachRaw(path, ticket_bytes, &a)) {
    std::printf("FAIL attach\n");
    return 1;
  }
  const uint64_t deadline =
      ferry::MonotonicNanos() +
      uint64_t(absl::GetFlag(FLAGS_duration_ms)) * 1000000ull;
  std::mt19937_64 rng(getpid());
  const ChannelView& v = a.view;
  const uint32_t buffers = v.layout.sizes.buffer_count;

  if (mode == "scribble") {
    uint64_t rounds = 0;
    while (TimeLeft(deadline)) {
      // Random bytes at random places, mostly in the rings and meta.
      for (int i = 0; i < 4096; ++i) {
        const size_t limit = (rng() % 4 == 0) ? a.size : v.layout.data_offset;
        const size_t offset = rng() % (limit - 8);
        const uint64_t value = rng();
        std::memcpy(a.base + offset, &value, 8);
      }
      KickEngine(a);
      ++rounds;
    }
    std::printf("scribbled %lu rounds\n", static_cast<unsigned long>(rounds));
  } else if (mode == "bad_descriptors") {
    auto tx = ferry::shm::MakeProducer<ferry_desc>(
        v, FERRY_RING_TX, v.ring_indices(FERRY_RING_TX)->tail);
    ferry_buffer_meta* meta = v.meta();
    uint64_t sent = 0;
    while (TimeLeft(deadline)) {
      ferry_desc d = {};
      d.type = FERRY_DESC_MESSAGE;
      d.cookie = sent;
      switch (rng() % 5) {
        case 0:  // index out of range
          d.head = buffers + static_cast<uint32_t>(rng() % 1000);
          d.length = 100;
          break;
        case 1: {  // a loop through three buffers
          const uint32_t b = static_cast<uint32_t>(rng() % (buffers - 3));
          meta[b] = {b + 1, 4096};
          meta[b + 1] = {b + 2, 4096};
          meta[b + 2] = {b, 4096};
          d.head = b;
          d.length = 3 * 4096;
          break;
        }
        case 2:  // absurd length
          d.head = 0;
          d.length = 0xffffffff;
          break;
        case 3:  // meta length beyond the buffer
          meta[5] = {FERRY_BUFFER_NONE, 1u << 30};
          d.head = 5;
          d.length = 1u << 30;
          break;
        default:  // no buffer, and more than fits inline
          d.head = FERRY_BUFFER_NONE;
          d.length = FERRY_INLINE_MAX + 1 + static_cast<uint32_t>(rng() % 100);
          break;
      }
      if (!tx.TryPush(d)) {
        KickEngine(a);
        usleep(50);
        continue;
      }
      if (tx.Publish() || sent % 16 == 0) KickEngine(a);
      ++sent;
    }
    std::printf("sent %lu bad descriptors\n", static_cast<unsigned long>(sent));
  } else if (mode == "corrupt_indices") {
    // Garbage in every ring's indices, over and over.
    uint64_t rounds = 0;
    while (TimeLeft(deadline)) {
      for (int id = 0; id < FERRY_RING_COUNT; ++id) {
        ferry_ring_indices* indices = v.ring_indices(id);
        indices->head = static_cast<uint32_t>(rng());
        indices->tail = static_cast<uint32_t>(rng());
        indices->consumer_waiting = static_cast<uint32_t>(rng());
      }
      KickEngine(a);
      ++rounds;
      usleep(100);
    }
    std::printf("corrupted indices %lu times\n",
                static_cast<unsigned long>(rounds));
  } else if (mode == "shrink") {
    // Shrink to half, in whole hugepages so that only the seal can refuse.
    const off_t half = static_cast<off_t>(a.size / 2) & ~off_t{(2 << 20) - 1};
    const int rc = ftruncate(a.segment_fd, half);
    std::printf("shrink: ftruncate %s\n",
                rc == 0 ? "SUCCEEDED (seal missing!)" : strerror(errno));
    const int grow = ftruncate(a.segment_fd, static_cast<off_t>(a.size * 2));
    std::printf("grow: ftruncate %s\n",
                grow == 0 ? "SUCCEEDED (seal missing!)" : strerror(errno));
    const int unseal = fcntl(a.segment_fd, F_ADD_SEALS, F_SEAL_WRITE);
    std::printf("add seal: %s\n", unseal == 0 ? "SUCCEEDED" : strerror(errno));
    munmap(a.base, a.size);
    std::printf("unmapped own view\n");
    while (TimeLeft(deadline)) usleep(10000);
    if (rc == 0 || grow == 0) return 1;
  } else if (mode == "die_mid_send") {
    // Take every buffer the engine gave us, chain half an 8 MiB message,
    // queue it as if whole, and die before anything else.
    auto app_free = ferry::shm::MakeConsumer<uint32_t>(
        v, FERRY_RING_APP_FREE, v.ring_indices(FERRY_RING_APP_FREE)->head);
    const uint32_t available = app_free.Available();
    ferry_buffer_meta* meta = v.meta();
    uint32_t head = FERRY_BUFFER_NONE, previous = FERRY_BUFFER_NONE;
    for (uint32_t i = 0; i < available && i < 1024; ++i) {
      const uint32_t b = app_free.Peek(i);
      std::memset(v.buffer(b), 0xab, v.layout.sizes.buffer_size);
      meta[b] = {FERRY_BUFFER_NONE, v.layout.sizes.buffer_size};
      if (previous == FERRY_BUFFER_NONE) {
        head = b;
      } else {
        meta[previous].next = b;
      }
      previous = b;
    }
    app_free.Consume(available < 1024 ? available : 1024);
    auto tx = ferry::shm::MakeProducer<ferry_desc>(
        v, FERRY_RING_TX, v.ring_indices(FERRY_RING_TX)->tail);
    ferry_desc d = {};
    d.type = FERRY_DESC_MESSAGE;
    d.head = head;
    d.length = FERRY_MAX_MESSAGE_SIZE;  // only half of it is there
    tx.Write(d);
    tx.Publish();
    KickEngine(a);
    std::printf("dying mid-send\n");
    std::fflush(stdout);
    raise(SIGKILL);
  } else {
    std::printf("unknown mode %s\n", mode.c_str());
    return 2;
  }
  std::fflush(stdout);
  return 0;
}

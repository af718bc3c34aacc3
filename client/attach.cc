// The client library, attaching: sessions, channel sockets, mapping a channel
// segment and detaching.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "client/abi/fd_passing.h"
#include "client/abi/ferry_attach_abi.h"
#include "client/channel_state.h"

namespace ferry::client {

void CloseAll(ferry_channel* ch) {
  if (ch->view.base != nullptr) {
    munmap(ch->view.base, ch->view.layout.segment_size);
  }
  for (int fd : {ch->sock, ch->segment_fd, ch->engine_fd, ch->app_fd}) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace ferry::client

namespace {

using ferry::client::CloseAll;
using ferry::shm::ChannelView;

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
    // Not populated: pages come on first touch (ferryd populates hugepage
    // segments itself), so an idle channel costs the app little too.
    base = mmap(nullptr, static_cast<size_t>(st.st_size),
                PROT_READ | PROT_WRITE, MAP_SHARED, ch->segment_fd, 0);
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

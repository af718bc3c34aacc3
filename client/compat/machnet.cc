// Machnet's API over Ferry's client library (see machnet.h for what
// differs). Machnet names a flow by its 4-tuple; Ferry by a handle. Each
// channel keeps the map from one to the other: filled by connect, by
// listeners' accept events, and by every received message (whose
// descriptor carries its peer's address); emptied when a flow ends.
#include "client/compat/machnet.h"

#include <arpa/inet.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/abi/ferry_attach_abi.h"
#include "client/ferry.h"

namespace {

constexpr int kControlTimeoutMs = 10000;  // Machnet's own gives up at ~10 s

struct CompatChannel {
  ferry_channel* channel = nullptr;
  // FERRY_PEER_COOKIE(remote ip, remote port, local port) -> flow handle.
  std::unordered_map<uint64_t, uint64_t> flows;
  std::vector<struct iovec> iov;  // scratch for sendmsg/recvmsg
};

bool g_initialized = false;
// The process's one session with ferryd (machnet_init opens it), as a
// Machnet application has one control connection to its sidecar.
ferry_session* g_session = nullptr;
// Machnet has no detach: channels live until the process exits. They are
// detached then, and the session closed (ferryd would reclaim them anyway;
// this also frees the library's own memory).
std::vector<CompatChannel*>* g_channels = nullptr;

void DetachAll() {
  if (g_channels != nullptr) {
    for (CompatChannel* c : *g_channels) {
      ferry_detach(c->channel);
      delete c;
    }
    delete g_channels;
    g_channels = nullptr;
  }
  ferry_session_close(g_session);
  g_session = nullptr;
}

CompatChannel* Ctx(const void* channel_ctx) {
  return const_cast<CompatChannel*>(
      static_cast<const CompatChannel*>(channel_ctx));
}

bool ParseIp(const char* text, uint32_t* ip) {
  in_addr addr;
  if (text == nullptr || inet_pton(AF_INET, text, &addr) != 1) return false;
  *ip = ntohl(addr.s_addr);
  return true;
}

uint64_t KeyForSend(const MachnetFlow_t& flow) {
  return FERRY_PEER_COOKIE(flow.dst_ip, flow.dst_port, flow.src_port);
}

// Takes events off the receive ring until a message is next: accepted
// flows join the map, ended ones leave it. Returns the message's length,
// or a negative errno (-EAGAIN: only events, or nothing, were waiting).
template <typename Recv>
ssize_t NextMessage(CompatChannel* c, ferry_recv_info* info, Recv&& recv) {
  for (;;) {
    const ssize_t n = recv(info);
    if (n < 0) return n;
    if (info->flags & FERRY_RECV_FLOW_ACCEPTED) {
      c->flows[info->cookie] = info->flow;
      continue;
    }
    if (info->flags & FERRY_RECV_FLOW_CLOSED) {
      auto it = c->flows.find(info->cookie);
      if (it != c->flows.end() && it->second == info->flow) c->flows.erase(it);
      continue;
    }
    if (info->flags & FERRY_RECV_SEND_ERROR) continue;  // Machnet has none
    c->flows[info->cookie] = info->flow;
    return n;
  }
}

MachnetFlow_t ReceivedFlow(const CompatChannel* c,
                           const ferry_recv_info& info) {
  MachnetFlow_t flow;
  flow.src_ip = FERRY_COOKIE_REMOTE_IP(info.cookie);
  flow.src_port = FERRY_COOKIE_REMOTE_PORT(info.cookie);
  flow.dst_ip = ferry_local_ip(c->channel);
  flow.dst_port = FERRY_COOKIE_LOCAL_PORT(info.cookie);
  return flow;
}

}  // namespace

extern "C" {

int g_ctrl_socket = -1;

int machnet_init(void) {
  if (g_initialized) return 0;
  const char* socket = std::getenv("FERRY_SOCKET");
  if (ferry_session_open(socket != nullptr && socket[0] != '\0'
                             ? socket
                             : FERRY_DEFAULT_SOCKET,
                         &g_session) != 0) {
    return -1;
  }
  std::atexit(DetachAll);
  g_initialized = true;
  return 0;
}

MachnetChannelCtx_t* machnet_bind(int shm_fd, size_t* channel_size) {
  if (channel_size != nullptr) *channel_size = 0;
  // Machnet closes the descriptor when it cannot map a channel from it.
  if (shm_fd >= 0) close(shm_fd);
  errno = ENOTSUP;
  return nullptr;
}

void* machnet_attach(void) {
  if (!g_initialized && machnet_init() != 0) return nullptr;
  auto* c = new CompatChannel();
  if (ferry_session_attach(g_session, nullptr, &c->channel) != 0) {
    delete c;
    return nullptr;
  }
  if (g_channels == nullptr) g_channels = new std::vector<CompatChannel*>();
  g_channels->push_back(c);
  return c;
}

int machnet_listen(void* channel_ctx, const char* local_ip, uint16_t port) {
  CompatChannel* c = Ctx(channel_ctx);
  uint32_t ip;
  if (!ParseIp(local_ip, &ip)) return -EINVAL;
  if (c == nullptr || port == 0) return -1;
  // On that NIC only (Machnet's listener is its engine's address); an
  // address no NIC has is refused, as Machnet refuses one not its own.
  return ferry_listen_on(c->channel, ip, port, kControlTimeoutMs) == 0 ? 0 : -1;
}

int machnet_connect(void* channel_ctx, const char* local_ip,
                    const char* remote_ip, uint16_t remote_port,
                    MachnetFlow_t* flow) {
  CompatChannel* c = Ctx(channel_ctx);
  uint32_t local = 0, remote = 0;
  if (c == nullptr || flow == nullptr || !ParseIp(local_ip, &local) ||
      !ParseIp(remote_ip, &remote) || remote_port == 0) {
    return -1;
  }
  uint64_t handle = 0;
  ferry_flow_addr addr;
  // From the NIC with that address, whichever engine serves the channel.
  if (ferry_connect_from(c->channel, local, remote, remote_port, 0,
                         kControlTimeoutMs, &handle, &addr) != 0) {
    return -1;
  }
  flow->src_ip = addr.local_ip;
  flow->dst_ip = addr.remote_ip;
  flow->src_port = addr.local_port;
  flow->dst_port = addr.remote_port;
  c->flows[FERRY_PEER_COOKIE(addr.remote_ip, addr.remote_port,
                             addr.local_port)] = handle;
  return 0;
}

int machnet_send(const void* channel_ctx, MachnetFlow_t flow, const void* buf,
                 size_t len) {
  MachnetIovec_t iov = {const_cast<void*>(buf), len};
  MachnetMsgHdr_t msg = {static_cast<uint32_t>(len), flow, &iov, 1, 0};
  if (len > MACHNET_MSG_MAX_LEN) return -1;
  return machnet_sendmsg(channel_ctx, &msg);
}

int machnet_sendmsg(const void* channel_ctx, const MachnetMsgHdr_t* msghdr) {
  CompatChannel* c = Ctx(channel_ctx);
  if (c == nullptr || msghdr == nullptr || msghdr->msg_size == 0 ||
      msghdr->msg_size > MACHNET_MSG_MAX_LEN ||
      (msghdr->msg_iovlen > 0 && msghdr->msg_iov == nullptr)) {
    return -1;
  }
  // Machnet trusts msg_size against the iovecs (and aborts or overruns
  // when they differ); here a mismatch is an error.
  size_t total = 0;
  c->iov.resize(msghdr->msg_iovlen);
  for (size_t i = 0; i < msghdr->msg_iovlen; ++i) {
    c->iov[i].iov_base = msghdr->msg_iov[i].base;
    c->iov[i].iov_len = msghdr->msg_iov[i].len;
    total += msghdr->msg_iov[i].len;
  }
  if (total != msghdr->msg_size) return -1;
  auto it = c->flows.find(KeyForSend(msghdr->flow_info));
  if (it == c->flows.end()) return -1;
  return ferry_sendmsg(c->channel, it->second, c->iov.data(),
                       static_cast<int>(c->iov.size()), 0) == 0
             ? 0
             : -1;
}

int machnet_sendmmsg(const void* channel_ctx, const MachnetMsgHdr_t* msghdrs,
                     int vlen) {
  int sent = 0;
  while (sent < vlen && machnet_sendmsg(channel_ctx, &msghdrs[sent]) == 0) {
    ++sent;
  }
  return sent;
}

ssize_t machnet_recv(const void* channel_ctx, void* buf, size_t len,
                     MachnetFlow_t* flow) {
  CompatChannel* c = Ctx(channel_ctx);
  if (c == nullptr || (buf == nullptr && len > 0)) return -1;
  ferry_recv_info info;
  const ssize_t n = NextMessage(c, &info, [&](ferry_recv_info* i) {
    return ferry_recv(c->channel, buf, len, i);
  });
  if (n == -EAGAIN) return 0;
  if (n < 0) return -1;
  if (info.flags & FERRY_RECV_TRUNCATED) return -1;  // dropped, as Machnet
  if (flow != nullptr) *flow = ReceivedFlow(c, info);
  return n;
}

int machnet_recvmsg(const void* channel_ctx, MachnetMsgHdr_t* msghdr) {
  CompatChannel* c = Ctx(channel_ctx);
  if (c == nullptr || msghdr == nullptr ||
      (msghdr->msg_iovlen > 0 && msghdr->msg_iov == nullptr)) {
    return -1;
  }
  c->iov.resize(msghdr->msg_iovlen);
  for (size_t i = 0; i < msghdr->msg_iovlen; ++i) {
    c->iov[i].iov_base = msghdr->msg_iov[i].base;
    c->iov[i].iov_len = msghdr->msg_iov[i].len;
  }
  ferry_recv_info info;
  const ssize_t n = NextMessage(c, &info, [&](ferry_recv_info* i) {
    return ferry_recvmsg(c->channel, c->iov.data(),
                         static_cast<int>(c->iov.size()), i);
  });
  if (n == -EAGAIN) return 0;
  if (n < 0 || (info.flags & FERRY_RECV_TRUNCATED)) return -1;
  msghdr->msg_size = static_cast<uint32_t>(n);
  msghdr->flow_info = ReceivedFlow(c, info);
  return 1;
}

}  // extern "C"

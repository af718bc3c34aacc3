#include "client/abi/fd_passing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace ferry::shm {

namespace {
constexpr int kMaxFds = 8;
}  // namespace

bool MakeUnixAddress(const char* path, sockaddr_un* addr, socklen_t* length) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  const size_t n = std::strlen(path);
  if (n == 0 || n >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path, n);
  if (path[0] == '@') addr->sun_path[0] = '\0';
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n +
                                   (path[0] == '@' ? 0 : 1));
  return true;
}

bool UnixSocketIsLive(const char* path) {
  sockaddr_un addr;
  socklen_t length;
  if (!MakeUnixAddress(path, &addr, &length)) return false;
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  const bool live =
      connect(probe, reinterpret_cast<sockaddr*>(&addr), length) == 0;
  close(probe);
  return live;
}

int SendWithFds(int sock, const void* data, size_t size, const int* fds,
                int fd_count) {
  if (fd_count < 0 || fd_count > kMaxFds) return -EINVAL;
  iovec iov = {const_cast<void*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd_count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * fd_count);
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return static_cast<size_t>(n) == size ? 0 : -EPROTO;
}

int ReceiveWithFds(int sock, void* data, size_t size, int* fds, int max_fds,
                   int* fd_count) {
  *fd_count = 0;
  iovec iov = {data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr;
       cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
      continue;
    }
    const int count =
        static_cast<int>((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int received[kMaxFds];
    std::memcpy(received, CMSG_DATA(cmsg),
                sizeof(int) * (count < kMaxFds ? count : kMaxFds));
    for (int i = 0; i < count && i < kMaxFds; ++i) {
      if (*fd_count < max_fds) {
        fds[(*fd_count)++] = received[i];
      } else {
        close(received[i]);
      }
    }
  }
  if (static_cast<size_t>(n) != size || (msg.msg_flags & MSG_CTRUNC)) {
    for (int i = 0; i < *fd_count; ++i) close(fds[i]);
    *fd_count = 0;
    return -EPROTO;
  }
  return 0;
}

}  // namespace ferry::shm

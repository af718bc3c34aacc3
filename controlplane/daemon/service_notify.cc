#include "controlplane/daemon/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ferry::controlplane {

absl::Status NotifyServiceManagerAt(const std::string& socket_path,
                                    absl::string_view state) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (socket_path.size() < 2 ||
      socket_path.size() >= sizeof(address.sun_path) ||
      (socket_path[0] != '/' && socket_path[0] != '@')) {
    return absl::InvalidArgumentError(
        absl::StrCat("NOTIFY_SOCKET '", socket_path,
                     "' is neither an absolute path nor an abstract name"));
  }
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  if (socket_path[0] == '@') address.sun_path[0] = '\0';
  const socklen_t length = static_cast<socklen_t>(
      offsetof(sockaddr_un, sun_path) + socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("NOTIFY_SOCKET: socket: ", std::strerror(errno)));
  }
  const ssize_t sent =
      sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&address), length);
  const int error = errno;
  close(fd);
  if (sent != static_cast<ssize_t>(state.size())) {
    return absl::UnavailableError(
        absl::StrCat("NOTIFY_SOCKET ", socket_path, ": ",
                     sent < 0 ? std::strerror(error) : "short datagram"));
  }
  return absl::OkStatus();
}

absl::Status NotifyServiceManager(absl::string_view state) {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path == nullptr || socket_path[0] == '\0') {
    return absl::OkStatus();
  }
  return NotifyServiceManagerAt(socket_path, state);
}

}  // namespace ferry::controlplane

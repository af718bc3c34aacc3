// Where the admin socket is when no flag names it: next to the
// application socket, so that ferryd and ferryctl agree for any
// --grpc_socket / --socket (and tests with their own sockets never share
// one admin socket).
//   /run/ferry/ferryd.sock -> /run/ferry/admin.sock
//   /tmp/x/api.sock        -> /tmp/x/api.sock.admin
//   @ferry-test-1          -> @ferry-test-1.admin
#ifndef FERRY_CONTROLPLANE_API_ADMIN_SOCKET_H_
#define FERRY_CONTROLPLANE_API_ADMIN_SOCKET_H_

#include <string>

namespace ferry::controlplane {

inline std::string DefaultAdminSocket(const std::string& app_socket) {
  const std::string kAppName = "ferryd.sock";
  const size_t slash = app_socket.rfind('/');
  if (slash != std::string::npos &&
      app_socket.compare(slash + 1, std::string::npos, kAppName) == 0) {
    return app_socket.substr(0, slash + 1) + "admin.sock";
  }
  return app_socket + ".admin";
}

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_ADMIN_SOCKET_H_

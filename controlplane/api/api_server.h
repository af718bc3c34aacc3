// One of ferryd's gRPC servers: the Ferry services of one surface
// (caller_role.h), standard health checking and server reflection, on a
// Unix socket whose owner, group and permissions decide who may use it, or
// on a TCP port with TLS only.
//
// A Unix socket is accepted by the server's own thread, not by gRPC: it
// records each connection's peer credentials in a PeerTable (refusing a
// user past its connection bound) and only then hands the connection to
// gRPC.
#ifndef FERRY_CONTROLPLANE_API_API_SERVER_H_
#define FERRY_CONTROLPLANE_API_API_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/api/peer_table.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controlplane {

// A TCP listener, which is only ever offered with TLS.
struct TlsListener {
  std::string address;         // host:port; empty: no TCP listener
  std::string cert_file;       // server certificate chain (PEM)
  std::string key_file;        // its private key (PEM)
  std::string client_ca_file;  // if set, clients must present a certificate
                               // signed by this CA
};

// A Unix socket listener.
struct UnixListener {
  std::string flag;  // the flag that named it, for error messages
  // A filesystem path (its folder is created) or "@name" for an abstract
  // socket, which file permissions cannot protect.
  std::string path;
  int mode = 0600;
  int gid = -1;  // -1: root's group
  // Records every connection; must outlive the server.
  PeerTable* peers = nullptr;
};

class ApiServer {
 public:
  // The services must outlive the server.
  static absl::StatusOr<std::unique_ptr<ApiServer>> StartUnix(
      const UnixListener& unix_socket,
      const std::vector<grpc::Service*>& services);
  static absl::StatusOr<std::unique_ptr<ApiServer>> StartTls(
      const TlsListener& tls, const std::vector<grpc::Service*>& services);
  ~ApiServer();  // stops the server; a socket file is removed

 private:
  ApiServer(std::unique_ptr<grpc::Server> server, std::string path)
      : server_(std::move(server)), path_(std::move(path)) {}
  // Accepts connections on listen_fd_ until stop_fd_ is readable.
  void AcceptLoop(PeerTable* peers);

  std::unique_ptr<grpc::Server> server_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread acceptor_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_API_SERVER_H_

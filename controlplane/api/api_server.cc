#include "controlplane/api/api_server.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/abi/fd_passing.h"
#include "dataplane/base/logging.h"
#include "grpcpp/create_channel_posix.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_posix.h"

namespace ferry::controlplane {

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const char* flag) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: cannot read '%s'", flag, path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const TlsListener& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--grpc_tls_address needs --grpc_tls_cert and --grpc_tls_key (TCP "
        "is only offered with TLS)");
  }
  absl::StatusOr<std::string> cert = ReadFile(tls.cert_file, "grpc_tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(tls.key_file, "grpc_tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadFile(tls.client_ca_file, "grpc_tls_client_ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

namespace {

// Server-wide settings of both kinds of listener.
void Configure(grpc::ServerBuilder& builder) {
  // Streams per connection: a client past it waits for one to end, and
  // ferryd's memory per connection stays bounded.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 256);
  // Threads for the calls answered at once (everything but Connect and
  // the session stream, which are callbacks and hold no thread): a flood
  // of calls queues instead of growing ferryd without bound.
  grpc::ResourceQuota quota("ferryd");
  quota.SetMaxThreads(64);
  builder.SetResourceQuota(quota);
}

// A listening Unix socket at `listener.path`, with its owner and mode set.
absl::StatusOr<int> Listen(const UnixListener& listener) {
  const std::string& path = listener.path;
  const char* flag = listener.flag.c_str();
  const bool abstract = path[0] == '@';
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s: '%s' is longer than a Unix socket path may be (%d bytes)", flag,
        path, sizeof(address.sun_path) - 1));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  if (abstract) address.sun_path[0] = '\0';
  const socklen_t length = static_cast<socklen_t>(
      offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("--%s: socket: %s", flag, strerror(errno)));
  }
  // Bound under this umask: until chmod below the socket admits nobody but
  // its owner (a connect needs write permission).
  const mode_t umask_before = umask(0177);
  const int bound =
      bind(fd, reinterpret_cast<const sockaddr*>(&address), length);
  const int bind_errno = errno;
  umask(umask_before);
  if (bound != 0 || listen(fd, SOMAXCONN) != 0) {
    const int error = bound != 0 ? bind_errno : errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrFormat(
        "--%s: cannot listen on %s: %s", flag, path, strerror(error)));
  }
  if (!abstract) {
    if (listener.gid >= 0 && chown(path.c_str(), static_cast<uid_t>(-1),
                                   static_cast<gid_t>(listener.gid)) != 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrFormat("--%s: chown %s: %s", flag, path, strerror(error)));
    }
    if (chmod(path.c_str(), static_cast<mode_t>(listener.mode)) != 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrFormat("--%s: chmod %s: %s", flag, path, strerror(error)));
    }
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::StartUnix(
    const UnixListener& listener, const std::vector<grpc::Service*>& services) {
  const std::string& socket_path = listener.path;
  const char* flag = listener.flag.c_str();
  if (socket_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: empty path", flag));
  }
  if (listener.peers == nullptr) {
    return absl::InternalError("a Unix listener needs a peer table");
  }
  const bool abstract = socket_path[0] == '@';
  if (!abstract) {
    const size_t slash = socket_path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      const std::string dir = socket_path.substr(0, slash);
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "--%s: cannot create %s: %s", flag, dir, strerror(errno)));
      }
    }
    // Never steal the socket of a ferryd that is still serving on it.
    if (shm::UnixSocketIsLive(socket_path.c_str())) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "--%s: %s is in use by another process", flag, socket_path));
    }
    unlink(socket_path.c_str());
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  Configure(builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("--%s: cannot start a gRPC server", flag));
  }
  absl::StatusOr<int> listen_fd = Listen(listener);
  if (!listen_fd.ok()) {
    server->Shutdown();
    return listen_fd.status();
  }
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    server->Shutdown();
    close(*listen_fd);
    return absl::FailedPreconditionError(
        absl::StrFormat("--%s: eventfd: %s", flag, strerror(errno)));
  }
  std::unique_ptr<ApiServer> api(new ApiServer(std::move(server), socket_path));
  api->listen_fd_ = *listen_fd;
  api->stop_fd_ = stop_fd;
  api->acceptor_ = std::thread(
      [raw = api.get(), peers = listener.peers] { raw->AcceptLoop(peers); });
  return api;
}

void ApiServer::AcceptLoop(PeerTable* peers) {
  pthread_setname_np(pthread_self(), "ferry-accept");
  absl::Time last_refusal_logged = absl::InfinitePast();
  uint64_t refused = 0;
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      FERRY_LOG(Error, "%s: poll: %s", path_, strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    const int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Out of descriptors: wait a little rather than spin.
      if (errno == EMFILE || errno == ENFILE)
        absl::SleepFor(absl::Milliseconds(10));
      continue;
    }
    ucred credentials = {};
    socklen_t size = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0 ||
        !peers->Admit(fd, PeerCredentials{credentials.pid, credentials.uid,
                                          credentials.gid})) {
      close(fd);
      ++refused;
      // At most one line a second: refusals are what a flood is made of.
      if (absl::Now() - last_refusal_logged >= absl::Seconds(1)) {
        FERRY_LOG(Warning,
                  "%s: refused a connection of uid %d (pid %d): it holds "
                  "%d connections, the most ferryd allows per user; %d "
                  "refused so far",
                  path_, credentials.uid, credentials.pid,
                  peers->max_per_user(), refused);
        last_refusal_logged = absl::Now();
      }
      continue;
    }
    grpc::AddInsecureChannelFromFd(server_.get(), fd);
  }
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::StartTls(
    const TlsListener& tls, const std::vector<grpc::Service*>& services) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      TlsCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  Configure(builder);
  int bound = 0;
  builder.AddListeningPort(tls.address, *credentials, &bound);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "--grpc_tls_address: cannot serve gRPC on %s", tls.address));
  }
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(server), ""));
}

ApiServer::~ApiServer() {
  if (acceptor_.joinable()) {
    const uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof(one));
    acceptor_.join();
    close(stop_fd_);
    close(listen_fd_);
  }
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(500));
  if (!path_.empty() && path_[0] != '@') unlink(path_.c_str());
}

}  // namespace ferry::controlplane

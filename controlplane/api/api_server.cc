#include "controlplane/api/api_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "client/fd_passing.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"

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

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::StartUnix(
    const UnixListener& listener, const std::vector<grpc::Service*>& services) {
  const std::string& socket_path = listener.path;
  const char* flag = listener.flag.c_str();
  if (socket_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s: empty path", flag));
  }
  const bool abstract = socket_path[0] == '@';
  std::string target;
  if (abstract) {
    target = "unix-abstract:" + socket_path.substr(1);
  } else {
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
    target = "unix:" + socket_path;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &bound);
  for (grpc::Service* service : services) builder.RegisterService(service);
  // The socket is bound here: until chmod below it must admit nobody but
  // its owner (a connect needs write permission).
  const mode_t umask_before = umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  umask(umask_before);
  if (server == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("--%s: cannot serve gRPC on %s", flag, socket_path));
  }
  if (!abstract) {
    if (listener.gid >= 0 && chown(socket_path.c_str(), static_cast<uid_t>(-1),
                                   static_cast<gid_t>(listener.gid)) != 0) {
      server->Shutdown();
      return absl::FailedPreconditionError(absl::StrFormat(
          "--%s: chown %s: %s", flag, socket_path, strerror(errno)));
    }
    if (chmod(socket_path.c_str(), static_cast<mode_t>(listener.mode)) != 0) {
      server->Shutdown();
      return absl::FailedPreconditionError(absl::StrFormat(
          "--%s: chmod %s: %s", flag, socket_path, strerror(errno)));
    }
  }
  return std::unique_ptr<ApiServer>(
      new ApiServer(std::move(server), socket_path));
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::StartTls(
    const TlsListener& tls, const std::vector<grpc::Service*>& services) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      TlsCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
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
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(500));
  if (!path_.empty() && path_[0] != '@') unlink(path_.c_str());
}

}  // namespace ferry::controlplane

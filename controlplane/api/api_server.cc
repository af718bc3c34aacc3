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

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const std::string& socket_path, int mode, const TlsListener& tls,
    const std::vector<grpc::Service*>& services) {
  if (socket_path.empty()) {
    return absl::InvalidArgumentError("--grpc_socket: empty path");
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
            "--grpc_socket: cannot create %s: %s", dir, strerror(errno)));
      }
    }
    // Never steal the socket of a ferryd that is still serving on it.
    if (shm::UnixSocketIsLive(socket_path.c_str())) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "--grpc_socket: %s is in use by another process", socket_path));
    }
    unlink(socket_path.c_str());
    target = "unix:" + socket_path;
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &bound);
  int tls_bound = 0;
  if (!tls.address.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        TlsCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    builder.AddListeningPort(tls.address, *credentials, &tls_bound);
  }
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("--grpc_socket: cannot serve gRPC on %s", socket_path));
  }
  if (!abstract && chmod(socket_path.c_str(), static_cast<mode_t>(mode)) != 0) {
    server->Shutdown();
    return absl::FailedPreconditionError(absl::StrFormat(
        "--grpc_socket: chmod %s: %s", socket_path, strerror(errno)));
  }
  return std::unique_ptr<ApiServer>(
      new ApiServer(std::move(server), socket_path));
}

ApiServer::~ApiServer() {
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(500));
  if (path_[0] != '@') unlink(path_.c_str());
}

}  // namespace ferry::controlplane

// Who is calling: an administrator or an application. ferryd serves two
// surfaces (docs/SECURITY.md): the admin socket (root only) and the
// application socket (a group of users). Each gRPC server is built for one
// surface; the TLS listener decides per call from the client certificate.
#ifndef FERRY_CONTROLPLANE_API_CALLER_ROLE_H_
#define FERRY_CONTROLPLANE_API_CALLER_ROLE_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controlplane {

enum class ApiRole { kApplication, kAdmin };

class CallerRole {
 public:
  // Every call on this server has `role`.
  static CallerRole Fixed(ApiRole role) { return CallerRole(role, {}); }
  // A TLS server: a call is admin when its verified client certificate
  // names (common name or a subject alternative name) one of
  // `admin_names`; every other call is an application.
  static CallerRole ByCertificate(std::set<std::string> admin_names) {
    return CallerRole(ApiRole::kApplication, std::move(admin_names));
  }

  ApiRole Of(const grpc::ServerContext& context) const;
  // OK for an administrator; PERMISSION_DENIED naming `what` otherwise.
  absl::Status RequireAdmin(const grpc::ServerContext& context,
                            const char* what) const;

 private:
  CallerRole(ApiRole role, std::set<std::string> admin_names)
      : role_(role), admin_names_(std::move(admin_names)) {}

  ApiRole role_;
  std::set<std::string> admin_names_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_CALLER_ROLE_H_

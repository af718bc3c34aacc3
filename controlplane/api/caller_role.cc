#include "controlplane/api/caller_role.h"

#include "absl/strings/str_cat.h"

namespace ferry::controlplane {

ApiRole CallerRole::Of(const grpc::ServerContext& context) const {
  if (admin_names_.empty()) return role_;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  // Only a certificate that the TLS handshake verified has a peer
  // identity; without --grpc_tls_client_ca nobody is an administrator.
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return ApiRole::kApplication;
  }
  for (const char* property :
       {"x509_common_name", "x509_subject_alternative_name"}) {
    for (const grpc::string_ref& name : auth->FindPropertyValues(property)) {
      if (admin_names_.count(std::string(name.data(), name.size())) != 0) {
        return ApiRole::kAdmin;
      }
    }
  }
  return ApiRole::kApplication;
}

absl::Status CallerRole::RequireAdmin(const grpc::ServerContext& context,
                                      const char* what) const {
  if (Of(context) == ApiRole::kAdmin) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(what,
                   " is an administrator's call: use ferryd's admin socket "
                   "(--admin_socket, root only) or, over TLS, a client "
                   "certificate listed in --grpc_tls_admin_names"));
}

}  // namespace ferry::controlplane

#include "controlplane/api/node_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "controlplane/api/status_convert.h"

namespace ferry::controlplane {
namespace {

// The key of a request, with the field named in the error.
absl::StatusOr<crypto::PublicKey> KeyOf(const std::string& text) {
  absl::StatusOr<crypto::PublicKey> key = PublicKeyFromText(text);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("public_key: ", key.status().message()));
  }
  return key;
}

}  // namespace

absl::Status NodeServiceImpl::Allowed(const grpc::ServerContext& context,
                                      const char* what) const {
  if (absl::Status s = role_.RequireAdmin(context, what); !s.ok()) return s;
  if (trust_ == nullptr) {
    return absl::FailedPreconditionError(
        "this ferryd has no node key configured (--node_key_file)");
  }
  return absl::OkStatus();
}

grpc::Status NodeServiceImpl::Answer(absl::Status change, v1::Node* response) {
  if (!change.ok()) return ToGrpcStatus(change);
  absl::StatusOr<NodeTrust::Description> node = trust_->Describe();
  if (!node.ok()) return ToGrpcStatus(node.status());
  response->set_public_key(PublicKeyToText(node->public_key));
  response->set_key_file(node->key_file);
  response->set_trusted_peers_file(node->trusted_peers_file);
  for (const TrustedPeer& peer : node->peers) {
    v1::TrustedPeer* out = response->add_trusted_peers();
    out->set_public_key(PublicKeyToText(peer.key));
    out->set_name(peer.name);
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::GetNode(grpc::ServerContext* context,
                                      const v1::GetNodeRequest*,
                                      v1::Node* response) {
  if (absl::Status s = Allowed(*context, "NodeService.GetNode"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return Answer(absl::OkStatus(), response);
}

grpc::Status NodeServiceImpl::TrustPeer(grpc::ServerContext* context,
                                        const v1::TrustPeerRequest* request,
                                        v1::Node* response) {
  if (absl::Status s = Allowed(*context, "NodeService.TrustPeer"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<crypto::PublicKey> key = KeyOf(request->public_key());
  if (!key.ok()) return ToGrpcStatus(key.status());
  if (request->name().size() > 256 ||
      request->name().find_first_of("\n\r") != std::string::npos) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("name: at most 256 characters on one line"));
  }
  return Answer(trust_->Trust(*key, request->name()), response);
}

grpc::Status NodeServiceImpl::DistrustPeer(
    grpc::ServerContext* context, const v1::DistrustPeerRequest* request,
    v1::Node* response) {
  if (absl::Status s = Allowed(*context, "NodeService.DistrustPeer"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<crypto::PublicKey> key = KeyOf(request->public_key());
  if (!key.ok()) return ToGrpcStatus(key.status());
  return Answer(trust_->Distrust(*key), response);
}

}  // namespace ferry::controlplane

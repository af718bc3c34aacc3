// NodeService (proto/ferry/v1/ferry.proto): this ferryd's node key and its
// trust list, shown and changed by administrators.
#ifndef FERRY_CONTROLPLANE_API_NODE_SERVICE_H_
#define FERRY_CONTROLPLANE_API_NODE_SERVICE_H_

#include "controlplane/api/caller_role.h"
#include "controlplane/node_identity.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

class NodeServiceImpl final : public v1::NodeService::Service {
 public:
  // `trust` null: this ferryd has no node key configured (FAILED_PRECONDITION
  // on every call).
  NodeServiceImpl(NodeTrust* trust, CallerRole role)
      : trust_(trust), role_(std::move(role)) {}
  grpc::Status GetNode(grpc::ServerContext* context,
                       const v1::GetNodeRequest* request,
                       v1::Node* response) override;
  grpc::Status TrustPeer(grpc::ServerContext* context,
                         const v1::TrustPeerRequest* request,
                         v1::Node* response) override;
  grpc::Status DistrustPeer(grpc::ServerContext* context,
                            const v1::DistrustPeerRequest* request,
                            v1::Node* response) override;

 private:
  // An administrator's call, and a node key to serve it with.
  absl::Status Allowed(const grpc::ServerContext& context,
                       const char* what) const;
  // `change`'s error, or the node as it is now.
  grpc::Status Answer(absl::Status change, v1::Node* response);

  NodeTrust* const trust_;
  const CallerRole role_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_NODE_SERVICE_H_

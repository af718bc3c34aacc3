// FlowService (proto/ferry/v1/ferry.proto): listing, inspecting and closing
// over the FlowDirectory; listening and connecting over the FlowOpener.
#ifndef FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_
#define FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_

#include "controlplane/api/caller_role.h"
#include "controlplane/flow_directory.h"
#include "controlplane/flow_opener.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

// Connect is served by gRPC's callback API (it waits a handshake long);
// the other calls are answered at once, on gRPC's server threads.
class FlowServiceImpl final
    : public v1::FlowService::WithCallbackMethod_Connect<
          v1::FlowService::Service> {
 public:
  // An application reaches only its own session's flows; an
  // administrator reaches every flow.
  FlowServiceImpl(FlowDirectory* flows, FlowOpener* opener,
                  SessionRegistry* sessions, CallerRole role)
      : flows_(flows),
        opener_(opener),
        sessions_(sessions),
        role_(std::move(role)) {}
  grpc::Status Listen(grpc::ServerContext* context,
                      const v1::ListenRequest* request,
                      v1::ListenResponse* response) override;
  grpc::Status StopListening(grpc::ServerContext* context,
                             const v1::StopListeningRequest* request,
                             v1::StopListeningResponse* response) override;
  grpc::ServerUnaryReactor* Connect(grpc::CallbackServerContext* context,
                                    const v1::ConnectRequest* request,
                                    v1::ConnectResponse* response) override;
  grpc::Status ListFlows(grpc::ServerContext* context,
                         const v1::ListFlowsRequest* request,
                         v1::ListFlowsResponse* response) override;
  grpc::Status GetFlow(grpc::ServerContext* context,
                       const v1::GetFlowRequest* request,
                       v1::Flow* response) override;
  grpc::Status CloseFlow(grpc::ServerContext* context,
                         const v1::CloseFlowRequest* request,
                         v1::CloseFlowResponse* response) override;

 private:
  // The channels whose flows the call may reach: nullopt for every flow
  // (an administrator without a session filter); NOT_FOUND for a wrong
  // session, PERMISSION_DENIED for an application without one.
  absl::StatusOr<std::optional<std::set<uint64_t>>> Reach(
      const grpc::ServerContext& context, const v1::SessionRef& session,
      bool has_session) const;

  FlowDirectory* flows_;
  FlowOpener* opener_;
  SessionRegistry* sessions_;
  const CallerRole role_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_

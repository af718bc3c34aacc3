// FlowService (proto/ferry/v1/ferry.proto): listing, inspecting and closing
// over the FlowDirectory; listening and connecting over the FlowOpener.
#ifndef FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_
#define FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_

#include "controlplane/flow_directory.h"
#include "controlplane/flow_opener.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

class FlowServiceImpl final : public v1::FlowService::Service {
 public:
  FlowServiceImpl(FlowDirectory* flows, FlowOpener* opener)
      : flows_(flows), opener_(opener) {}
  grpc::Status Listen(grpc::ServerContext* context,
                      const v1::ListenRequest* request,
                      v1::ListenResponse* response) override;
  grpc::Status StopListening(grpc::ServerContext* context,
                             const v1::StopListeningRequest* request,
                             v1::StopListeningResponse* response) override;
  grpc::Status Connect(grpc::ServerContext* context,
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
  FlowDirectory* flows_;
  FlowOpener* opener_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_

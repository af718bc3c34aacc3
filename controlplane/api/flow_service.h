// FlowService (proto/ferry/v1/ferry.proto) over the FlowDirectory.
#ifndef FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_
#define FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_

#include "controlplane/flow_directory.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

class FlowServiceImpl final : public v1::FlowService::Service {
 public:
  explicit FlowServiceImpl(FlowDirectory* flows) : flows_(flows) {}
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
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_FLOW_SERVICE_H_

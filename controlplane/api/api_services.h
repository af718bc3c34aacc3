// The gRPC services of proto/ferry/v1/ferry.proto, thin: they read the
// control plane's state and convert it. gRPC calls them on its own threads;
// everything they read is safe to read from any thread (engine and port
// counters, the published channel totals).
#ifndef FERRY_CONTROLPLANE_API_API_SERVICES_H_
#define FERRY_CONTROLPLANE_API_API_SERVICES_H_

#include <vector>

#include "controlplane/api/caller_role.h"
#include "controlplane/channel_totals_snapshot.h"
#include "controlplane/device_policy.h"
#include "controlplane/nic_registry.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

class NicServiceImpl final : public v1::NicService::Service {
 public:
  // Every call is an administrator's: `role` refuses the others. Device
  // specs must pass `devices`.
  NicServiceImpl(NicRegistry* nics, CallerRole role, DevicePolicy devices)
      : nics_(nics), role_(std::move(role)), devices_(std::move(devices)) {}
  grpc::Status AttachNic(grpc::ServerContext* context,
                         const v1::AttachNicRequest* request,
                         v1::Nic* response) override;
  grpc::Status DetachNic(grpc::ServerContext* context,
                         const v1::DetachNicRequest* request,
                         v1::DetachNicResponse* response) override;
  grpc::Status ListNics(grpc::ServerContext* context,
                        const v1::ListNicsRequest* request,
                        v1::ListNicsResponse* response) override;
  grpc::Status GetNic(grpc::ServerContext* context,
                      const v1::GetNicRequest* request,
                      v1::Nic* response) override;
  grpc::Status SetFaults(grpc::ServerContext* context,
                         const v1::SetFaultsRequest* request,
                         v1::SetFaultsResponse* response) override;
  grpc::Status ListRoutes(grpc::ServerContext* context,
                          const v1::ListRoutesRequest* request,
                          v1::ListRoutesResponse* response) override;
  grpc::Status GetRoute(grpc::ServerContext* context,
                        const v1::GetRouteRequest* request,
                        v1::Route* response) override;

 private:
  NicRegistry* nics_;
  const CallerRole role_;
  const DevicePolicy devices_;
};

class StatsServiceImpl final : public v1::StatsService::Service {
 public:
  // Administrators only, as NicService.
  StatsServiceImpl(NicRegistry* nics, const ChannelTotalsSnapshot* channels,
                   CallerRole role)
      : nics_(nics), channels_(channels), role_(std::move(role)) {}
  grpc::Status GetStats(grpc::ServerContext* context,
                        const v1::GetStatsRequest* request,
                        v1::Stats* response) override;
  grpc::Status WatchStats(grpc::ServerContext* context,
                          const v1::WatchStatsRequest* request,
                          grpc::ServerWriter<v1::Stats>* writer) override;

 private:
  v1::Stats Snapshot() const;

  NicRegistry* nics_;
  const ChannelTotalsSnapshot* channels_;
  const CallerRole role_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_API_SERVICES_H_

#include "controlplane/api/api_services.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "controlplane/api/nic_proto.h"
#include "controlplane/api/status_convert.h"

namespace ferry::controlplane {

grpc::Status NicServiceImpl::AttachNic(grpc::ServerContext* context,
                                       const v1::AttachNicRequest* request,
                                       v1::Nic* response) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.AttachNic");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = CheckDeviceSpec(request->device(), devices_); !s.ok()) {
    return ToGrpcStatus(
        absl::Status(s.code(), absl::StrCat("--device: ", s.message())));
  }
  NicSpec spec;
  spec.device = request->device();
  spec.ip = request->ip();
  spec.gateway = request->gateway();
  spec.mac = request->mac();
  if (request->mtu() != 0) spec.mtu = static_cast<int>(request->mtu());
  if (request->engines() != 0) {
    spec.engines = static_cast<int>(std::min(request->engines(), 1000u));
  }
  spec.cores = request->cores();
  if (!request->polling().empty()) spec.polling = request->polling();
  if (!request->encryption().empty()) spec.encryption = request->encryption();
  if (request->key_rotation_ms() != 0) {
    // Kept out of range when it is (the check below refuses it), never
    // clamped into range: an operator asking for a rotation every 50 days
    // must not silently get one a day.
    spec.key_rotation_ms = static_cast<int>(std::min<uint32_t>(
        request->key_rotation_ms(), std::numeric_limits<int>::max()));
  }
  absl::StatusOr<std::string> name = nics_->Attach(spec);
  if (!name.ok()) return ToGrpcStatus(name.status());
  return ToGrpcStatus(
      nics_->With(*name, [&](Nic& nic) { *response = NicToProto(nic); }));
}

grpc::Status NicServiceImpl::DetachNic(grpc::ServerContext* context,
                                       const v1::DetachNicRequest* request,
                                       v1::DetachNicResponse*) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.DetachNic");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (request->name().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "name: give the NIC's DPDK port name (see ListNics)"));
  }
  return ToGrpcStatus(nics_->Detach(request->name()));
}

namespace {

absl::StatusOr<engine::FaultConfig> FaultsFromProto(
    const v1::FaultSettings& f) {
  engine::FaultConfig config;
  config.drop = f.drop();
  config.duplicate = f.duplicate();
  config.delay = f.delay();
  config.delay_ns = uint64_t{f.delay_us() == 0 ? 100 : f.delay_us()} * 1000;
  config.corrupt = f.corrupt();
  config.reorder = f.reorder();
  config.seed = f.seed() == 0 ? 1 : f.seed();
  if (absl::Status s = config.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("faults: ", s.message()));
  }
  return config;
}

}  // namespace

grpc::Status NicServiceImpl::SetFaults(grpc::ServerContext* context,
                                       const v1::SetFaultsRequest* request,
                                       v1::SetFaultsResponse*) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.SetFaults");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<engine::FaultConfig> faults =
      FaultsFromProto(request->faults());
  if (!faults.ok()) return ToGrpcStatus(faults.status());
  absl::StatusOr<NicSummary> nic = nics_->FindNic(request->name());
  if (!nic.ok()) return ToGrpcStatus(nic.status());
  for (size_t e = 0; e < nic->engines; ++e) {
    engine::EngineCommand command;
    command.type = engine::CommandType::kSetFaults;
    command.faults = *faults;
    command.faults.seed += e;  // engines draw apart, as at attach
    auto completion = std::make_unique<engine::Completion>();
    if (absl::Status s = nics_->Run(EngineRef{nic->name, e}, command,
                                    completion, kEngineTimeout);
        !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  return grpc::Status::OK;
}

namespace {

void RouteToProto(const NicRegistry::RouteInfo& route, v1::Route* out) {
  out->set_destination(route.destination);
  out->set_nic(route.nic);
  out->set_local_ip(route.local_ip.ToString());
  if (route.gateway.has_value()) out->set_gateway(route.gateway->ToString());
}

}  // namespace

grpc::Status NicServiceImpl::ListRoutes(grpc::ServerContext* context,
                                        const v1::ListRoutesRequest*,
                                        v1::ListRoutesResponse* response) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.ListRoutes");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  for (const NicRegistry::RouteInfo& route : nics_->Routes()) {
    RouteToProto(route, response->add_routes());
  }
  return grpc::Status::OK;
}

grpc::Status NicServiceImpl::GetRoute(grpc::ServerContext* context,
                                      const v1::GetRouteRequest* request,
                                      v1::Route* response) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.GetRoute");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (request->destination_ipv4() == 0) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("destination_ipv4: give an address"));
  }
  absl::StatusOr<NicRegistry::RouteInfo> route =
      nics_->RouteTo(net::Ipv4Address{request->destination_ipv4()},
                     net::Ipv4Address{request->local_ipv4()});
  if (!route.ok()) return ToGrpcStatus(route.status());
  RouteToProto(*route, response);
  return grpc::Status::OK;
}

grpc::Status NicServiceImpl::ListNics(grpc::ServerContext* context,
                                      const v1::ListNicsRequest*,
                                      v1::ListNicsResponse* response) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.ListNics");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  nics_->ForEach([&](Nic& nic) { *response->add_nics() = NicToProto(nic); });
  return grpc::Status::OK;
}

grpc::Status NicServiceImpl::GetNic(grpc::ServerContext* context,
                                    const v1::GetNicRequest* request,
                                    v1::Nic* response) {
  if (absl::Status s = role_.RequireAdmin(*context, "NicService.GetNic");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (request->name().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "name: give the NIC's DPDK port name (see ListNics)"));
  }
  return ToGrpcStatus(nics_->With(
      request->name(), [&](Nic& nic) { *response = NicToProto(nic); }));
}

v1::Stats StatsServiceImpl::Snapshot() const {
  v1::Stats stats;
  stats.set_unix_time_ms(absl::ToUnixMillis(absl::Now()));
  nics_->ForEach([&](Nic& nic) { *stats.add_nics() = NicToProto(nic); });
  *stats.mutable_channels() = ChannelTotalsToProto(channels_->Read());
  return stats;
}

grpc::Status StatsServiceImpl::GetStats(grpc::ServerContext* context,
                                        const v1::GetStatsRequest*,
                                        v1::Stats* response) {
  if (absl::Status s = role_.RequireAdmin(*context, "StatsService.GetStats");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  *response = Snapshot();
  return grpc::Status::OK;
}

grpc::Status StatsServiceImpl::WatchStats(
    grpc::ServerContext* context, const v1::WatchStatsRequest* request,
    grpc::ServerWriter<v1::Stats>* writer) {
  if (absl::Status s = role_.RequireAdmin(*context, "StatsService.WatchStats");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (request->interval_ms() < 100 || request->interval_ms() > 3600000) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrFormat("interval_ms: %d is out of range [100, 3600000]",
                        request->interval_ms())));
  }
  const absl::Duration interval = absl::Milliseconds(request->interval_ms());
  for (uint32_t sent = 0; request->count() == 0 || sent < request->count();
       ++sent) {
    if (sent > 0) {
      // Sleep in short steps so that a cancelled stream ends promptly.
      const absl::Time next = absl::Now() + interval;
      while (absl::Now() < next) {
        if (context->IsCancelled()) return grpc::Status::CANCELLED;
        absl::SleepFor(std::min(absl::Milliseconds(50), next - absl::Now()));
      }
    }
    if (context->IsCancelled() || !writer->Write(Snapshot())) {
      return grpc::Status::CANCELLED;
    }
  }
  return grpc::Status::OK;
}

}  // namespace ferry::controlplane

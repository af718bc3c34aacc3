#include "controlplane/api/api_services.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "controlplane/api/nic_proto.h"
#include "controlplane/api/status_convert.h"

namespace ferry::controlplane {

grpc::Status NicServiceImpl::ListNics(grpc::ServerContext*,
                                      const v1::ListNicsRequest*,
                                      v1::ListNicsResponse* response) {
  for (Nic* nic : nics_) *response->add_nics() = NicToProto(*nic);
  return grpc::Status::OK;
}

grpc::Status NicServiceImpl::GetNic(grpc::ServerContext*,
                                    const v1::GetNicRequest* request,
                                    v1::Nic* response) {
  if (request->name().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "name: give the NIC's DPDK port name (see ListNics)"));
  }
  for (Nic* nic : nics_) {
    if (nic->port().name() == request->name()) {
      *response = NicToProto(*nic);
      return grpc::Status::OK;
    }
  }
  return ToGrpcStatus(absl::NotFoundError(
      absl::StrFormat("no NIC named '%s' is attached", request->name())));
}

v1::Stats StatsServiceImpl::Snapshot() const {
  v1::Stats stats;
  stats.set_unix_time_ms(absl::ToUnixMillis(absl::Now()));
  for (Nic* nic : nics_) *stats.add_nics() = NicToProto(*nic);
  *stats.mutable_channels() = ChannelTotalsToProto(channels_->Read());
  return stats;
}

grpc::Status StatsServiceImpl::GetStats(grpc::ServerContext*,
                                        const v1::GetStatsRequest*,
                                        v1::Stats* response) {
  *response = Snapshot();
  return grpc::Status::OK;
}

grpc::Status StatsServiceImpl::WatchStats(
    grpc::ServerContext* context, const v1::WatchStatsRequest* request,
    grpc::ServerWriter<v1::Stats>* writer) {
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

// ferryctl stats [--watch_ms --count] | session list | health
#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "controlplane/ferryctl_commands/ferryctl_commands.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace ferry::ferryctl {
namespace {

void PrintStats(const v1::Stats& stats) {
  std::vector<const v1::Nic*> nics;
  for (const v1::Nic& nic : stats.nics()) nics.push_back(&nic);
  PrintNicTable(nics);
  const v1::ChannelStats& c = stats.channels();
  std::printf("channels: attached %lu, live %lu, reclaimed %lu, refused %lu\n",
              static_cast<unsigned long>(c.attached()),
              static_cast<unsigned long>(c.live()),
              static_cast<unsigned long>(c.reclaimed()),
              static_cast<unsigned long>(c.refused()));
}

void PrintSessions(const v1::ListSessionsResponse& response) {
  // PID and UID as the kernel gave them when the session connected (the
  // pid the application claimed only where the kernel said nothing).
  std::printf("%-8s %-20s %-8s %-8s %-10s %s\n", "ID", "NAME", "PID", "UID",
              "PENDING", "CHANNELS");
  for (const v1::Session& s : response.sessions()) {
    const std::string uid = s.has_peer() ? std::to_string(s.peer().uid()) : "-";
    std::printf("%-8lu %-20s %-8u %-8s %-10u %s\n",
                static_cast<unsigned long>(s.id()), s.name().c_str(),
                s.has_peer() ? s.peer().pid() : s.pid(), uid.c_str(),
                s.pending_tickets(), absl::StrJoin(s.channels(), ",").c_str());
  }
}

}  // namespace

int Stats(const Ctl& ctl, const Args&) {
  auto stats_api = v1::StatsService::NewStub(ctl.channel);
  if (absl::GetFlag(FLAGS_watch_ms) == 0) {
    return CallAndPrint<v1::Stats>(
        ctl,
        [&](grpc::ClientContext* context, v1::Stats* stats) {
          return stats_api->GetStats(context, v1::GetStatsRequest(), stats);
        },
        PrintStats);
  }
  // A stream: no deadline, each snapshot printed as it comes.
  v1::WatchStatsRequest request;
  request.set_interval_ms(static_cast<uint32_t>(absl::GetFlag(FLAGS_watch_ms)));
  request.set_count(static_cast<uint32_t>(absl::GetFlag(FLAGS_count)));
  grpc::ClientContext context;
  auto reader = stats_api->WatchStats(&context, request);
  v1::Stats stats;
  while (reader->Read(&stats)) {
    if (ctl.json) {
      std::cout << Json(stats) << std::flush;
    } else {
      PrintStats(stats);
      std::fflush(stdout);
    }
  }
  const grpc::Status status = reader->Finish();
  return status.ok() ? 0 : Failed(status);
}

int SessionList(const Ctl& ctl, const Args&) {
  auto sessions = v1::SessionService::NewStub(ctl.channel);
  return CallAndPrint<v1::ListSessionsResponse>(
      ctl,
      [&](grpc::ClientContext* context, v1::ListSessionsResponse* response) {
        return sessions->ListSessions(context, v1::ListSessionsRequest(),
                                      response);
      },
      PrintSessions);
}

int Health(const Ctl& ctl, const Args&) {
  using grpc::health::v1::HealthCheckResponse;
  auto health = grpc::health::v1::Health::NewStub(ctl.channel);
  HealthCheckResponse::ServingStatus serving = HealthCheckResponse::UNKNOWN;
  const int rc = CallAndPrint<HealthCheckResponse>(
      ctl,
      [&](grpc::ClientContext* context, HealthCheckResponse* response) {
        const grpc::Status status = health->Check(
            context, grpc::health::v1::HealthCheckRequest(), response);
        serving = response->status();
        return status;
      },
      [](const HealthCheckResponse& response) {
        std::printf(
            "%s\n",
            HealthCheckResponse::ServingStatus_Name(response.status()).c_str());
      });
  if (rc != 0) return rc;
  return serving == HealthCheckResponse::SERVING ? 0 : kExitFailed;
}

}  // namespace ferry::ferryctl

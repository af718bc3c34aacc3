// SessionService (proto/ferry/v1/ferry.proto) over the SessionRegistry.
//
// Each open session holds one of gRPC's server threads for its stream
// (blocked in Read between heartbeats); --max_sessions bounds them.
#ifndef FERRY_CONTROLPLANE_API_SESSION_SERVICE_H_
#define FERRY_CONTROLPLANE_API_SESSION_SERVICE_H_

#include <string>

#include "controlplane/api/caller_role.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

class SessionServiceImpl final : public v1::SessionService::Service {
 public:
  // ListSessions shows an application only its own session.
  SessionServiceImpl(SessionRegistry* sessions, NicRegistry* nics,
                     std::string channel_socket, CallerRole role)
      : sessions_(sessions),
        nics_(nics),
        channel_socket_(std::move(channel_socket)),
        role_(std::move(role)) {}
  grpc::Status OpenSession(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::SessionEvent, v1::SessionRequest>* stream)
      override;
  grpc::Status CreateChannel(grpc::ServerContext* context,
                             const v1::CreateChannelRequest* request,
                             v1::CreateChannelResponse* response) override;
  grpc::Status DestroyChannel(grpc::ServerContext* context,
                              const v1::DestroyChannelRequest* request,
                              v1::DestroyChannelResponse* response) override;
  grpc::Status ListSessions(grpc::ServerContext* context,
                            const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;

 private:
  SessionRegistry* sessions_;
  NicRegistry* nics_;
  const std::string channel_socket_;
  const CallerRole role_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_SESSION_SERVICE_H_

// SessionService (proto/ferry/v1/ferry.proto) over the SessionRegistry.
//
// The session stream is served by gRPC's callback API: an open session,
// or a stream that has not sent `open` yet, holds no thread. A stream must
// send `open` within SessionLimits::open_timeout.
#ifndef FERRY_CONTROLPLANE_API_SESSION_SERVICE_H_
#define FERRY_CONTROLPLANE_API_SESSION_SERVICE_H_

#include <string>

#include "controlplane/api/caller_role.h"
#include "controlplane/api/peer_table.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"
#include "proto/ferry/v1/ferry.grpc.pb.h"

namespace ferry::controlplane {

class SessionServiceImpl final
    : public v1::SessionService::WithCallbackMethod_OpenSession<
          v1::SessionService::Service> {
 public:
  // ListSessions shows an application only its own session. `peers`
  // (null over TCP) gives each session its caller's credentials.
  SessionServiceImpl(SessionRegistry* sessions, NicRegistry* nics,
                     std::string channel_socket, CallerRole role,
                     PeerTable* peers)
      : sessions_(sessions),
        nics_(nics),
        channel_socket_(std::move(channel_socket)),
        role_(std::move(role)),
        peers_(peers) {}
  grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionEvent>* OpenSession(
      grpc::CallbackServerContext* context) override;
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
  PeerTable* const peers_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_SESSION_SERVICE_H_

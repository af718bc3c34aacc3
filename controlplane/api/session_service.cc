#include "controlplane/api/session_service.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/abi/channel_layout.h"
#include "controlplane/api/status_convert.h"

namespace ferry::controlplane {

namespace {

// One session's stream: `open`, then heartbeats until it ends. Every step
// is a callback; nothing here blocks.
class SessionReactor final
    : public grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionEvent> {
 public:
  SessionReactor(grpc::CallbackServerContext* context,
                 SessionRegistry* sessions, std::string channel_socket,
                 std::optional<PeerCredentials> peer)
      : context_(context),
        sessions_(sessions),
        channel_socket_(std::move(channel_socket)),
        peer_(peer) {
    // Until `open` arrives, the registry ends the stream at its deadline.
    absl::StatusOr<uint64_t> waiting =
        sessions_->AwaitOpen(peer_, [context] { context->TryCancel(); });
    if (!waiting.ok()) {
      Finish(ToGrpcStatus(waiting.status()));
      return;
    }
    waiting_ = *waiting;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      End(opened_ ? grpc::Status::OK
                  : ToGrpcStatus(absl::InvalidArgumentError(
                        "no `open` request: the stream ended or its first "
                        "message was not a SessionRequest")));
      return;
    }
    if (!opened_) {
      Open();
      return;
    }
    if (!request_.has_heartbeat()) {
      End(ToGrpcStatus(absl::InvalidArgumentError(
          "a session is opened once; send only heartbeats after `open`")));
      return;
    }
    sessions_->Heartbeat(id_);
    StartRead(&request_);
  }

  void OnWriteDone(bool) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (finish_.has_value()) Finish(*finish_);
  }

  void OnDone() override { delete this; }

 private:
  void Open() {
    sessions_->OpenArrived(waiting_);
    waiting_ = 0;
    if (!request_.has_open()) {
      End(ToGrpcStatus(absl::InvalidArgumentError(
          "the first request of a session must be `open`")));
      return;
    }
    const v1::OpenSession& open = request_.open();
    // ExpireOverdue calls this under the registry's lock, and only while
    // the session exists: End() closes it before Finish, and the context
    // lives until OnDone.
    absl::StatusOr<SessionRegistry::Opened> opened = sessions_->Open(
        open.name(), open.pid(), open.heartbeat_timeout_ms(),
        [context = context_] { context->TryCancel(); }, open.linger_ms(),
        peer_);
    if (!opened.ok()) {
      End(ToGrpcStatus(opened.status()));
      return;
    }
    opened_ = true;
    id_ = opened->id;
    v1::SessionOpened* out = event_.mutable_opened();
    out->mutable_session()->set_id(id_);
    out->mutable_session()->set_token(
        std::string(opened->token.begin(), opened->token.end()));
    out->set_heartbeat_timeout_ms(static_cast<uint32_t>(
        absl::ToInt64Milliseconds(opened->heartbeat_timeout)));
    out->set_channel_socket(channel_socket_);
    out->set_max_channels(sessions_->limits().max_channels_per_session);
    out->set_memory_quota_bytes(sessions_->limits().max_session_memory_bytes);
    out->set_linger_ms(
        static_cast<uint32_t>(absl::ToInt64Milliseconds(opened->linger)));
    {
      absl::MutexLock lock(&mu_);
      writing_ = true;
    }
    StartWrite(&event_);
    StartRead(&request_);
  }

  // The stream is over: the session (if any) ends, then the call, once no
  // write is outstanding.
  void End(grpc::Status status) {
    if (waiting_ != 0) sessions_->OpenArrived(waiting_);
    if (opened_) sessions_->Close(id_);
    if (context_->IsCancelled()) {
      status = grpc::Status(grpc::StatusCode::CANCELLED,
                            opened_ ? "the session ended (no heartbeat, or "
                                      "cancelled)"
                                    : "no `open` within the deadline, or "
                                      "cancelled");
    }
    absl::MutexLock lock(&mu_);
    if (writing_) {
      finish_ = status;
    } else {
      Finish(status);
    }
  }

  grpc::CallbackServerContext* const context_;
  SessionRegistry* const sessions_;
  const std::string channel_socket_;
  const std::optional<PeerCredentials> peer_;
  v1::SessionRequest request_;
  v1::SessionEvent event_;
  uint64_t waiting_ = 0;  // the registry's record until `open` arrives
  bool opened_ = false;
  uint64_t id_ = 0;
  // The opening write may still be out when the stream ends.
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionEvent>*
SessionServiceImpl::OpenSession(grpc::CallbackServerContext* context) {
  std::optional<PeerCredentials> peer;
  if (peers_ != nullptr) peer = peers_->Find(context->peer());
  return new SessionReactor(context, sessions_, channel_socket_, peer);
}

grpc::Status SessionServiceImpl::CreateChannel(
    grpc::ServerContext*, const v1::CreateChannelRequest* request,
    v1::CreateChannelResponse* response) {
  size_t nics = 0;
  nics_->ForEach([&](Nic&) { ++nics; });
  if (nics == 0) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        "no NIC is attached: attach one (NicService.AttachNic) before "
        "creating channels"));
  }
  ChannelReservation reservation;
  const v1::ChannelSizes& asked = request->sizes();
  if (asked.buffer_count() != 0) {
    reservation.sizes.buffer_count = asked.buffer_count();
  }
  if (asked.buffer_size() != 0) {
    reservation.sizes.buffer_size = asked.buffer_size();
  }
  if (asked.ring_capacity() != 0) {
    reservation.sizes.message_ring_capacity = asked.ring_capacity();
  }
  // Counted as if on 2 MiB pages: never less than the segment takes.
  shm::ChannelLayout layout;
  std::string why;
  if (!shm::ComputeChannelLayout(reservation.sizes, uint64_t{2} << 20, &layout,
                                 &why)) {
    return ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat("sizes: ", why)));
  }
  reservation.bytes = layout.segment_size;
  absl::StatusOr<SessionSecret> ticket = sessions_->IssueTicket(
      request->session().id(), request->session().token(), reservation);
  if (!ticket.ok()) return ToGrpcStatus(ticket.status());
  response->set_ticket(std::string(ticket->begin(), ticket->end()));
  response->set_channel_socket(channel_socket_);
  response->set_ticket_ttl_ms(static_cast<uint32_t>(
      absl::ToInt64Milliseconds(sessions_->limits().ticket_ttl)));
  return grpc::Status::OK;
}

grpc::Status SessionServiceImpl::DestroyChannel(
    grpc::ServerContext*, const v1::DestroyChannelRequest* request,
    v1::DestroyChannelResponse*) {
  return ToGrpcStatus(sessions_->DestroyChannel(
      request->session().id(), request->session().token(), request->channel(),
      request->abort()));
}

grpc::Status SessionServiceImpl::ListSessions(
    grpc::ServerContext* context, const v1::ListSessionsRequest* request,
    v1::ListSessionsResponse* response) {
  std::vector<SessionInfo> sessions;
  if (request->has_session()) {
    absl::StatusOr<SessionInfo> own =
        sessions_->Get(request->session().id(), request->session().token());
    if (!own.ok()) return ToGrpcStatus(own.status());
    sessions.push_back(*std::move(own));
  } else if (role_.Of(*context) == ApiRole::kAdmin) {
    sessions = sessions_->List();
  } else {
    return ToGrpcStatus(absl::PermissionDeniedError(
        "session: an application lists only its own session (give its id "
        "and token; every session is listed only on the admin socket)"));
  }
  for (const SessionInfo& info : sessions) {
    v1::Session* s = response->add_sessions();
    s->set_id(info.id);
    s->set_name(info.name);
    s->set_pid(info.pid);
    for (uint64_t channel : info.channels) s->add_channels(channel);
    s->set_pending_tickets(info.pending_tickets);
    s->set_heartbeat_timeout_ms(static_cast<uint32_t>(
        absl::ToInt64Milliseconds(info.heartbeat_timeout)));
    s->set_linger_ms(
        static_cast<uint32_t>(absl::ToInt64Milliseconds(info.linger)));
    s->set_memory_bytes(info.memory_bytes);
    if (info.peer.has_value()) {
      s->mutable_peer()->set_pid(static_cast<uint32_t>(info.peer->pid));
      s->mutable_peer()->set_uid(info.peer->uid);
      s->mutable_peer()->set_gid(info.peer->gid);
    }
  }
  return grpc::Status::OK;
}

}  // namespace ferry::controlplane

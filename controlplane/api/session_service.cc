#include "controlplane/api/session_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/channel_layout.h"
#include "controlplane/api/status_convert.h"

namespace ferry::controlplane {

grpc::Status SessionServiceImpl::OpenSession(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::SessionEvent, v1::SessionRequest>* stream) {
  v1::SessionRequest request;
  if (!stream->Read(&request)) {
    // The stream ended, or its first message was not a SessionRequest.
    return ToGrpcStatus(absl::InvalidArgumentError(
        "no `open` request: the stream ended or its first message was not "
        "a SessionRequest"));
  }
  if (!request.has_open()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "the first request of a session must be `open`"));
  }
  // ExpireOverdue calls this under the registry's lock, and only while the
  // session exists: Close() below, before `context` dies, ends that.
  absl::StatusOr<SessionRegistry::Opened> opened = sessions_->Open(
      request.open().name(), request.open().pid(),
      request.open().heartbeat_timeout_ms(),
      [context] { context->TryCancel(); }, request.open().linger_ms());
  if (!opened.ok()) return ToGrpcStatus(opened.status());
  const uint64_t id = opened->id;
  v1::SessionEvent event;
  v1::SessionOpened* out = event.mutable_opened();
  out->mutable_session()->set_id(id);
  out->mutable_session()->set_token(
      std::string(opened->token.begin(), opened->token.end()));
  out->set_heartbeat_timeout_ms(static_cast<uint32_t>(
      absl::ToInt64Milliseconds(opened->heartbeat_timeout)));
  out->set_channel_socket(channel_socket_);
  out->set_max_channels(sessions_->limits().max_channels_per_session);
  out->set_memory_quota_bytes(sessions_->limits().max_session_memory_bytes);
  out->set_linger_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(opened->linger)));
  grpc::Status result = grpc::Status::OK;
  if (stream->Write(event)) {
    while (stream->Read(&request)) {
      if (request.has_heartbeat()) {
        sessions_->Heartbeat(id);
      } else {
        result = ToGrpcStatus(absl::InvalidArgumentError(
            "a session is opened once; send only heartbeats after `open`"));
        break;
      }
    }
  }
  sessions_->Close(id);
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "the session ended (no heartbeat, or cancelled)");
  }
  return result;
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
  }
  return grpc::Status::OK;
}

}  // namespace ferry::controlplane

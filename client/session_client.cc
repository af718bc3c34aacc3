#include "client/session_client.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "client/abi/fd_passing.h"
#include "client/ferry.h"
#include "proto/google/rpc/status.pb.h"

namespace ferry::client {

std::string GrpcTargetForSocket(const std::string& socket_path) {
  if (!socket_path.empty() && socket_path[0] == '@') {
    return "unix-abstract:" + socket_path.substr(1);
  }
  return "unix:" + socket_path;
}

namespace {

// The engine's ferry_status, when ferryd put a FlowError in the status
// details.
std::optional<uint16_t> FlowErrorOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() ||
      !details.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  for (const google::protobuf::Any& any : details.details()) {
    v1::FlowError error;
    if (any.UnpackTo(&error) && error.status() != v1::FERRY_STATUS_OK) {
      return static_cast<uint16_t>(error.status());
    }
  }
  return std::nullopt;
}

// The errno a failed RPC stands for: the engine's ferry_status when ferryd
// sent one (the channel ring's own mapping), else by gRPC code.
int ErrnoOf(const grpc::Status& status, std::string* error) {
  if (error != nullptr) *error = status.error_message();
  if (std::optional<uint16_t> reason = FlowErrorOf(status)) {
    return ferry_status_errno(*reason);
  }
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return 0;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return -EINVAL;
    case grpc::StatusCode::NOT_FOUND:
      return -ENOENT;
    case grpc::StatusCode::ALREADY_EXISTS:
      return -EADDRINUSE;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return -EMFILE;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return -ENODEV;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return -ETIMEDOUT;
    case grpc::StatusCode::PERMISSION_DENIED:
      return -EACCES;
    case grpc::StatusCode::UNAVAILABLE:
      return -ECONNREFUSED;
    default:
      return -EPROTO;
  }
}

}  // namespace

int SessionClient::Open(const std::string& socket_path, const std::string& name,
                        std::unique_ptr<SessionClient>* session,
                        std::string* error, uint32_t linger_ms) {
  // A socket file that is not there is not worth gRPC's retries.
  if (!socket_path.empty() && socket_path[0] != '@' &&
      access(socket_path.c_str(), F_OK) != 0) {
    const int err = errno;
    if (error != nullptr) *error = socket_path + ": " + std::strerror(err);
    return -err;
  }
  std::unique_ptr<SessionClient> s(new SessionClient());
  s->grpc_channel_ = grpc::CreateChannel(GrpcTargetForSocket(socket_path),
                                         grpc::InsecureChannelCredentials());
  // A daemon that is not there fails fast instead of gRPC's retrying. One
  // that listens gets longer: on a loaded machine the connection itself can
  // take seconds (64 applications attaching at once, under the sanitizers
  // on two cores, now and then took over 2 s).
  const bool listens =
      !socket_path.empty() && ferry::shm::UnixSocketIsLive(socket_path.c_str());
  if (!s->grpc_channel_->WaitForConnected(
          std::chrono::system_clock::now() +
          std::chrono::seconds(listens ? 10 : 2))) {
    if (error != nullptr) {
      *error = "ferryd does not answer on " + socket_path;
    }
    return -ECONNREFUSED;
  }
  s->sessions_ = v1::SessionService::NewStub(s->grpc_channel_);
  s->flows_ = v1::FlowService::NewStub(s->grpc_channel_);
  s->stream_ = s->sessions_->OpenSession(&s->stream_context_);
  v1::SessionRequest request;
  request.mutable_open()->set_name(name);
  request.mutable_open()->set_pid(static_cast<uint32_t>(getpid()));
  request.mutable_open()->set_linger_ms(linger_ms);
  v1::SessionEvent event;
  if (!s->stream_->Write(request) || !s->stream_->Read(&event) ||
      !event.has_opened()) {
    s->stream_->WritesDone();
    const grpc::Status status = s->stream_->Finish();
    s->stream_.reset();
    if (status.ok()) {
      if (error != nullptr) *error = "ferryd opened no session";
      return -EPROTO;
    }
    const int rc = ErrnoOf(status, error);
    return rc == -EMFILE ? -EAGAIN : rc;  // the session quota: try later
  }
  s->id_ = event.opened().session().id();
  s->token_ = event.opened().session().token();
  s->heartbeat_timeout_ms_ = event.opened().heartbeat_timeout_ms();
  s->heartbeat_thread_ =
      std::thread([raw = s.get()] { raw->SendHeartbeats(); });
  *session = std::move(s);
  return 0;
}

SessionClient::~SessionClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  if (stream_ != nullptr) {
    // ferryd ends the session when the stream ends; Finish waits for it,
    // so that the channels are being freed when this returns.
    stream_->WritesDone();
    stream_->Finish();
  }
}

void SessionClient::SendHeartbeats() {
  // Three heartbeats per timeout: one late wake-up is not the end.
  const auto interval = std::chrono::milliseconds(
      std::max<uint32_t>(heartbeat_timeout_ms_ / 3, 10));
  v1::SessionRequest beat;
  beat.mutable_heartbeat();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    const bool sent = stream_->Write(beat);
    lock.lock();
    if (!sent) break;  // ferryd ended the session or went away
  }
}

void SessionClient::FillRef(v1::SessionRef* ref) const {
  ref->set_id(id_);
  ref->set_token(token_);
}

int SessionClient::CreateChannel(ChannelTicket* ticket, std::string* error,
                                 uint32_t buffer_count, uint32_t buffer_size,
                                 uint32_t ring_capacity) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  v1::CreateChannelRequest request;
  FillRef(request.mutable_session());
  request.mutable_sizes()->set_buffer_count(buffer_count);
  request.mutable_sizes()->set_buffer_size(buffer_size);
  request.mutable_sizes()->set_ring_capacity(ring_capacity);
  v1::CreateChannelResponse response;
  const grpc::Status status =
      sessions_->CreateChannel(&context, request, &response);
  if (!status.ok()) return ErrnoOf(status, error);
  if (response.ticket().size() != ticket->ticket.size()) return -EPROTO;
  std::memcpy(ticket->ticket.data(), response.ticket().data(),
              ticket->ticket.size());
  ticket->channel_socket = response.channel_socket();
  return 0;
}

int SessionClient::FlowCall(uint64_t channel_id, uint16_t op,
                            const ferry_ctrl_flow_args& args, int timeout_ms,
                            ferry_ctrl_flow_args* out, std::string* error) {
  grpc::ClientContext context;
  if (timeout_ms >= 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(timeout_ms));
  }
  *out = {};
  grpc::Status status;
  switch (op) {
    case FERRY_CTRL_LISTEN:
    case FERRY_CTRL_UNLISTEN: {
      if (op == FERRY_CTRL_LISTEN) {
        v1::ListenRequest request;
        FillRef(request.mutable_session());
        request.set_channel(channel_id);
        request.set_port(args.local_port);
        request.set_local_ipv4(args.local_ip);
        v1::ListenResponse response;
        status = flows_->Listen(&context, request, &response);
        if (status.ok()) out->local_ip = response.local_ipv4();
      } else {
        v1::StopListeningRequest request;
        FillRef(request.mutable_session());
        request.set_channel(channel_id);
        request.set_port(args.local_port);
        v1::StopListeningResponse response;
        status = flows_->StopListening(&context, request, &response);
      }
      out->local_port = args.local_port;
      break;
    }
    case FERRY_CTRL_CONNECT: {
      v1::ConnectResponse response;
      const int rc =
          Connect(channel_id, args.local_ip, args.remote_ip, args.remote_port,
                  args.local_port, timeout_ms, &response, error);
      if (rc != 0) return rc;
      out->flow = response.flow();
      out->remote_ip = response.remote_ipv4();
      out->remote_port = static_cast<uint16_t>(response.remote_port());
      out->local_ip = response.local_ipv4();
      out->local_port = static_cast<uint16_t>(response.local_port());
      return 0;
    }
    default:
      return -EINVAL;
  }
  if (!status.ok()) return ErrnoOf(status, error);
  return 0;
}

int SessionClient::Connect(uint64_t channel_id, uint32_t local_ip,
                           uint32_t remote_ip, uint32_t remote_port,
                           uint32_t local_port, int timeout_ms,
                           v1::ConnectResponse* response, std::string* error) {
  grpc::ClientContext context;
  v1::ConnectRequest request;
  if (timeout_ms >= 0) {
    // ferryd waits timeout_ms; the call's own deadline comes a second
    // later, so that ferryd's answer (a flow, or its timeout) always
    // arrives: a call that expired here while a flow was on its way would
    // leave that flow to nobody.
    request.set_timeout_ms(static_cast<uint32_t>(std::max(timeout_ms, 1)));
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(timeout_ms) +
                         std::chrono::seconds(1));
  }
  FillRef(request.mutable_session());
  request.set_channel(channel_id);
  request.set_remote_ipv4(remote_ip);
  request.set_remote_port(remote_port);
  request.set_local_port(local_port);
  request.set_local_ipv4(local_ip);
  const grpc::Status status = flows_->Connect(&context, request, response);
  return status.ok() ? 0 : ErrnoOf(status, error);
}

int SessionClient::DestroyChannel(uint64_t channel_id, bool abort,
                                  std::string* error) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  v1::DestroyChannelRequest request;
  FillRef(request.mutable_session());
  request.set_channel(channel_id);
  request.set_abort(abort);
  v1::DestroyChannelResponse response;
  const grpc::Status status =
      sessions_->DestroyChannel(&context, request, &response);
  return status.ok() ? 0 : ErrnoOf(status, error);
}

}  // namespace ferry::client

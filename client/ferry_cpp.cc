#include "client/ferry_cpp.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace ferry {
namespace {

int TimeoutMs(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(
      std::max(timeout, absl::ZeroDuration()), absl::Milliseconds(1)));
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

Received FromInfo(const ferry_recv_info& info, ssize_t copied) {
  Received r;
  r.flow = info.flow;
  r.length = info.length;
  r.copied = static_cast<size_t>(copied);
  r.truncated = (info.flags & FERRY_RECV_TRUNCATED) != 0;
  r.send_error = (info.flags & FERRY_RECV_SEND_ERROR) != 0;
  r.flow_accepted = (info.flags & FERRY_RECV_FLOW_ACCEPTED) != 0;
  r.flow_closed = (info.flags & FERRY_RECV_FLOW_CLOSED) != 0;
  r.cookie = info.cookie;
  r.status = static_cast<ferry_status>(info.status);
  return r;
}

}  // namespace

absl::Status StatusFromErrno(int negative_errno, const char* what) {
  const int e = -negative_errno;
  const std::string message = absl::StrFormat("%s: %s", what, strerror(e));
  switch (e) {
    case 0:
      return absl::OkStatus();
    case EAGAIN:
    case ENOENT:
    case ECONNREFUSED:
    case EHOSTUNREACH:
      return absl::UnavailableError(message);
    case EADDRINUSE:
      return absl::AlreadyExistsError(message);
    case EMFILE:
      return absl::ResourceExhaustedError(message);
    case ENOTCONN:
      return absl::NotFoundError(message);
    case ECONNRESET:
    case EPIPE:
      return absl::AbortedError(message);
    case ETIMEDOUT:
      return absl::DeadlineExceededError(message);
    case EMSGSIZE:
    case EINVAL:
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(message);
    case ENOSPC:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(message);
    case ENODEV:
    case EBUSY:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<Channel> Channel::Attach(const std::string& socket_path,
                                        const ferry_channel_options& options) {
  ferry_channel* channel = nullptr;
  const int rc = ferry_attach(socket_path.c_str(), &options, &channel);
  if (rc != 0) {
    return StatusFromErrno(
        rc, absl::StrFormat("attaching a channel at %s", socket_path).c_str());
  }
  return Channel(channel);
}

absl::StatusOr<Channel> Channel::AttachChannelSocket(
    const std::string& channel_socket, const ferry_channel_options& options) {
  ferry_channel* channel = nullptr;
  const int rc =
      ferry_attach_channel_socket(channel_socket.c_str(), &options, &channel);
  if (rc != 0) {
    return StatusFromErrno(
        rc,
        absl::StrFormat("attaching a channel at %s", channel_socket).c_str());
  }
  return Channel(channel);
}

absl::StatusOr<Session> Session::Open(const std::string& socket_path) {
  ferry_session* session = nullptr;
  const int rc = ferry_session_open(socket_path.c_str(), &session);
  if (rc != 0) {
    return StatusFromErrno(
        rc, absl::StrFormat("opening a session with ferryd at %s", socket_path)
                .c_str());
  }
  return Session(session);
}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    ferry_session_close(session_);
    session_ = other.session_;
    other.session_ = nullptr;
  }
  return *this;
}

absl::StatusOr<Channel> Session::Attach(const ferry_channel_options& options) {
  ferry_channel* channel = nullptr;
  const int rc = ferry_session_attach(session_, &options, &channel);
  if (rc != 0) return StatusFromErrno(rc, "creating a channel in the session");
  return Channel(channel);
}

Channel& Channel::operator=(Channel&& other) noexcept {
  if (this != &other) {
    ferry_detach(channel_);
    channel_ = other.channel_;
    other.channel_ = nullptr;
  }
  return *this;
}

absl::Status Channel::Send(uint64_t flow, absl::Span<const uint8_t> data,
                           uint64_t cookie) {
  const iovec piece = {const_cast<uint8_t*>(data.data()), data.size()};
  return SendPieces(flow, absl::MakeConstSpan(&piece, 1), cookie);
}

absl::Status Channel::SendPieces(uint64_t flow, absl::Span<const iovec> pieces,
                                 uint64_t cookie) {
  return StatusFromErrno(ferry_sendmsg(channel_, flow, pieces.data(),
                                       static_cast<int>(pieces.size()), cookie),
                         "send");
}

absl::StatusOr<Received> Channel::TryReceive(absl::Span<uint8_t> buffer) {
  ferry_recv_info info;
  const ssize_t n = ferry_recv(channel_, buffer.data(), buffer.size(), &info);
  if (n < 0) return StatusFromErrno(static_cast<int>(n), "receive");
  return FromInfo(info, n);
}

absl::StatusOr<Received> Channel::Receive(absl::Span<uint8_t> buffer,
                                          absl::Duration timeout) {
  ferry_recv_info info;
  const ssize_t n = ferry_recv_wait(channel_, buffer.data(), buffer.size(),
                                    &info, TimeoutMs(timeout));
  if (n < 0) return StatusFromErrno(static_cast<int>(n), "receive");
  return FromInfo(info, n);
}

absl::Status Channel::PingEngine(absl::Duration timeout) {
  return StatusFromErrno(ferry_ping_engine(channel_, TimeoutMs(timeout)),
                         "engine ping");
}

}  // namespace ferry

namespace ferry {

absl::Status Channel::Listen(uint16_t port, absl::Duration timeout) {
  return StatusFromErrno(ferry_listen(channel_, port, TimeoutMs(timeout)),
                         absl::StrFormat("listen on port %d", port).c_str());
}

absl::Status Channel::Unlisten(uint16_t port, absl::Duration timeout) {
  return StatusFromErrno(
      ferry_unlisten(channel_, port, TimeoutMs(timeout)),
      absl::StrFormat("stop listening on port %d", port).c_str());
}

absl::StatusOr<Connected> Channel::Connect(uint32_t remote_ip,
                                           uint16_t remote_port,
                                           absl::Duration timeout,
                                           uint16_t local_port) {
  Connected c;
  ferry_flow_addr addr;
  const int rc = ferry_connect_ex(channel_, remote_ip, remote_port, local_port,
                                  TimeoutMs(timeout), &c.flow, &addr);
  if (rc != 0) {
    return StatusFromErrno(
        rc, absl::StrFormat("connect to %d.%d.%d.%d:%d", remote_ip >> 24,
                            (remote_ip >> 16) & 0xff, (remote_ip >> 8) & 0xff,
                            remote_ip & 0xff, remote_port)
                .c_str());
  }
  c.address = FlowAddress{addr.local_ip, addr.local_port, addr.remote_ip,
                          addr.remote_port};
  return c;
}

absl::Status Channel::Close(uint64_t flow, absl::Duration timeout) {
  return StatusFromErrno(ferry_close(channel_, flow, TimeoutMs(timeout)),
                         absl::StrFormat("close flow %d", flow).c_str());
}

}  // namespace ferry

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
      return absl::UnavailableError(message);
    case ETIMEDOUT:
      return absl::DeadlineExceededError(message);
    case EMSGSIZE:
    case EINVAL:
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(message);
    case ENOSPC:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
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

#include "dataplane/channel/channel_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "client/abi/fd_passing.h"
#include "client/abi/ferry_attach_abi.h"

namespace ferry::channel {
namespace {

void ReplyError(int connection, int error, const std::string& message) {
  ferry_attach_reply reply = {};
  reply.magic = FERRY_ATTACH_MAGIC;
  reply.error = error;
  std::snprintf(reply.message, sizeof(reply.message), "%s", message.c_str());
  shm::SendWithFds(connection, &reply, sizeof(reply), nullptr, 0);
}

}  // namespace

bool RequestMatchesReservation(const ferry_attach_request& request,
                               const shm::ChannelSizes& reserved) {
  const auto same = [](uint32_t asked, uint32_t have) {
    return asked == 0 || asked == have;
  };
  return same(request.buffer_count, reserved.buffer_count) &&
         same(request.buffer_size, reserved.buffer_size) &&
         same(request.ring_capacity, reserved.message_ring_capacity);
}

absl::StatusOr<std::unique_ptr<ChannelListener>> ChannelListener::Listen(
    const std::string& path, int mode, const shm::ChannelSizes& defaults,
    SegmentMemory memory) {
  sockaddr_un addr;
  socklen_t addr_len;
  if (!shm::MakeUnixAddress(path.c_str(), &addr, &addr_len)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("channel socket path '%s' is too long", path));
  }
  const bool abstract = path[0] == '@';
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("socket: %s", strerror(errno)));
  }
  if (!abstract) {
    // A socket file that still answers belongs to a live daemon: refuse to
    // steal it. One that does not answer is stale and replaced.
    if (shm::UnixSocketIsLive(path.c_str())) {
      close(fd);
      return absl::AlreadyExistsError(absl::StrFormat(
          "channel socket '%s' is in use by another process", path));
    }
    unlink(path.c_str());
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 ||
      (!abstract && chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) ||
      listen(fd, 64) != 0) {
    const int err = errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot listen on channel socket '%s': %s", path, strerror(err)));
  }
  return std::unique_ptr<ChannelListener>(
      new ChannelListener(fd, path, defaults, memory));
}

ChannelListener::~ChannelListener() {
  close(fd_);
  if (path_[0] != '@') unlink(path_.c_str());
}

int ChannelListener::AcceptConnection() {
  return accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

absl::StatusOr<std::unique_ptr<EngineChannel>> ChannelListener::Prepare(
    int connection, uint64_t channel_id, int engine_doorbell,
    const Admit& admit) {
  auto fail = [&](int error, const std::string& message) {
    ReplyError(connection, error, message);
    close(connection);
    return absl::InvalidArgumentError(message);
  };
  ferry_attach_request request;
  int unused_fds[1];
  int fd_count = 0;
  const int rc = shm::ReceiveWithFds(connection, &request, sizeof(request),
                                     unused_fds, 0, &fd_count);
  if (rc != 0) return fail(EPROTO, "no attach request");
  if (request.magic != FERRY_ATTACH_MAGIC) {
    return fail(EPROTO, "not an attach request");
  }
  if (request.version != FERRY_CHANNEL_ABI_VERSION) {
    return fail(EPROTO,
                absl::StrFormat("channel ABI version %d, ferryd has %d",
                                request.version, FERRY_CHANNEL_ABI_VERSION));
  }
  shm::ChannelSizes sizes = defaults_;
  if (request.buffer_count != 0) sizes.buffer_count = request.buffer_count;
  if (request.buffer_size != 0) sizes.buffer_size = request.buffer_size;
  if (request.ring_capacity != 0) {
    sizes.message_ring_capacity = request.ring_capacity;
  }
  if (admit) {
    if (absl::Status s = admit(request, &sizes); !s.ok()) {
      ReplyError(connection, EPERM, std::string(s.message()));
      close(connection);
      return s;
    }
  }
  absl::StatusOr<std::unique_ptr<ChannelSegment>> segment =
      ChannelSegment::Create(sizes, channel_id, memory_);
  if (!segment.ok()) {
    return fail(segment.status().code() == absl::StatusCode::kInvalidArgument
                    ? EINVAL
                    : ENOMEM,
                std::string(segment.status().message()));
  }
  absl::StatusOr<std::unique_ptr<EngineChannel>> channel =
      EngineChannel::Create(std::move(*segment), engine_doorbell);
  if (!channel.ok()) {
    return fail(ENOMEM, std::string(channel.status().message()));
  }
  return std::move(*channel);
}

void ChannelListener::Refuse(int connection, int error,
                             const std::string& message) {
  ReplyError(connection, error, message);
  close(connection);
}

bool ChannelListener::Reply(int connection, const EngineChannel& channel) {
  ferry_attach_reply reply = {};
  reply.magic = FERRY_ATTACH_MAGIC;
  reply.channel_id = channel.segment().channel_id();
  reply.segment_size = channel.segment().view().layout.segment_size;
  const int fds[FERRY_ATTACH_FD_COUNT] = {
      channel.segment().fd(), channel.engine_eventfd(), channel.app_eventfd()};
  return shm::SendWithFds(connection, &reply, sizeof(reply), fds,
                          FERRY_ATTACH_FD_COUNT) == 0;
}

absl::StatusOr<AcceptedChannel> ChannelListener::AcceptOne(uint64_t channel_id,
                                                           int engine_doorbell,
                                                           const Admit& admit) {
  const int connection = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (connection < 0) {
    return absl::UnavailableError(
        absl::StrFormat("accept: %s", strerror(errno)));
  }
  // Blocking, for tests and tools with one client: a client that says
  // nothing gets one second.
  timeval timeout = {1, 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  absl::StatusOr<std::unique_ptr<EngineChannel>> channel =
      Prepare(connection, channel_id, engine_doorbell, admit);
  if (!channel.ok()) return channel.status();
  if (!Reply(connection, **channel)) {
    close(connection);
    return absl::UnavailableError("the application left during attach");
  }
  return AcceptedChannel{connection, std::move(*channel)};
}

}  // namespace ferry::channel

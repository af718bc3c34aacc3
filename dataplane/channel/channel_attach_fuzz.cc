// Fuzz target for the channel socket's attach request: arbitrary bytes
// (short, long, with or without a file descriptor riding along, with the
// sender gone or still there) arrive on a connection and the listener's
// Prepare reads them, with an admission check that behaves as ferryd's
// does (the ticket's reserved sizes, or a refusal). A request is either
// refused, with a well-formed error reply and the connection closed, or
// becomes a channel of exactly the reserved sizes whose reply carries the
// three descriptors; either way no descriptor is left open afterwards.
// libFuzzer entry point; channel_attach_fuzz_seeds.cc gives fuzz_driver
// seeds.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/abi/channel_layout.h"
#include "client/abi/fd_passing.h"
#include "client/abi/ferry_attach_abi.h"
#include "dataplane/base/fuzz_input.h"
#include "dataplane/channel/channel_listener.h"

namespace {

using ferry::channel::ChannelListener;
using ferry::channel::EngineChannel;
using ferry::channel::SegmentMemory;
using ferry::fuzz::FuzzInput;
namespace shm = ferry::shm;

// What a ticket may have reserved (the smallest segments there are: each
// accepted request maps and zeroes one).
const shm::ChannelSizes kReservations[] = {
    {16, 1u << 20, 4, 2},
    {8192, 2048, 8, 4},
};

// The lowest descriptor number free now: a descriptor leaked by the code
// under test takes it.
int LowestFreeFd() {
  const int fd = dup(STDERR_FILENO);
  close(fd);
  return fd;
}

int Doorbell() {
  static const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd;
}

// A listener that is never listened on: Prepare only reads the connection
// it is given.
ChannelListener& Listener() {
  static std::unique_ptr<ChannelListener> listener = [] {
    auto made = ChannelListener::Listen(
        "@ferry-attach-fuzz-" + std::to_string(getpid()), 0600,
        shm::ChannelSizes{}, SegmentMemory::kOrdinaryPages);
    FERRY_FUZZ_CHECK(made.ok());
    return std::move(*made);
  }();
  return *listener;
}

// Reads the reply the application would get: false when there is none.
bool ReadReply(int app, ferry_attach_reply* reply, int* fds, int* fd_count) {
  return shm::ReceiveWithFds(app, reply, sizeof(*reply), fds,
                             FERRY_ATTACH_FD_COUNT, fd_count) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  const shm::ChannelSizes& reserved = kReservations[in.Byte() % 2];
  std::vector<uint8_t> payload(in.remaining());
  in.Bytes(payload.data(), payload.size());
  ChannelListener& listener = Listener();
  const int fds_before = LowestFreeFd();

  int ends[2];
  FERRY_FUZZ_CHECK(socketpair(AF_UNIX,
                              SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                              ends) == 0);
  const int app = ends[0];
  const int connection = ends[1];
  if (!payload.empty()) {
    if (flags & 1) {  // a descriptor rides along, unasked for
      const int extra = eventfd(0, EFD_CLOEXEC);
      shm::SendWithFds(app, payload.data(), payload.size(), &extra, 1);
      close(extra);
    } else {
      FERRY_FUZZ_CHECK(write(app, payload.data(), payload.size()) ==
                       static_cast<ssize_t>(payload.size()));
    }
  }
  if (flags & 2) shutdown(app, SHUT_WR);

  // As ferryd admits: a refused ticket, or the reservation's sizes.
  bool admitted = false;
  const auto admit = [&](const ferry_attach_request& request,
                         shm::ChannelSizes* sizes) -> absl::Status {
    if (flags & 4) return absl::PermissionDeniedError("unknown ticket");
    if (!ferry::channel::RequestMatchesReservation(request, reserved)) {
      return absl::InvalidArgumentError("other sizes than reserved");
    }
    *sizes = reserved;
    admitted = true;
    return absl::OkStatus();
  };
  auto channel = listener.Prepare(connection, 7, Doorbell(), admit);

  ferry_attach_reply reply = {};
  int fds[FERRY_ATTACH_FD_COUNT];
  int fd_count = 0;
  if (channel.ok()) {
    // Only a whole, well-formed, admitted request gets here.
    FERRY_FUZZ_CHECK(admitted);
    FERRY_FUZZ_CHECK(payload.size() >= sizeof(ferry_attach_request));
    const shm::ChannelLayout& layout = (*channel)->segment().view().layout;
    FERRY_FUZZ_CHECK(layout.sizes.buffer_count == reserved.buffer_count);
    FERRY_FUZZ_CHECK(layout.sizes.buffer_size == reserved.buffer_size);
    FERRY_FUZZ_CHECK(layout.sizes.message_ring_capacity ==
                     reserved.message_ring_capacity);
    FERRY_FUZZ_CHECK(ChannelListener::Reply(connection, **channel));
    FERRY_FUZZ_CHECK(ReadReply(app, &reply, fds, &fd_count));
    FERRY_FUZZ_CHECK(reply.magic == FERRY_ATTACH_MAGIC && reply.error == 0);
    FERRY_FUZZ_CHECK(fd_count == FERRY_ATTACH_FD_COUNT);
    FERRY_FUZZ_CHECK(reply.segment_size == layout.segment_size);
    for (int i = 0; i < fd_count; ++i) close(fds[i]);
    channel->reset();
    close(connection);
  } else {
    // Refused: the connection is closed, and the application heard why
    // (unless it had already hung up, which the reply cannot fix).
    FERRY_FUZZ_CHECK(fcntl(connection, F_GETFD) == -1);
    if (ReadReply(app, &reply, fds, &fd_count)) {
      FERRY_FUZZ_CHECK(reply.magic == FERRY_ATTACH_MAGIC);
      FERRY_FUZZ_CHECK(reply.error > 0);
      FERRY_FUZZ_CHECK(fd_count == 0);
      FERRY_FUZZ_CHECK(
          std::memchr(reply.message, '\0', sizeof(reply.message)) != nullptr);
    }
  }
  close(app);
  FERRY_FUZZ_CHECK(LowestFreeFd() == fds_before);
  return 0;
}

// ferryd's channel socket: where applications come to get a channel.
//
// Control thread only. Each accepted connection sends one attach request;
// the listener creates the channel (segment, eventfds) and replies with the
// three descriptors (see client/abi/ferry_attach_abi.h). The connection stays
// open for the channel's lifetime: its EOF is how ferryd learns that the
// application went away, however it went.
#ifndef FERRY_DATAPLANE_CHANNEL_CHANNEL_LISTENER_H_
#define FERRY_DATAPLANE_CHANNEL_CHANNEL_LISTENER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/abi/channel_layout.h"
#include "client/abi/ferry_attach_abi.h"
#include "dataplane/channel/channel_segment.h"
#include "dataplane/channel/engine_channel.h"

namespace ferry::channel {

struct AcceptedChannel {
  int connection = -1;  // owned by the caller: close it to end the channel
  std::unique_ptr<EngineChannel> channel;
};

// Whether an attach request's sizes agree with what its ticket reserved:
// each may repeat the reserved value or be 0 ("as reserved"), never ask for
// another.
bool RequestMatchesReservation(const ferry_attach_request& request,
                               const shm::ChannelSizes& reserved);

class ChannelListener {
 public:
  // Binds `path` (a stale socket file is replaced) with permissions `mode`;
  // "@name" is a Linux abstract socket (tests: no file to clean up).
  static absl::StatusOr<std::unique_ptr<ChannelListener>> Listen(
      const std::string& path, int mode, const shm::ChannelSizes& defaults,
      SegmentMemory memory);
  ~ChannelListener();  // closes and unlinks the socket

  // Readable when a connection is waiting.
  int fd() const { return fd_; }

  // Accepts one connection and serves its attach request, blocking (one
  // second at most for the request): for tests and single-client tools. A
  // request that is malformed, slow or asks for impossible sizes gets an
  // error reply (when possible) and an error status here; nothing is kept.
  // `engine_doorbell` is the eventfd of the engine that will own it.
  // `admit` (may be empty: admit all) sees the well-formed request before
  // anything is created, with the sizes it resolves to (the request's, or
  // the defaults), which it may replace; its error goes back to the
  // application (EPERM).
  using Admit = std::function<absl::Status(const ferry_attach_request&,
                                           shm::ChannelSizes* sizes)>;
  absl::StatusOr<AcceptedChannel> AcceptOne(uint64_t channel_id,
                                            int engine_doorbell,
                                            const Admit& admit = {});

  // The same in steps, for a control thread that must never wait on a
  // client: accept (non-blocking; -1 when nobody waits), then once the
  // connection is readable Prepare the channel (the request must have
  // arrived whole; on failure the client hears why and the connection is
  // closed), hand it to its engine, and Reply with its descriptors (false:
  // the client left). Refuse answers a connection that will get nothing.
  int AcceptConnection();
  absl::StatusOr<std::unique_ptr<EngineChannel>> Prepare(int connection,
                                                         uint64_t channel_id,
                                                         int engine_doorbell,
                                                         const Admit& admit);
  static bool Reply(int connection, const EngineChannel& channel);
  static void Refuse(int connection, int error, const std::string& message);

 private:
  ChannelListener(int fd, std::string path, const shm::ChannelSizes& defaults,
                  SegmentMemory memory)
      : fd_(fd), path_(std::move(path)), defaults_(defaults), memory_(memory) {}

  int fd_;
  std::string path_;
  shm::ChannelSizes defaults_;
  SegmentMemory memory_;
};

}  // namespace ferry::channel

#endif  // FERRY_DATAPLANE_CHANNEL_CHANNEL_LISTENER_H_

// Ferry's C++ API: RAII channels over the C API in ferry.h, with
// absl::Status errors and spans. Same threading and ownership rules as the
// C API: a Channel belongs to one thread at a time; it is movable, not
// copyable, and detaches when destroyed.
//
//   absl::StatusOr<ferry::Channel> channel = ferry::Channel::Attach();
//   RETURN_IF_ERROR(channel->Send(flow, bytes));
//   std::vector<uint8_t> buffer(64 << 10);
//   absl::StatusOr<ferry::Received> got =
//       channel->Receive(absl::MakeSpan(buffer), absl::Seconds(1));
#ifndef FERRY_CLIENT_FERRY_CPP_H_
#define FERRY_CLIENT_FERRY_CPP_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/abi/ferry_attach_abi.h"
#include "client/ferry.h"

namespace ferry {

// One receive event: a message (copied into the caller's buffer) or the
// report of a send that failed.
struct Received {
  uint64_t flow = 0;
  size_t length = 0;  // the whole message
  size_t copied = 0;  // bytes placed in the buffer (< length if truncated)
  bool truncated = false;
  bool send_error = false;     // then `cookie` and `status` say which and why
  bool flow_accepted = false;  // a listener accepted `flow` (no data)
  bool flow_closed = false;    // `flow` ended; `status` says why (no data)
  // Messages and accept events: the peer's address (FERRY_COOKIE_*).
  uint64_t cookie = 0;
  ferry_status status = FERRY_STATUS_OK;
};

// A flow's addresses, host byte order.
struct FlowAddress {
  uint32_t local_ip = 0;
  uint16_t local_port = 0;
  uint32_t remote_ip = 0;
  uint16_t remote_port = 0;
};

struct Connected {
  uint64_t flow = 0;
  FlowAddress address;
};

// Maps a negative errno from the C API to a status: -EAGAIN is
// UNAVAILABLE (retry), -ETIMEDOUT DEADLINE_EXCEEDED, -EMSGSIZE and -EINVAL
// INVALID_ARGUMENT, -ENOENT/-ECONNREFUSED/-EHOSTUNREACH UNAVAILABLE,
// -EADDRINUSE ALREADY_EXISTS, -EMFILE RESOURCE_EXHAUSTED, -ENOTCONN
// NOT_FOUND, -ECONNRESET/-EPIPE ABORTED, others INTERNAL.
absl::Status StatusFromErrno(int negative_errno, const char* what);

class Session;

class Channel {
 public:
  // A channel in a session of its own, through ferryd's API socket.
  static absl::StatusOr<Channel> Attach(
      const std::string& socket_path = FERRY_DEFAULT_SOCKET,
      const ferry_channel_options& options = {});
  // Straight from a channel socket, without a session (engine-side tests;
  // see ferry_attach_channel_socket).
  static absl::StatusOr<Channel> AttachChannelSocket(
      const std::string& channel_socket,
      const ferry_channel_options& options = {});

  Channel(Channel&& other) noexcept : channel_(other.channel_) {
    other.channel_ = nullptr;
  }
  Channel& operator=(Channel&& other) noexcept;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() { ferry_detach(channel_); }

  uint64_t id() const { return ferry_channel_id(channel_); }
  int wait_fd() const { return ferry_wait_fd(channel_); }
  ferry_channel* c_channel() { return channel_; }

  absl::Status Send(uint64_t flow, absl::Span<const uint8_t> data,
                    uint64_t cookie = 0);
  absl::Status SendPieces(uint64_t flow, absl::Span<const iovec> pieces,
                          uint64_t cookie = 0);
  // UNAVAILABLE when nothing is waiting.
  absl::StatusOr<Received> TryReceive(absl::Span<uint8_t> buffer);
  // Waits up to `timeout` (absl::InfiniteDuration(): forever).
  absl::StatusOr<Received> Receive(absl::Span<uint8_t> buffer,
                                   absl::Duration timeout);
  absl::Status PingEngine(absl::Duration timeout);

  // Flows (see ferry.h): listen on a UDP port of the engine's address,
  // connect (returns once the handshake is done), orderly close.
  absl::Status Listen(uint16_t port, absl::Duration timeout = absl::Seconds(5));
  absl::Status Unlisten(uint16_t port,
                        absl::Duration timeout = absl::Seconds(5));
  absl::StatusOr<Connected> Connect(uint32_t remote_ip, uint16_t remote_port,
                                    absl::Duration timeout = absl::Seconds(5),
                                    uint16_t local_port = 0);
  absl::Status Close(uint64_t flow, absl::Duration timeout = absl::Seconds(5));

 private:
  friend class Session;
  explicit Channel(ferry_channel* channel) : channel_(channel) {}
  ferry_channel* channel_;
};

// A session with ferryd: its channels live at most as long as it does.
// Destroy (or move away) every Channel before its Session.
class Session {
 public:
  static absl::StatusOr<Session> Open(
      const std::string& socket_path = FERRY_DEFAULT_SOCKET);
  Session(Session&& other) noexcept : session_(other.session_) {
    other.session_ = nullptr;
  }
  Session& operator=(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { ferry_session_close(session_); }

  uint64_t id() const { return ferry_session_id(session_); }
  absl::StatusOr<Channel> Attach(const ferry_channel_options& options = {});

 private:
  explicit Session(ferry_session* session) : session_(session) {}
  ferry_session* session_;
};

}  // namespace ferry

#endif  // FERRY_CLIENT_FERRY_CPP_H_

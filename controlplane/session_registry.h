// Applications' sessions: who owns which channel, tickets for the channel
// socket, heartbeats and quotas.
//
// A session is opened by a SessionService stream and lives until the stream
// ends or its heartbeats stop. Its channels are created in two steps: a
// gRPC call reserves one and returns a one-time ticket (IssueTicket); the
// application presents the ticket on the channel socket, where the main
// thread redeems it (Redeem) and attaches the channel (ChannelAttached).
// Tickets and tokens are 16 random bytes from the kernel: knowing a
// session's id is not enough to act for it.
//
// Thread-safe: gRPC threads open, close and query sessions; the main thread
// redeems tickets, reports channels and takes the channels of ended
// sessions (TakeChannelsToClose) after its wake_fd() turns readable. One
// mutex, control path only; engines never see this.
#ifndef FERRY_CONTROLPLANE_SESSION_REGISTRY_H_
#define FERRY_CONTROLPLANE_SESSION_REGISTRY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/abi/channel_layout.h"
#include "controlplane/engine_commands.h"
#include "controlplane/peer_credentials.h"

namespace ferry::controlplane {

using SessionSecret = std::array<uint8_t, 16>;

struct SessionLimits {
  uint32_t max_sessions = 256;
  uint32_t max_channels_per_session = 16;
  absl::Duration default_heartbeat_timeout = absl::Seconds(1);
  absl::Duration ticket_ttl = absl::Seconds(10);
  // How long a channel whose session ended may take to deliver what its
  // application had sent (then its flows are reset).
  absl::Duration default_linger = absl::Seconds(5);
  absl::Duration max_linger = absl::Seconds(600);
  // Shared memory: one channel's segment, and all of one session's
  // channels together (attached and reserved by tickets).
  uint64_t max_channel_bytes = uint64_t{256} << 20;
  uint64_t max_session_memory_bytes = uint64_t{1} << 30;
  // A session stream must send `open` this soon; at most this many of one
  // user's may be waiting to at once (each holds a little memory, never a
  // thread), so that one user's flood leaves others' sessions alone.
  absl::Duration open_timeout = absl::Seconds(2);
  uint32_t max_unopened_per_user = 256;
  // ferryd sweeps for overdue heartbeats every 100 ms or so; a longer gap
  // between two sweeps means ferryd itself did not run (SIGSTOP, a paused
  // VM), and says nothing about its applications.
  absl::Duration stalled_after = absl::Milliseconds(500);
};

// What a ticket reserves: the channel's sizes and its segment's bytes.
struct ChannelReservation {
  shm::ChannelSizes sizes;
  uint64_t bytes = 0;
};

// A redeemed ticket: the session it belongs to and what it reserved.
struct Redeemed {
  uint64_t session_id = 0;
  ChannelReservation reservation;
};

struct SessionInfo {
  uint64_t id = 0;
  std::string name;
  uint32_t pid = 0;
  std::vector<uint64_t> channels;
  uint32_t pending_tickets = 0;
  absl::Duration heartbeat_timeout;
  absl::Duration linger;
  uint64_t memory_bytes = 0;  // its channels' segments, reserved included
  // The process that opened it, as the kernel says; unknown over TCP.
  std::optional<PeerCredentials> peer;
};

// A channel the main thread must end, and how long it may drain first
// (zero: its flows are reset at once).
struct ChannelToClose {
  uint64_t channel_id = 0;
  absl::Duration linger;
};

// A session's channel, as the Flow RPCs need it.
struct SessionChannel {
  uint64_t channel_id = 0;
  EngineRef where;
};

class SessionRegistry {
 public:
  // Names are kept as at most this many printable characters.
  static constexpr size_t kMaxNameBytes = 64;
  // Fails only when the kernel gives no eventfd.
  static absl::StatusOr<std::unique_ptr<SessionRegistry>> Create(
      const SessionLimits& limits);
  ~SessionRegistry();

  const SessionLimits& limits() const { return limits_; }

  // gRPC threads. RESOURCE_EXHAUSTED past max_sessions; INVALID_ARGUMENT
  // for a heartbeat timeout out of range. `cancel` ends the session's stream
  // (called under the lock when its heartbeats stop; it must not call back
  // into the registry). `linger_ms` 0 picks limits().default_linger.
  struct Opened {
    uint64_t id;
    SessionSecret token;
    absl::Duration heartbeat_timeout;
    absl::Duration linger;
  };
  absl::StatusOr<Opened> Open(
      const std::string& name, uint32_t pid, uint32_t heartbeat_timeout_ms,
      std::function<void()> cancel, uint32_t linger_ms = 0,
      const std::optional<PeerCredentials>& peer = std::nullopt);
  // A stream that has not sent `open` yet, from `peer` (nullopt: over
  // TCP, one bucket for all): `cancel` ends it (under the lock) once
  // limits().open_timeout has passed, unless OpenArrived came first.
  // RESOURCE_EXHAUSTED when max_unopened_per_user of the user's wait.
  absl::StatusOr<uint64_t> AwaitOpen(const std::optional<PeerCredentials>& peer,
                                     std::function<void()> cancel);
  void OpenArrived(uint64_t waiting);
  void Heartbeat(uint64_t id);
  // Ends a session (its stream is over): its channels are queued for the
  // main thread to close, its tickets void. Unknown ids are ignored.
  void Close(uint64_t id);

  // NOT_FOUND for an unknown session or a wrong token; RESOURCE_EXHAUSTED
  // when attached channels plus pending tickets reach the quota, when the
  // channel's segment is over max_channel_bytes, or when it would take the
  // session's memory past max_session_memory_bytes.
  absl::StatusOr<SessionSecret> IssueTicket(
      uint64_t id, const std::string& token,
      const ChannelReservation& reservation = {});
  // The session's attached channel `channel_id`, or NOT_FOUND (also for a
  // wrong token, or a channel of another session).
  absl::StatusOr<SessionChannel> FindChannel(uint64_t id,
                                             const std::string& token,
                                             uint64_t channel_id);
  // Queues one of the session's channels for closing (NOT_FOUND as above):
  // drained within the session's linger time, or at once with `abort`.
  absl::Status DestroyChannel(uint64_t id, const std::string& token,
                              uint64_t channel_id, bool abort = false);
  std::vector<SessionInfo> List();
  // Sessions open now and the most allowed (--max_sessions), for metrics.
  struct Occupancy {
    size_t sessions = 0;
    size_t max_sessions = 0;
  };
  Occupancy Count();
  // One session, for its own holder: NOT_FOUND for a wrong id or token.
  absl::StatusOr<SessionInfo> Get(uint64_t id, const std::string& token);

  // Main thread. Consumes a ticket: its session and reservation, or
  // PERMISSION_DENIED (unknown, used or expired). The reservation stays
  // counted until ChannelAttached takes it over, or ChannelGone.
  // `redeemer` is the channel socket's peer: a ticket of a session whose
  // opener's uid is known is redeemed only by a process of that uid
  // (PERMISSION_DENIED otherwise, and the ticket stays valid for it).
  absl::StatusOr<Redeemed> Redeem(
      const SessionSecret& ticket,
      const std::optional<PeerCredentials>& redeemer = std::nullopt);
  // A redeemed ticket's reservation that no channel will take (its attach
  // was refused) goes back to the session.
  void ReturnReservation(uint64_t session_id, uint64_t bytes);
  // The channel redeemed for `session_id` is attached at `where` and holds
  // `bytes` of the session's memory; false when the session ended
  // meanwhile (the caller closes the channel).
  bool ChannelAttached(uint64_t session_id, uint64_t channel_id,
                       const EngineRef& where, uint64_t bytes = 0);
  // The channel ended by itself (its application detached it or exited):
  // how long it may drain (its session's linger time).
  absl::Duration ChannelGone(uint64_t channel_id);
  // Ends sessions whose heartbeat is overdue and streams that did not open
  // in time, and drops expired tickets. After a stall of ferryd itself
  // (see SessionLimits::stalled_after) every session's heartbeat timeout
  // starts again instead: heartbeats sent meanwhile wait unread in its
  // sockets.
  void ExpireOverdue();
  // Channels to close: of ended sessions, and destroyed ones. Drains the
  // wake fd.
  std::vector<ChannelToClose> TakeChannelsToClose();
  // Readable when TakeChannelsToClose has something.
  int wake_fd() const { return wake_fd_; }

 private:
  struct Session {
    std::string name;
    uint32_t pid = 0;
    SessionSecret token;
    absl::Duration heartbeat_timeout;
    absl::Duration linger;
    absl::Time last_heard;
    std::function<void()> cancel;
    std::map<uint64_t, EngineRef> channels;
    std::map<uint64_t, uint64_t> channel_bytes;
    uint32_t pending_tickets = 0;
    uint64_t memory_bytes = 0;  // attached channels and live tickets
    std::optional<PeerCredentials> peer;
  };
  struct Unopened {
    absl::Time since;
    int64_t user;  // -1: unknown
    std::function<void()> cancel;
  };
  struct Ticket {
    uint64_t session_id;
    absl::Time expires;
    ChannelReservation reservation;
  };

  static SessionInfo InfoOf(uint64_t id, const Session& s);
  SessionRegistry(const SessionLimits& limits, int wake_fd)
      : limits_(limits), wake_fd_(wake_fd) {}
  Session* FindLocked(uint64_t id, const std::string& token)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets a channel of `s` and returns its memory to the session.
  bool EraseChannelLocked(Session& s, uint64_t channel_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndLocked(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetUnopenedLocked(std::map<uint64_t, Unopened>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SessionLimits limits_;
  const int wake_fd_;
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<uint64_t, Session> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<SessionSecret, Ticket> tickets_ ABSL_GUARDED_BY(mu_);
  std::vector<ChannelToClose> to_close_ ABSL_GUARDED_BY(mu_);
  uint64_t next_unopened_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Unopened> unopened_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, uint32_t> unopened_per_user_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_SESSION_REGISTRY_H_

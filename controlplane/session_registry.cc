#include "controlplane/session_registry.h"

#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"
#include "dataplane/base/printable.h"

namespace ferry::controlplane {
namespace {

SessionSecret RandomSecret() {
  SessionSecret secret;
  size_t filled = 0;
  while (filled < secret.size()) {
    const ssize_t n = getrandom(secret.data() + filled, secret.size() - filled,
                                /*flags=*/0);
    if (n > 0) filled += static_cast<size_t>(n);
    // EINTR: try again. getrandom never fails otherwise once the pool is
    // initialised, which it is long before ferryd runs.
  }
  return secret;
}

bool SameSecret(const SessionSecret& secret, const std::string& given) {
  if (given.size() != secret.size()) return false;
  uint8_t diff = 0;  // constant time: the token is a credential
  for (size_t i = 0; i < secret.size(); ++i) {
    diff |= secret[i] ^ static_cast<uint8_t>(given[i]);
  }
  return diff == 0;
}

// Heartbeats and tickets run on a steady clock: an NTP step must not end
// every session at once. absl::Time keeps the arithmetic; only differences
// mean anything.
absl::Time SteadyNow() {
  return absl::UnixEpoch() +
         absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

absl::Status NoSession(uint64_t id) {
  return absl::NotFoundError(absl::StrFormat(
      "no session %d with that token (ended, or never opened)", id));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SessionRegistry>> SessionRegistry::Create(
    const SessionLimits& limits) {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("eventfd: %s", strerror(errno)));
  }
  return std::unique_ptr<SessionRegistry>(new SessionRegistry(limits, fd));
}

SessionRegistry::~SessionRegistry() { close(wake_fd_); }

absl::StatusOr<uint64_t> SessionRegistry::AwaitOpen(
    const std::optional<PeerCredentials>& peer, std::function<void()> cancel) {
  const int64_t user = peer.has_value() ? int64_t{peer->uid} : -1;
  absl::MutexLock lock(&mu_);
  uint32_t& count = unopened_per_user_[user];
  if (count >= limits_.max_unopened_per_user) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d session streams of this user are waiting to send `open`, the "
        "most ferryd allows",
        count));
  }
  ++count;
  const uint64_t waiting = next_unopened_++;
  unopened_[waiting] = Unopened{SteadyNow(), user, std::move(cancel)};
  return waiting;
}

void SessionRegistry::OpenArrived(uint64_t waiting) {
  absl::MutexLock lock(&mu_);
  auto it = unopened_.find(waiting);
  if (it != unopened_.end()) ForgetUnopenedLocked(it);
}

void SessionRegistry::ForgetUnopenedLocked(
    std::map<uint64_t, Unopened>::iterator it) {
  auto count = unopened_per_user_.find(it->second.user);
  if (count != unopened_per_user_.end() && --count->second == 0) {
    unopened_per_user_.erase(count);
  }
  unopened_.erase(it);
}

absl::StatusOr<SessionRegistry::Opened> SessionRegistry::Open(
    const std::string& name, uint32_t pid, uint32_t heartbeat_timeout_ms,
    std::function<void()> cancel, uint32_t linger_ms,
    const std::optional<PeerCredentials>& peer) {
  absl::Duration timeout = limits_.default_heartbeat_timeout;
  absl::Duration linger = limits_.default_linger;
  if (linger_ms != 0) {
    if (absl::Milliseconds(linger_ms) > limits_.max_linger) {
      return absl::InvalidArgumentError(
          absl::StrFormat("linger_ms: %d is outside 1..%d (0: %d)", linger_ms,
                          absl::ToInt64Milliseconds(limits_.max_linger),
                          absl::ToInt64Milliseconds(limits_.default_linger)));
    }
    linger = absl::Milliseconds(linger_ms);
  }
  if (heartbeat_timeout_ms != 0) {
    if (heartbeat_timeout_ms < 100 || heartbeat_timeout_ms > 60000) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "heartbeat_timeout_ms: %d is outside 100..60000 (0: %d)",
          heartbeat_timeout_ms,
          absl::ToInt64Milliseconds(limits_.default_heartbeat_timeout)));
    }
    timeout = absl::Milliseconds(heartbeat_timeout_ms);
  }
  if (name.size() > 256) {
    return absl::InvalidArgumentError("name: at most 256 bytes");
  }
  absl::MutexLock lock(&mu_);
  if (sessions_.size() >= limits_.max_sessions) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d sessions are open, the most ferryd allows (--max_sessions)",
        sessions_.size()));
  }
  const uint64_t id = next_id_++;
  Session& s = sessions_[id];
  // As logged and listed: no newlines or escapes that could forge log lines.
  s.name = Printable(name, kMaxNameBytes);
  s.pid = pid;
  s.token = RandomSecret();
  s.heartbeat_timeout = timeout;
  s.linger = linger;
  s.last_heard = SteadyNow();
  s.cancel = std::move(cancel);
  s.peer = peer;
  if (peer.has_value()) {
    FERRY_LOG(Info, "session %d opened (%s, pid %d, uid %d)", id, s.name,
              peer->pid, peer->uid);
  } else {
    FERRY_LOG(Info, "session %d opened (%s, pid %d)", id, s.name, pid);
  }
  return Opened{id, s.token, timeout, linger};
}

void SessionRegistry::Heartbeat(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it != sessions_.end()) it->second.last_heard = SteadyNow();
}

void SessionRegistry::Close(uint64_t id) {
  absl::MutexLock lock(&mu_);
  EndLocked(id);
}

void SessionRegistry::EndLocked(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  for (const auto& [channel_id, where] : it->second.channels) {
    to_close_.push_back(ChannelToClose{channel_id, it->second.linger});
  }
  for (auto t = tickets_.begin(); t != tickets_.end();) {
    t = t->second.session_id == id ? tickets_.erase(t) : std::next(t);
  }
  FERRY_LOG(Info, "session %d ended: %d channel(s) to free", id,
            it->second.channels.size());
  sessions_.erase(it);
  WakeLocked();
}

void SessionRegistry::WakeLocked() {
  const uint64_t one = 1;
  // A full counter (never, in practice) still leaves the fd readable.
  (void)!write(wake_fd_, &one, sizeof(one));
}

SessionRegistry::Session* SessionRegistry::FindLocked(
    uint64_t id, const std::string& token) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !SameSecret(it->second.token, token)) {
    return nullptr;
  }
  return &it->second;
}

absl::StatusOr<SessionSecret> SessionRegistry::IssueTicket(
    uint64_t id, const std::string& token,
    const ChannelReservation& reservation) {
  absl::MutexLock lock(&mu_);
  Session* s = FindLocked(id, token);
  if (s == nullptr) return NoSession(id);
  if (reservation.bytes > limits_.max_channel_bytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "a channel of %d MiB: at most %d MiB (--max_channel_mb)",
        reservation.bytes >> 20, limits_.max_channel_bytes >> 20));
  }
  if (s->memory_bytes + reservation.bytes > limits_.max_session_memory_bytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "session %d holds %d MiB of channel memory; %d MiB more would pass "
        "its quota of %d MiB (--session_memory_mb)",
        id, s->memory_bytes >> 20, (reservation.bytes + (1 << 20) - 1) >> 20,
        limits_.max_session_memory_bytes >> 20));
  }
  if (s->channels.size() + s->pending_tickets >=
      limits_.max_channels_per_session) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "session %d has %d channel(s) and %d reserved: the quota is %d "
        "(--max_channels_per_session)",
        id, s->channels.size(), s->pending_tickets,
        limits_.max_channels_per_session));
  }
  const SessionSecret ticket = RandomSecret();
  tickets_[ticket] = Ticket{id, SteadyNow() + limits_.ticket_ttl, reservation};
  ++s->pending_tickets;
  s->memory_bytes += reservation.bytes;
  return ticket;
}

absl::StatusOr<SessionChannel> SessionRegistry::FindChannel(
    uint64_t id, const std::string& token, uint64_t channel_id) {
  absl::MutexLock lock(&mu_);
  Session* s = FindLocked(id, token);
  if (s == nullptr) return NoSession(id);
  auto it = s->channels.find(channel_id);
  if (it == s->channels.end()) {
    return absl::NotFoundError(absl::StrFormat(
        "session %d has no channel %d (detached, or another session's)", id,
        channel_id));
  }
  return SessionChannel{channel_id, it->second};
}

absl::Status SessionRegistry::DestroyChannel(uint64_t id,
                                             const std::string& token,
                                             uint64_t channel_id, bool abort) {
  absl::MutexLock lock(&mu_);
  Session* s = FindLocked(id, token);
  if (s == nullptr) return NoSession(id);
  if (!EraseChannelLocked(*s, channel_id)) {
    return absl::NotFoundError(absl::StrFormat(
        "session %d has no channel %d (detached, or another session's)", id,
        channel_id));
  }
  to_close_.push_back(
      ChannelToClose{channel_id, abort ? absl::ZeroDuration() : s->linger});
  WakeLocked();
  return absl::OkStatus();
}

SessionInfo SessionRegistry::InfoOf(uint64_t id, const Session& s) {
  SessionInfo info;
  info.id = id;
  info.name = s.name;
  info.pid = s.pid;
  for (const auto& [channel_id, where] : s.channels) {
    info.channels.push_back(channel_id);
  }
  info.pending_tickets = s.pending_tickets;
  info.heartbeat_timeout = s.heartbeat_timeout;
  info.linger = s.linger;
  info.memory_bytes = s.memory_bytes;
  info.peer = s.peer;
  return info;
}

SessionRegistry::Occupancy SessionRegistry::Count() {
  absl::MutexLock lock(&mu_);
  return {sessions_.size(), limits_.max_sessions};
}

std::vector<SessionInfo> SessionRegistry::List() {
  absl::MutexLock lock(&mu_);
  std::vector<SessionInfo> out;
  for (const auto& [id, s] : sessions_) {
    out.push_back(InfoOf(id, s));
  }
  return out;
}

absl::StatusOr<SessionInfo> SessionRegistry::Get(uint64_t id,
                                                 const std::string& token) {
  absl::MutexLock lock(&mu_);
  Session* s = FindLocked(id, token);
  if (s == nullptr) return NoSession(id);
  return InfoOf(id, *s);
}

absl::StatusOr<Redeemed> SessionRegistry::Redeem(
    const SessionSecret& ticket,
    const std::optional<PeerCredentials>& redeemer) {
  absl::MutexLock lock(&mu_);
  auto it = tickets_.find(ticket);
  if (it == tickets_.end()) {
    return absl::PermissionDeniedError(
        "unknown, used or expired ticket: get one from "
        "SessionService.CreateChannel");
  }
  const Ticket found = it->second;
  auto s = sessions_.find(found.session_id);
  if (s != sessions_.end() && s->second.peer.has_value() &&
      redeemer.has_value() && redeemer->uid != s->second.peer->uid) {
    // Not consumed: whoever leaked it cannot take it from its owner.
    FERRY_LOG(Warning,
              "uid %d (pid %d) presented a ticket of session %d, which uid "
              "%d opened: refused",
              redeemer->uid, redeemer->pid, found.session_id,
              s->second.peer->uid);
    return absl::PermissionDeniedError(
        "the ticket belongs to a session of another user");
  }
  tickets_.erase(it);
  if (s != sessions_.end()) {
    if (s->second.pending_tickets > 0) --s->second.pending_tickets;
    if (found.expires < SteadyNow()) {
      s->second.memory_bytes -= found.reservation.bytes;
    }
  }
  if (found.expires < SteadyNow()) {
    return absl::PermissionDeniedError(
        "unknown, used or expired ticket: get one from "
        "SessionService.CreateChannel");
  }
  return Redeemed{found.session_id, found.reservation};
}

void SessionRegistry::ReturnReservation(uint64_t session_id, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end()) it->second.memory_bytes -= bytes;
}

bool SessionRegistry::ChannelAttached(uint64_t session_id, uint64_t channel_id,
                                      const EngineRef& where, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return false;
  it->second.channels[channel_id] = where;
  // The ticket's reservation (already counted) now belongs to the channel.
  it->second.channel_bytes[channel_id] = bytes;
  return true;
}

bool SessionRegistry::EraseChannelLocked(Session& s, uint64_t channel_id) {
  if (s.channels.erase(channel_id) == 0) return false;
  auto bytes = s.channel_bytes.find(channel_id);
  if (bytes != s.channel_bytes.end()) {
    s.memory_bytes -= bytes->second;
    s.channel_bytes.erase(bytes);
  }
  return true;
}

absl::Duration SessionRegistry::ChannelGone(uint64_t channel_id) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, s] : sessions_) {
    if (EraseChannelLocked(s, channel_id)) return s.linger;
  }
  // Its session ended first (and queued it for closing, which found it
  // gone or will): the default applies.
  return limits_.default_linger;
}

void SessionRegistry::ExpireOverdue() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = SteadyNow();
  if (last_sweep_ != absl::InfinitePast() &&
      now - last_sweep_ > limits_.stalled_after) {
    FERRY_LOG(Warning,
              "ferryd did not run for %s: every session's heartbeat timeout "
              "starts again",
              absl::FormatDuration(now - last_sweep_));
    for (auto& [id, s] : sessions_) s.last_heard = now;
  }
  last_sweep_ = now;
  std::vector<uint64_t> overdue;
  for (const auto& [id, s] : sessions_) {
    if (now - s.last_heard > s.heartbeat_timeout) overdue.push_back(id);
  }
  for (auto it = unopened_.begin(); it != unopened_.end();) {
    if (now - it->second.since <= limits_.open_timeout) {
      ++it;
      continue;
    }
    it->second.cancel();
    ForgetUnopenedLocked(it++);
  }
  for (uint64_t id : overdue) {
    FERRY_LOG(Warning, "session %d sent no heartbeat for %s: ending it", id,
              absl::FormatDuration(sessions_[id].heartbeat_timeout));
    if (sessions_[id].cancel) sessions_[id].cancel();
    EndLocked(id);
  }
  for (auto t = tickets_.begin(); t != tickets_.end();) {
    if (t->second.expires >= now) {
      ++t;
      continue;
    }
    auto s = sessions_.find(t->second.session_id);
    if (s != sessions_.end()) {
      if (s->second.pending_tickets > 0) --s->second.pending_tickets;
      s->second.memory_bytes -= t->second.reservation.bytes;
    }
    t = tickets_.erase(t);
  }
}

std::vector<ChannelToClose> SessionRegistry::TakeChannelsToClose() {
  uint64_t drained;
  (void)!read(wake_fd_, &drained, sizeof(drained));
  absl::MutexLock lock(&mu_);
  std::vector<ChannelToClose> out;
  out.swap(to_close_);
  return out;
}

}  // namespace ferry::controlplane

#include "controlplane/channel_registry.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"

namespace ferry::controlplane {
namespace {

void AddCounters(const channel::ChannelCounters& c, ChannelTotals* t) {
#define FERRY_CHANNEL_TOTAL_ADD(name, help) t->name += c.name.Get();
  FERRY_CHANNEL_COUNTERS(FERRY_CHANNEL_TOTAL_ADD)
#undef FERRY_CHANNEL_TOTAL_ADD
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChannelRegistry>> ChannelRegistry::Create(
    NicRegistry* nics, SessionRegistry* sessions,
    const std::string& socket_path, int mode, channel::SegmentMemory memory) {
  if (socket_path.empty()) {
    return absl::InvalidArgumentError("--channel_socket: empty path");
  }
  if (socket_path[0] != '@') {
    const size_t slash = socket_path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      const std::string dir = socket_path.substr(0, slash);
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "--channel_socket: cannot create %s: %s", dir, strerror(errno)));
      }
    }
  }
  absl::StatusOr<std::unique_ptr<channel::ChannelListener>> listener =
      channel::ChannelListener::Listen(socket_path, mode, shm::ChannelSizes{},
                                       memory);
  if (!listener.ok()) return listener.status();
  return std::unique_ptr<ChannelRegistry>(
      new ChannelRegistry(nics, sessions, std::move(*listener)));
}

ChannelRegistry::~ChannelRegistry() {
  for (const auto& [fd, attached] : connections_) close(fd);
  for (const auto& [fd, deadline] : pending_) close(fd);
}

std::vector<pollfd> ChannelRegistry::fds() const {
  std::vector<pollfd> fds = {{listener_->fd(), POLLIN, 0}};
  for (const auto& [fd, deadline] : pending_) fds.push_back({fd, POLLIN, 0});
  for (const auto& [fd, attached] : connections_) {
    fds.push_back({fd, POLLIN, 0});
  }
  return fds;
}

void ChannelRegistry::OnReadable(int fd) {
  if (fd == listener_->fd()) {
    AcceptWaiting();
    return;
  }
  if (auto p = pending_.find(fd); p != pending_.end()) {
    pending_.erase(p);
    Serve(fd);
    return;
  }
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  // Applications never write after attaching: readable means the end (EOF)
  // or bytes with no meaning; either way the channel ends.
  End(it, sessions_->ChannelGone(it->second.id));
}

void ChannelRegistry::End(std::map<int, Attached>::iterator it,
                          absl::Duration linger) {
  nics_->DetachChannel(it->second.where, it->second.id, linger);
  // Until its engine hands it back, a detached channel's counters still
  // count (it may drain for a while): totals never go down.
  detaching_[it->second.id] = it->second.channel;
  close(it->first);
  connections_.erase(it);
}

void ChannelRegistry::CloseSessionChannels() {
  for (const ChannelToClose& gone : sessions_->TakeChannelsToClose()) {
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
      if (it->second.id != gone.channel_id) continue;
      FERRY_LOG(Info, "channel %d closed with its session %d (linger %s)",
                gone.channel_id, it->second.session_id,
                absl::FormatDuration(gone.linger));
      End(it, gone.linger);
      break;
    }
  }
}

void ChannelRegistry::AcceptWaiting() {
  const absl::Time now = absl::Now();
  for (int fd; (fd = listener_->AcceptConnection()) >= 0;) {
    if (pending_.size() >= kMaxPending) {
      // The oldest waits longest: it goes, so that a crowd of silent
      // clients cannot keep a new one out for long.
      auto oldest = std::min_element(
          pending_.begin(), pending_.end(),
          [](const auto& a, const auto& b) { return a.second < b.second; });
      channel::ChannelListener::Refuse(oldest->first, EAGAIN,
                                       "too many attaches at once; try again");
      pending_.erase(oldest);
      ++refused_;
    }
    pending_[fd] = now + kRequestTimeout;
  }
}

void ChannelRegistry::ExpirePending() {
  const absl::Time now = absl::Now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    channel::ChannelListener::Refuse(it->first, ETIMEDOUT,
                                     "no attach request within 1 s");
    ++refused_;
    it = pending_.erase(it);
  }
}

void ChannelRegistry::Serve(int connection) {
  absl::StatusOr<NicRegistry::Choice> choice = nics_->ChooseEngine();
  if (!choice.ok()) {
    channel::ChannelListener::Refuse(connection, ENODEV,
                                     std::string(choice.status().message()));
    ++refused_;
    FERRY_LOG(Warning, "channel attach refused: %s", choice.status().message());
    return;
  }
  const uint64_t id = next_id_++;
  const EngineRef placed = choice->where;
  uint64_t session_id = 0;
  std::optional<PeerCredentials> peer;
  ucred credentials = {};
  socklen_t size = sizeof(credentials);
  if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &size) ==
      0) {
    peer = PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
  }
  // The channel joins its session before the application hears of it, so
  // that its first Listen or Connect finds it.
  const auto admit = [&](const ferry_attach_request& request,
                         shm::ChannelSizes* sizes) -> absl::Status {
    SessionSecret ticket;
    std::memcpy(ticket.data(), request.ticket, ticket.size());
    absl::StatusOr<Redeemed> redeemed = sessions_->Redeem(ticket, peer);
    if (!redeemed.ok()) return redeemed.status();
    const ChannelReservation& reserved = redeemed->reservation;
    // The segment is the one the ticket reserved memory for: a request may
    // repeat those sizes or leave them 0, never ask for others.
    if (reserved.bytes != 0) {
      if (!channel::RequestMatchesReservation(request, reserved.sizes)) {
        sessions_->ReturnReservation(redeemed->session_id, reserved.bytes);
        return absl::InvalidArgumentError(
            "the attach request asks for other sizes than its ticket "
            "reserved (CreateChannelRequest.sizes)");
      }
      *sizes = reserved.sizes;
    }
    if (!sessions_->ChannelAttached(redeemed->session_id, id, placed,
                                    reserved.bytes)) {
      return absl::FailedPreconditionError("the ticket's session has ended");
    }
    session_id = redeemed->session_id;
    return absl::OkStatus();
  };
  // Reading the request, redeeming the ticket and mapping and zeroing the
  // segment happen here, under no lock: nothing else waits for them.
  absl::StatusOr<std::unique_ptr<channel::EngineChannel>> channel =
      listener_->Prepare(connection, id, choice->doorbell_fd, admit);
  if (!channel.ok()) {
    if (session_id != 0) sessions_->ChannelGone(id);
    ++refused_;
    FERRY_LOG(Warning, "channel attach refused: %s",
              channel.status().message());
    return;
  }
  // Its flows count against its session's quota on the engine.
  (*channel)->set_quota_owner(session_id);
  const channel::EngineChannel* attached = channel->get();
  if (absl::Status s = nics_->AttachToEngine(*choice, *std::move(channel));
      !s.ok()) {
    sessions_->ChannelGone(id);
    channel::ChannelListener::Refuse(connection, ENODEV,
                                     std::string(s.message()));
    ++refused_;
    FERRY_LOG(Warning, "channel attach refused: %s", s.message());
    return;
  }
  auto it = connections_
                .emplace(connection, Attached{placed, id, session_id, attached})
                .first;
  ++attached_;
  FERRY_LOG(Info, "channel %d attached to %s engine %d for session %d", id,
            placed.nic, placed.engine, session_id);
  if (!channel::ChannelListener::Reply(connection, *attached)) {
    // The application left before it heard: the channel ends at once.
    End(it, absl::ZeroDuration());
  }
}

void ChannelRegistry::Reap() {
  ExpirePending();
  nics_->ReapChannels([&](std::unique_ptr<channel::EngineChannel> gone) {
    detaching_.erase(gone->segment().channel_id());
    AddCounters(gone->counters(), &reclaimed_totals_);
    ++reclaimed_;
    FERRY_LOG(Info, "channel %d reclaimed", gone->segment().channel_id());
  });
}

ChannelTotals ChannelRegistry::Totals() const {
  ChannelTotals totals = reclaimed_totals_;
  for (const auto& [id, channel] : detaching_) {
    AddCounters(channel->counters(), &totals);
  }
  for (const auto& [fd, attached] : connections_) {
    const channel::EngineChannel& ch = *attached.channel;
    AddCounters(ch.counters(), &totals);
    ChannelSample sample;
    sample.id = attached.id;
    sample.nic = attached.where.nic;
    sample.engine = attached.where.engine;
    sample.tx_queued = ch.TxQueued();
    sample.rx_queued = ch.RxQueued();
    sample.engine_buffers = ch.engine_held_buffers();
    sample.bad_descriptors = ch.counters().bad_descriptors.Get();
    sample.rx_no_buffers = ch.counters().rx_no_buffers.Get();
    sample.rx_ring_full = ch.counters().rx_ring_full.Get();
    sample.events_dropped = ch.counters().events_dropped.Get();
    totals.channels.push_back(std::move(sample));
  }
  totals.attached = attached_;
  totals.refused = refused_;
  totals.reclaimed = reclaimed_;
  totals.live = connections_.size();
  return totals;
}

}  // namespace ferry::controlplane

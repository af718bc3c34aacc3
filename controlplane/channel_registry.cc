#include "controlplane/channel_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    const std::string& socket_path, int mode) {
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
                                       channel::SegmentMemory::kAuto);
  if (!listener.ok()) return listener.status();
  return std::unique_ptr<ChannelRegistry>(
      new ChannelRegistry(nics, sessions, std::move(*listener)));
}

ChannelRegistry::~ChannelRegistry() {
  for (const auto& [fd, attached] : connections_) close(fd);
}

std::vector<pollfd> ChannelRegistry::fds() const {
  std::vector<pollfd> fds = {{listener_->fd(), POLLIN, 0}};
  for (const auto& [fd, attached] : connections_) {
    fds.push_back({fd, POLLIN, 0});
  }
  return fds;
}

void ChannelRegistry::OnReadable(int fd) {
  if (fd == listener_->fd()) {
    Accept();
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

void ChannelRegistry::Accept() {
  const uint64_t id = next_id_;
  uint64_t session_id = 0;
  EngineRef placed;
  // The channel joins its session before the application hears of it, so
  // that its first Listen or Connect finds it.
  const auto admit = [&](const ferry_attach_request& request,
                         shm::ChannelSizes* sizes) -> absl::Status {
    SessionSecret ticket;
    std::memcpy(ticket.data(), request.ticket, ticket.size());
    absl::StatusOr<Redeemed> redeemed = sessions_->Redeem(ticket);
    if (!redeemed.ok()) return redeemed.status();
    const ChannelReservation& reserved = redeemed->reservation;
    // The segment is the one the ticket reserved memory for: a request may
    // repeat those sizes or leave them 0, never ask for others.
    if (reserved.bytes != 0) {
      if ((request.buffer_count != 0 &&
           request.buffer_count != reserved.sizes.buffer_count) ||
          (request.buffer_size != 0 &&
           request.buffer_size != reserved.sizes.buffer_size) ||
          (request.ring_capacity != 0 &&
           request.ring_capacity != reserved.sizes.message_ring_capacity)) {
        sessions_->ChannelAttached(redeemed->session_id, id, placed,
                                   reserved.bytes);
        sessions_->ChannelGone(id);
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
  absl::Status failure = absl::OkStatus();
  channel::AcceptedChannel accepted;
  absl::StatusOr<EngineRef> where = nics_->PlaceChannel([&](engine::Engine&
                                                                engine,
                                                            const EngineRef&
                                                                where) {
    placed = where;
    absl::StatusOr<channel::AcceptedChannel> result =
        listener_->AcceptOne(id, engine.doorbell_fd(), admit);
    if (!result.ok()) {
      failure = result.status();
      if (session_id != 0) sessions_->ChannelGone(id);
      return false;
    }
    accepted.connection = result->connection;
    const channel::EngineChannel* channel = result->channel.get();
    if (absl::Status s = engine.AttachChannel(std::move(result->channel));
        !s.ok()) {
      failure = s;
      sessions_->ChannelGone(id);
      close(accepted.connection);
      return false;
    }
    connections_[accepted.connection] = Attached{{}, id, session_id, channel};
    return true;
  });
  if (!where.ok()) {
    ++refused_;
    if (failure.ok()) {
      // Nothing was accepted: no NIC to place the channel on.
      listener_->RefuseOne(ENODEV, std::string(where.status().message()));
      failure = where.status();
    }
    FERRY_LOG(Warning, "channel attach refused: %s", failure.message());
    return;
  }
  ++next_id_;
  connections_[accepted.connection].where = *where;
  ++attached_;
  FERRY_LOG(Info, "channel %d attached to %s engine %d for session %d", id,
            where->nic, where->engine, session_id);
}

void ChannelRegistry::Reap() {
  nics_->ReapChannels([&](std::unique_ptr<channel::EngineChannel> gone) {
    AddCounters(gone->counters(), &reclaimed_totals_);
    ++reclaimed_;
    FERRY_LOG(Info, "channel %d reclaimed", gone->segment().channel_id());
  });
}

ChannelTotals ChannelRegistry::Totals() const {
  ChannelTotals totals = reclaimed_totals_;
  for (const auto& [fd, attached] : connections_) {
    const channel::EngineChannel& ch = *attached.channel;
    AddCounters(ch.counters(), &totals);
    ChannelSample sample;
    sample.id = attached.id;
    sample.nic = attached.where.nic;
    sample.engine = attached.where.engine;
    sample.tx_queued = ch.TxQueued();
    sample.rx_queued = ch.RxQueued();
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

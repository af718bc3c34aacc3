// ferryd's application channels: the channel socket, which engine serves
// which channel, and reclaiming channels whose application went away.
//
// Main thread only. The daemon's main loop polls fds() and calls
// OnReadable() for each that is ready; channels are spread over every NIC's
// engines round-robin (NicRegistry::PlaceChannel). When a connection ends
// (exit, crash, SIGKILL), the channel is detached from its engine and freed
// once the engine hands it back (Reap).
#ifndef FERRY_CONTROLPLANE_CHANNEL_REGISTRY_H_
#define FERRY_CONTROLPLANE_CHANNEL_REGISTRY_H_

#include <poll.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/nic_registry.h"
#include "controlplane/session_registry.h"
#include "dataplane/channel/channel_listener.h"

namespace ferry::controlplane {

// One live channel, for per-channel metrics.
struct ChannelSample {
  uint64_t id = 0;
  std::string nic;
  size_t engine = 0;
  uint32_t tx_queued = 0;
  uint32_t rx_queued = 0;
  uint64_t engine_buffers = 0;  // held by its engine for messages in flight
  uint64_t bad_descriptors = 0;
  uint64_t rx_no_buffers = 0;
  uint64_t rx_ring_full = 0;
  uint64_t events_dropped = 0;
};

struct ChannelTotals {
  uint64_t attached = 0;
  uint64_t refused = 0;  // attach requests that failed
  uint64_t reclaimed = 0;
  uint64_t live = 0;
  std::vector<ChannelSample> channels;  // the live ones
  // Counters of every channel, live and reclaimed, summed.
#define FERRY_CHANNEL_TOTAL_FIELD(name, help) uint64_t name = 0;
  FERRY_CHANNEL_COUNTERS(FERRY_CHANNEL_TOTAL_FIELD)
#undef FERRY_CHANNEL_TOTAL_FIELD
};

class ChannelRegistry {
 public:
  // Listens on `socket_path` (its folder is created; "@name": abstract).
  // Every attach must carry a ticket of `sessions`, and the channel then
  // belongs to that session.
  static absl::StatusOr<std::unique_ptr<ChannelRegistry>> Create(
      NicRegistry* nics, SessionRegistry* sessions,
      const std::string& socket_path, int mode,
      channel::SegmentMemory memory = channel::SegmentMemory::kAuto);
  ~ChannelRegistry();  // closes every connection; engines keep nothing

  // The fds to poll for POLLIN: the listener, then every connection.
  std::vector<pollfd> fds() const;
  void OnReadable(int fd);
  // Frees channels the engines have let go of.
  void Reap();
  // Ends channels the session registry says must go (their session ended,
  // or DestroyChannel).
  void CloseSessionChannels();
  ChannelTotals Totals() const;

 private:
  struct Attached {
    EngineRef where;
    uint64_t id;
    uint64_t session_id;
    // Owned by the engine meanwhile; its NIC cannot be detached while the
    // channel counts against it.
    const channel::EngineChannel* channel;
  };

  ChannelRegistry(NicRegistry* nics, SessionRegistry* sessions,
                  std::unique_ptr<channel::ChannelListener> listener)
      : nics_(nics), sessions_(sessions), listener_(std::move(listener)) {}
  // Takes every waiting connection into `pending_` (never blocks).
  void AcceptWaiting();
  // Builds and attaches the channel of a pending connection whose request
  // arrived.
  void Serve(int connection);
  // Refuses pending connections that sent nothing in time.
  void ExpirePending();

  static constexpr size_t kMaxPending = 64;
  static constexpr absl::Duration kRequestTimeout = absl::Seconds(1);
  // Detaches the channel from its engine: drained for up to `linger`
  // (zero: its flows are reset now).
  void End(std::map<int, Attached>::iterator it, absl::Duration linger);

  NicRegistry* nics_;
  SessionRegistry* sessions_;
  std::unique_ptr<channel::ChannelListener> listener_;
  std::map<int, Attached> connections_;  // connection fd -> channel
  std::map<int, absl::Time> pending_;    // connection fd -> deadline
  // Detached, not yet handed back by their engines (owned by them).
  std::map<uint64_t, const channel::EngineChannel*> detaching_;
  uint64_t next_id_ = 1;
  ChannelTotals reclaimed_totals_;
  uint64_t attached_ = 0;
  uint64_t refused_ = 0;
  uint64_t reclaimed_ = 0;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_CHANNEL_REGISTRY_H_

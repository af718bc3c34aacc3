// The engine's ARP cache: IPv4 next hop -> MAC, with packets parked while a
// next hop is being resolved.
//
// Engine-thread only (one table per engine, no locks). Capacity is fixed at
// construction: inserts never allocate, and a full table refuses new entries
// (counted by the engine) instead of evicting entries in use.
//
// Life of an entry: QueuePending creates it INCOMPLETE and asks the caller to
// send an ARP request; Tick re-asks every `probe_interval_ns` up to
// `max_probes` times, then fails it (parked packets are handed back to be
// dropped). Learn makes it REACHABLE for `reachable_ns` and hands back the
// parked packets to send. An expired REACHABLE entry is removed; the next
// packet to that next hop resolves it again.
#ifndef FERRY_DATAPLANE_ENGINE_NEIGHBOR_TABLE_H_
#define FERRY_DATAPLANE_ENGINE_NEIGHBOR_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "dataplane/net/addresses.h"

struct rte_mbuf;

namespace ferry::engine {

struct NeighborTimings {
  uint64_t reachable_ns = 60'000'000'000;    // 60 s
  uint64_t probe_interval_ns = 200'000'000;  // 200 ms between ARP requests
  uint8_t max_probes = 5;                    // then the next hop has failed
};

class NeighborTable {
 public:
  // Packets parked per unresolved next hop; more are refused.
  static constexpr size_t kMaxPendingPerEntry = 16;

  NeighborTable(size_t capacity, const NeighborTimings& timings);

  // The MAC of a REACHABLE, unexpired next hop, or null; valid until the
  // table next changes. A pointer, not an optional: a 6-byte MAC inside an
  // optional is packed by byte and half-word stores and read back by a
  // word load that cannot be forwarded from them, a stall on every segment
  // sent.
  const net::MacAddress* Find(net::Ipv4Address ip, uint64_t now_ns) const;

  enum class QueueResult {
    kQueuedSendRequest,  // new entry: send an ARP request now
    kQueued,             // resolution already under way
    kTableFull,          // refused: the caller drops the packet
    kPendingFull,        // refused: the caller drops the packet
  };
  QueueResult QueuePending(net::Ipv4Address ip, rte_mbuf* pkt, uint64_t now_ns);

  enum class LearnResult {
    kIgnored,   // unknown next hop and `create` false, or table full
    kCreated,   // a new REACHABLE entry
    kUpdated,   // a REACHABLE entry refreshed
    kResolved,  // an INCOMPLETE entry (one we asked about) resolved
  };
  // Records ip -> mac. With `create` false only an existing entry is updated
  // (an unsolicited reply must not add entries). Parked packets for `ip` are
  // written to `released` (room for kMaxPendingPerEntry), their number to
  // `*released_count`.
  LearnResult Learn(net::Ipv4Address ip, const net::MacAddress& mac,
                    bool create, uint64_t now_ns, rte_mbuf** released,
                    size_t* released_count);

  // The path to a REACHABLE next hop may have changed (a flow to it got no
  // answer in time, as when the peer restarted with another MAC): true
  // when a confirming ARP request should go out now, at most one per
  // probe_interval_ns for each entry. The entry stays usable meanwhile;
  // the answer updates it (Learn). False for an unknown next hop (its
  // resolution is already under way, or starts with the next packet).
  bool ShouldReprobe(net::Ipv4Address ip, uint64_t now_ns);

  // Runs due probes and expiries. `send_probe(ip)` is called for each ARP
  // request to send, `drop_pending(pkt)` for each packet parked on a next hop
  // that failed, `failed(ip)` once per failed next hop.
  template <typename SendProbe, typename DropPending, typename Failed>
  void Tick(uint64_t now_ns, SendProbe&& send_probe, DropPending&& drop_pending,
            Failed&& failed);

  // Earliest time Tick has something to do; UINT64_MAX if never.
  uint64_t NextDeadline() const;

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  enum class State : uint8_t { kIncomplete, kReachable };
  struct Entry {
    State state = State::kIncomplete;
    net::MacAddress mac;
    uint64_t deadline_ns = 0;  // next probe (INCOMPLETE) or expiry (REACHABLE)
    uint8_t probes_sent = 0;
    uint8_t pending_count = 0;
    bool reprobed = false;
    uint64_t reprobed_ns = 0;  // the last confirming request, if `reprobed`
    std::array<rte_mbuf*, kMaxPendingPerEntry> pending{};
  };

  // The last next hop Lookup found, so that a run of frames to one peer
  // (every frame, with one peer per subnet) skips the hash and the entry's
  // cold cache lines. Forgotten whenever an entry changes.
  struct Hot {
    bool valid = false;
    uint32_t ip = 0;
    net::MacAddress mac;
    uint64_t deadline_ns = 0;
  };
  void Forget() { hot_.valid = false; }

  size_t capacity_;
  NeighborTimings timings_;
  absl::flat_hash_map<uint32_t, Entry> entries_;
  mutable Hot hot_;
};

template <typename SendProbe, typename DropPending, typename Failed>
void NeighborTable::Tick(uint64_t now_ns, SendProbe&& send_probe,
                         DropPending&& drop_pending, Failed&& failed) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    const net::Ipv4Address ip{it->first};
    if (now_ns < entry.deadline_ns) {
      ++it;
      continue;
    }
    Forget();
    if (entry.state == State::kReachable) {
      entries_.erase(it++);
      continue;
    }
    if (entry.probes_sent < timings_.max_probes) {
      ++entry.probes_sent;
      entry.deadline_ns = now_ns + timings_.probe_interval_ns;
      send_probe(ip);
      ++it;
      continue;
    }
    for (uint8_t i = 0; i < entry.pending_count; ++i) {
      drop_pending(entry.pending[i]);
    }
    failed(ip);
    entries_.erase(it++);
  }
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_NEIGHBOR_TABLE_H_

#include "dataplane/engine/neighbor_table.h"

#include <algorithm>
#include <limits>

namespace ferry::engine {

NeighborTable::NeighborTable(size_t capacity, const NeighborTimings& timings)
    : capacity_(capacity), timings_(timings) {
  // Reserved once, here on the control thread, so that inserts on the engine
  // thread never allocate.
  entries_.reserve(capacity);
}

const net::MacAddress* NeighborTable::Find(net::Ipv4Address ip,
                                           uint64_t now_ns) const {
  if (hot_.valid && hot_.ip == ip.value) {
    return now_ns < hot_.deadline_ns ? &hot_.mac : nullptr;
  }
  auto it = entries_.find(ip.value);
  if (it == entries_.end() || it->second.state != State::kReachable ||
      now_ns >= it->second.deadline_ns) {
    return nullptr;
  }
  hot_ = Hot{true, ip.value, it->second.mac, it->second.deadline_ns};
  return &hot_.mac;
}

NeighborTable::QueueResult NeighborTable::QueuePending(net::Ipv4Address ip,
                                                       rte_mbuf* pkt,
                                                       uint64_t now_ns) {
  Forget();
  auto it = entries_.find(ip.value);
  if (it != entries_.end() && it->second.state == State::kReachable) {
    // Expired but not yet swept by Tick: resolve it afresh.
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_) return QueueResult::kTableFull;
    Entry& entry = entries_[ip.value];
    entry.probes_sent = 1;
    entry.deadline_ns = now_ns + timings_.probe_interval_ns;
    entry.pending[entry.pending_count++] = pkt;
    return QueueResult::kQueuedSendRequest;
  }
  Entry& entry = it->second;
  if (entry.pending_count == kMaxPendingPerEntry) {
    return QueueResult::kPendingFull;
  }
  entry.pending[entry.pending_count++] = pkt;
  return QueueResult::kQueued;
}

NeighborTable::LearnResult NeighborTable::Learn(net::Ipv4Address ip,
                                                const net::MacAddress& mac,
                                                bool create, uint64_t now_ns,
                                                rte_mbuf** released,
                                                size_t* released_count) {
  *released_count = 0;
  Forget();
  LearnResult result;
  auto it = entries_.find(ip.value);
  if (it == entries_.end()) {
    if (!create || entries_.size() >= capacity_) return LearnResult::kIgnored;
    it = entries_.emplace(ip.value, Entry{}).first;
    result = LearnResult::kCreated;
  } else {
    result = it->second.state == State::kIncomplete ? LearnResult::kResolved
                                                    : LearnResult::kUpdated;
  }
  Entry& entry = it->second;
  entry.state = State::kReachable;
  entry.mac = mac;
  entry.deadline_ns = now_ns + timings_.reachable_ns;
  entry.probes_sent = 0;
  *released_count = entry.pending_count;
  std::copy_n(entry.pending.begin(), entry.pending_count, released);
  entry.pending_count = 0;
  return result;
}

bool NeighborTable::ShouldReprobe(net::Ipv4Address ip, uint64_t now_ns) {
  auto it = entries_.find(ip.value);
  if (it == entries_.end() || it->second.state != State::kReachable) {
    return false;
  }
  Entry& entry = it->second;
  if (entry.reprobed &&
      now_ns - entry.reprobed_ns < timings_.probe_interval_ns) {
    return false;
  }
  entry.reprobed = true;
  entry.reprobed_ns = now_ns;
  return true;
}

uint64_t NeighborTable::NextDeadline() const {
  uint64_t next = std::numeric_limits<uint64_t>::max();
  for (const auto& [ip, entry] : entries_) {
    next = std::min(next, entry.deadline_ns);
  }
  return next;
}

}  // namespace ferry::engine

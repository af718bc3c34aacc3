// The engines of one port, and what they share: software steering of
// packets that arrive on one engine's queue but belong to another engine's
// flow (or listener), and the port's table of which engine listens where.
//
// Ports without RSS (memif, af_packet, tap) deliver by queue, not by flow:
// a flow's segments can land on any engine. The engine that receives one
// looks at the destination flow id (whose engine bits name the owner) or,
// for a SYN, at the listener table, and hands the packet to its owner
// through a single-producer/single-consumer ring per ordered pair of
// engines. No locks: rings, and relaxed atomics in the listener table.
#ifndef FERRY_DATAPLANE_ENGINE_ENGINE_GROUP_H_
#define FERRY_DATAPLANE_ENGINE_ENGINE_GROUP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/base/spsc_ring.h"
#include "dataplane/dpdk/packet_fwd.h"

namespace ferry::engine {

// An engine that may be asleep and can be woken.
class Wakeable {
 public:
  virtual ~Wakeable() = default;
  // Rings the engine's doorbell if it sleeps (any thread).
  virtual void Nudge() = 0;
};

class EngineGroup {
 public:
  static constexpr int kMaxEngines = 16;  // the flow id's engine bits
  static constexpr size_t kRingSize = 1024;
  using Ring = SpscRing<dpdk::Packet*, kRingSize>;

  explicit EngineGroup(int engines);
  // Frees packets still in the rings: only once every engine has stopped.
  ~EngineGroup();
  EngineGroup(const EngineGroup&) = delete;
  EngineGroup& operator=(const EngineGroup&) = delete;

  int size() const { return size_; }
  // Control thread, before the engines start.
  void Register(int index, Wakeable* engine) { members_[index] = engine; }

  // Engine `from` hands `pkt` to engine `to`; false when the ring is full
  // (the caller drops it: the sender's retransmission recovers).
  bool Hand(int from, int to, dpdk::Packet* pkt);
  // Engine `to` takes up to `max` packets handed to it by `from`.
  uint16_t Take(int from, int to, dpdk::Packet** out, uint16_t max);

  // The engine listening on a UDP port, or -1.
  int ListenerEngine(uint16_t port) const {
    return listeners_[port].load(std::memory_order_acquire);
  }
  // Takes the port for `engine`; false when another engine has it.
  bool ClaimListener(uint16_t port, int engine);
  void ReleaseListener(uint16_t port, int engine);

 private:
  Ring& RingFor(int from, int to) { return *rings_[from * size_ + to]; }

  const int size_;
  std::vector<std::unique_ptr<Ring>> rings_;  // [from * size + to]
  std::vector<Wakeable*> members_;
  std::unique_ptr<std::atomic<int8_t>[]> listeners_;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_ENGINE_GROUP_H_

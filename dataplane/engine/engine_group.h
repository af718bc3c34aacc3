// The daemon's engines, of every NIC, and what they share: software
// steering of packets that arrive on one engine's queue but belong to
// another engine's flow (or listener), frames an engine hands to an engine
// of another NIC to send, the table of which engine listens where, and the
// interfaces (interface_table.h).
//
// Ports without RSS (memif, af_packet, tap) deliver by queue, not by flow:
// a flow's segments can land on any engine of its NIC. And a flow lives on
// its channel's engine while its route may leave through another NIC. The
// engine that receives a segment looks at the destination flow id (whose
// engine bits name the owner) or, for a SYN, at the listener table, and
// hands the packet to its owner through a single-producer/single-consumer
// ring per ordered pair of engines. An owner sending through another NIC
// hands the frame to one of that NIC's engines through a second such ring.
// No locks: rings, relaxed atomics in the listener table, seqlocks in the
// interface table.
#ifndef FERRY_DATAPLANE_ENGINE_ENGINE_GROUP_H_
#define FERRY_DATAPLANE_ENGINE_ENGINE_GROUP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/base/spsc_ring.h"
#include "dataplane/dpdk/packet_fwd.h"
#include "dataplane/engine/interface_table.h"

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

  // Room for `engines` engines (at most kMaxEngines).
  explicit EngineGroup(int engines);
  // Frees packets still in the rings: only once every engine has stopped.
  ~EngineGroup();
  EngineGroup(const EngineGroup&) = delete;
  EngineGroup& operator=(const EngineGroup&) = delete;

  int size() const { return size_; }
  // One past the highest index ever registered: the rings worth polling.
  int active() const { return active_.load(std::memory_order_acquire); }
  // Control thread, before the engine starts. Packets left in the rings
  // to `index` (for an engine that had it before) are freed first.
  void Register(int index, Wakeable* engine);
  // Control thread, once the engine has stopped: nothing is handed to it
  // from now on (Hand and HandTx fail). Packets already in its rings stay
  // until DrainRingsTo, or until the index is registered again.
  void Unregister(int index);
  // Control thread: frees the packets waiting for engine `index`, which
  // has stopped (and which every producer has seen unregistered).
  void DrainRingsTo(int index);
  bool registered(int index) const {
    return members_[static_cast<size_t>(index)].load(
               std::memory_order_acquire) != nullptr;
  }

  // Engine `from` hands `pkt` to engine `to` to handle as received; false
  // when the ring is full or `to` is gone (the caller drops it: the
  // sender's retransmission recovers).
  bool Hand(int from, int to, dpdk::Packet* pkt);
  // Engine `to` frees what `from` handed it (both rings), unread.
  void DrainRing(int from, int to);
  // Engine `to` takes up to `max` packets handed to it by `from`.
  uint16_t Take(int from, int to, dpdk::Packet** out, uint16_t max);
  // The same for frames to send on `to`'s NIC (IPv4, Ethernet destination
  // still to fill in).
  bool HandTx(int from, int to, dpdk::Packet* pkt);
  uint16_t TakeTx(int from, int to, dpdk::Packet** out, uint16_t max);

  // The engine listening on a UDP port, or -1.
  int ListenerEngine(uint16_t port) const {
    return listeners_[port].load(std::memory_order_acquire);
  }
  // Takes the port for `engine`; false when another engine has it.
  bool ClaimListener(uint16_t port, int engine);
  void ReleaseListener(uint16_t port, int engine);

  InterfaceTable& interfaces() { return interfaces_; }
  const InterfaceTable& interfaces() const { return interfaces_; }

 private:
  Ring& RingFor(int from, int to) { return *rings_[from * size_ + to]; }
  Ring& TxRingFor(int from, int to) { return *tx_rings_[from * size_ + to]; }

  const int size_;
  std::vector<std::unique_ptr<Ring>> rings_;     // [from * size + to]
  std::vector<std::unique_ptr<Ring>> tx_rings_;  // [from * size + to]
  std::unique_ptr<std::atomic<Wakeable*>[]> members_;
  std::atomic<int> active_{0};
  std::unique_ptr<std::atomic<int8_t>[]> listeners_;
  InterfaceTable interfaces_;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_ENGINE_GROUP_H_

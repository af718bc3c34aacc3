#include "dataplane/engine/engine_group.h"

#include "dataplane/base/check.h"
#include "dataplane/dpdk/packet.h"

namespace ferry::engine {
namespace {

void Drain(EngineGroup::Ring& ring) {
  dpdk::Packet* pkt;
  while (ring.TryPop(&pkt)) dpdk::FreePacket(pkt);
}

}  // namespace

EngineGroup::EngineGroup(int engines)
    : size_(engines),
      members_(new std::atomic<Wakeable*>[static_cast<size_t>(engines)]),
      listeners_(new std::atomic<int8_t>[65536]) {
  FERRY_DCHECK(engines > 0 && engines <= kMaxEngines);
  for (int i = 0; i < engines * engines; ++i) {
    rings_.push_back(std::make_unique<Ring>());
    tx_rings_.push_back(std::make_unique<Ring>());
  }
  for (int i = 0; i < engines; ++i) {
    members_[static_cast<size_t>(i)].store(nullptr, std::memory_order_relaxed);
  }
  for (int port = 0; port < 65536; ++port) {
    listeners_[port].store(-1, std::memory_order_relaxed);
  }
}

EngineGroup::~EngineGroup() {
  for (auto& ring : rings_) Drain(*ring);
  for (auto& ring : tx_rings_) Drain(*ring);
}

void EngineGroup::Register(int index, Wakeable* engine) {
  FERRY_DCHECK(index >= 0 && index < size_);
  // Only the rings this engine consumes: it does not run yet. What an
  // earlier holder of the index handed to others, they freed themselves
  // (kInterfaceGone), and they alone may pop their rings.
  DrainRingsTo(index);
  members_[static_cast<size_t>(index)].store(engine, std::memory_order_release);
  if (active_.load(std::memory_order_relaxed) < index + 1) {
    active_.store(index + 1, std::memory_order_release);
  }
}

void EngineGroup::Unregister(int index) {
  members_[static_cast<size_t>(index)].store(nullptr,
                                             std::memory_order_release);
}

void EngineGroup::DrainRingsTo(int index) {
  for (int from = 0; from < size_; ++from) {
    Drain(RingFor(from, index));
    Drain(TxRingFor(from, index));
  }
}

void EngineGroup::DrainRing(int from, int to) {
  Drain(RingFor(from, to));
  Drain(TxRingFor(from, to));
}

bool EngineGroup::Hand(int from, int to, dpdk::Packet* pkt) {
  Wakeable* member =
      members_[static_cast<size_t>(to)].load(std::memory_order_acquire);
  if (member == nullptr || !RingFor(from, to).TryPush(pkt)) return false;
  member->Nudge();
  return true;
}

uint16_t EngineGroup::Take(int from, int to, dpdk::Packet** out, uint16_t max) {
  Ring& ring = RingFor(from, to);
  uint16_t n = 0;
  while (n < max && ring.TryPop(&out[n])) ++n;
  return n;
}

bool EngineGroup::HandTx(int from, int to, dpdk::Packet* pkt) {
  Wakeable* member =
      members_[static_cast<size_t>(to)].load(std::memory_order_acquire);
  if (member == nullptr || !TxRingFor(from, to).TryPush(pkt)) return false;
  member->Nudge();
  return true;
}

uint16_t EngineGroup::TakeTx(int from, int to, dpdk::Packet** out,
                             uint16_t max) {
  Ring& ring = TxRingFor(from, to);
  uint16_t n = 0;
  while (n < max && ring.TryPop(&out[n])) ++n;
  return n;
}

bool EngineGroup::ClaimListener(uint16_t port, int engine) {
  int8_t expected = -1;
  return listeners_[port].compare_exchange_strong(expected,
                                                  static_cast<int8_t>(engine),
                                                  std::memory_order_acq_rel) ||
         expected == engine;
}

void EngineGroup::ReleaseListener(uint16_t port, int engine) {
  int8_t expected = static_cast<int8_t>(engine);
  listeners_[port].compare_exchange_strong(expected, -1,
                                           std::memory_order_acq_rel);
}

}  // namespace ferry::engine

#include "dataplane/engine/engine_group.h"

#include "dataplane/dpdk/packet.h"

namespace ferry::engine {

EngineGroup::EngineGroup(int engines)
    : size_(engines),
      members_(static_cast<size_t>(engines), nullptr),
      listeners_(new std::atomic<int8_t>[65536]) {
  for (int i = 0; i < engines * engines; ++i) {
    rings_.push_back(std::make_unique<Ring>());
  }
  for (int port = 0; port < 65536; ++port) {
    listeners_[port].store(-1, std::memory_order_relaxed);
  }
}

EngineGroup::~EngineGroup() {
  dpdk::Packet* pkt;
  for (auto& ring : rings_) {
    while (ring->TryPop(&pkt)) dpdk::FreePacket(pkt);
  }
}

bool EngineGroup::Hand(int from, int to, dpdk::Packet* pkt) {
  if (!RingFor(from, to).TryPush(pkt)) return false;
  if (members_[to] != nullptr) members_[to]->Nudge();
  return true;
}

uint16_t EngineGroup::Take(int from, int to, dpdk::Packet** out, uint16_t max) {
  Ring& ring = RingFor(from, to);
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

#include "dataplane/engine/interface_table.h"

namespace ferry::engine {
namespace {

uint64_t PackMac(const net::MacAddress& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac.bytes) v = (v << 8) | b;
  return v;
}

net::MacAddress UnpackMac(uint64_t v) {
  net::MacAddress mac;
  for (int i = 5; i >= 0; --i) {
    mac.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return mac;
}

}  // namespace

int ChooseInterface(const InterfaceSnapshot& interfaces, int preferred,
                    net::Ipv4Address dst, net::Ipv4Address local) {
  if (local.value != 0) return InterfaceWithAddress(interfaces, local);
  const bool preferred_live = preferred >= 0 && preferred < kMaxInterfaces &&
                              interfaces[preferred].has_value();
  int best = -1;
  int best_length = -1;
  for (int i = 0; i < kMaxInterfaces; ++i) {
    const std::optional<Interface>& iface = interfaces[i];
    if (!iface.has_value() || !iface->ip.Contains(dst)) continue;
    if (iface->ip.length > best_length ||
        (iface->ip.length == best_length && i == preferred)) {
      best = i;
      best_length = iface->ip.length;
    }
  }
  if (best >= 0) return best;
  if (preferred_live && interfaces[preferred]->gateway.value != 0) {
    return preferred;
  }
  for (int i = 0; i < kMaxInterfaces; ++i) {
    if (interfaces[i].has_value() && interfaces[i]->gateway.value != 0) {
      return i;
    }
  }
  return preferred_live ? preferred : -1;
}

int InterfaceWithAddress(const InterfaceSnapshot& interfaces,
                         net::Ipv4Address ip) {
  for (int i = 0; i < kMaxInterfaces; ++i) {
    if (interfaces[i].has_value() && interfaces[i]->ip.address == ip) return i;
  }
  return -1;
}

template <typename WriteFields>
void InterfaceTable::Write(Slot& slot, WriteFields&& write) {
  const uint32_t seq = slot.seq.load(std::memory_order_relaxed);
  slot.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  write();
  slot.seq.store(seq + 2, std::memory_order_release);
}

void InterfaceTable::Publish(int slot_index, const Interface& iface) {
  Slot& slot = slots_[static_cast<size_t>(slot_index)];
  Write(slot, [&] {
    slot.ip.store(iface.ip.address.value, std::memory_order_relaxed);
    slot.prefix_length.store(static_cast<uint32_t>(iface.ip.length),
                             std::memory_order_relaxed);
    slot.gateway.store(iface.gateway.value, std::memory_order_relaxed);
    slot.mac.store(PackMac(iface.mac), std::memory_order_relaxed);
    slot.mtu.store(static_cast<uint32_t>(iface.mtu), std::memory_order_relaxed);
    slot.engines.store(iface.engines, std::memory_order_relaxed);
    slot.live.store(true, std::memory_order_relaxed);
  });
}

void InterfaceTable::Withdraw(int slot_index) {
  Slot& slot = slots_[static_cast<size_t>(slot_index)];
  Write(slot, [&] { slot.live.store(false, std::memory_order_relaxed); });
}

bool InterfaceTable::Read(int slot_index, Interface* out) const {
  if (slot_index < 0 || slot_index >= kMaxInterfaces) return false;
  const Slot& slot = slots_[static_cast<size_t>(slot_index)];
  for (;;) {
    const uint32_t before = slot.seq.load(std::memory_order_acquire);
    if (before & 1) continue;  // a write is under way: it is short
    const bool live = slot.live.load(std::memory_order_relaxed);
    out->ip.address.value = slot.ip.load(std::memory_order_relaxed);
    out->ip.length =
        static_cast<int>(slot.prefix_length.load(std::memory_order_relaxed));
    out->gateway.value = slot.gateway.load(std::memory_order_relaxed);
    out->mac = UnpackMac(slot.mac.load(std::memory_order_relaxed));
    out->mtu = static_cast<int>(slot.mtu.load(std::memory_order_relaxed));
    out->engines = slot.engines.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) == before) return live;
  }
}

InterfaceSnapshot InterfaceTable::Snapshot() const {
  InterfaceSnapshot snapshot;
  for (int i = 0; i < kMaxInterfaces; ++i) {
    Interface iface;
    if (Read(i, &iface)) snapshot[static_cast<size_t>(i)] = iface;
  }
  return snapshot;
}

}  // namespace ferry::engine

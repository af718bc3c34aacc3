// The daemon's interfaces (one per attached NIC) as every engine sees them,
// and the route choice between them.
//
// An engine serves its channels' flows over any NIC: a flow whose route
// leaves through another NIC is still owned by the channel's engine, which
// builds its frames with that NIC's addresses and hands them to one of that
// NIC's engines to send (EngineGroup::HandTx). So every engine must know
// every NIC's address, subnet, gateway and engines. The control thread
// publishes them here; engines read a slot only when a flow starts (connect,
// SYN, a RST for an unknown flow), never per packet: a flow keeps what it
// read. A slot is a seqlock of relaxed atomics, so a reader never sees half
// of an update and never waits.
#ifndef FERRY_DATAPLANE_ENGINE_INTERFACE_TABLE_H_
#define FERRY_DATAPLANE_ENGINE_INTERFACE_TABLE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "dataplane/net/addresses.h"

namespace ferry::engine {

struct Interface {
  net::Ipv4Prefix ip;        // its address and subnet
  net::Ipv4Address gateway;  // 0.0.0.0: none
  net::MacAddress mac;
  int mtu = 1500;
  // The EngineGroup indexes of its engines (bit i: engine i).
  uint32_t engines = 0;
};

inline constexpr int kMaxInterfaces = 8;
using InterfaceSnapshot = std::array<std::optional<Interface>, kMaxInterfaces>;

// Where a flow to `dst` leaves: the interface whose address is `local`
// when `local` is set (-1 if none has it); else the one whose subnet holds
// `dst` (the longest prefix; `preferred` on a tie); else `preferred` when
// it has a gateway, else the first interface with a gateway; else
// `preferred` if it exists (its next hop then fails as "no route"), else
// -1.
int ChooseInterface(const InterfaceSnapshot& interfaces, int preferred,
                    net::Ipv4Address dst, net::Ipv4Address local = {});
// The interface whose address is `ip`, or -1.
int InterfaceWithAddress(const InterfaceSnapshot& interfaces,
                         net::Ipv4Address ip);

class InterfaceTable {
 public:
  // Control thread (one writer at a time).
  void Publish(int slot, const Interface& iface);
  void Withdraw(int slot);
  // Any thread. False when the slot is empty.
  bool Read(int slot, Interface* out) const;
  InterfaceSnapshot Snapshot() const;

 private:
  struct Slot {
    std::atomic<uint32_t> seq{0};  // odd while being written
    std::atomic<bool> live{false};
    std::atomic<uint32_t> ip{0};
    std::atomic<uint32_t> prefix_length{0};
    std::atomic<uint32_t> gateway{0};
    std::atomic<uint64_t> mac{0};
    std::atomic<uint32_t> mtu{0};
    std::atomic<uint32_t> engines{0};
  };
  template <typename Write>
  void Write(Slot& slot, Write&& write);

  std::array<Slot, kMaxInterfaces> slots_;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_INTERFACE_TABLE_H_

// A DPDK Ethernet port opened from a PCI address or a virtual-device spec,
// configured with one RX and one TX queue per engine.
//
// Threading: Open, the destructor and the query methods run on the control
// thread. Each queue is then used by exactly one engine thread through the
// PortQueue handle (see packet.h); the Port object itself is never touched
// on the packet path.
#ifndef FERRY_DATAPLANE_DPDK_PORT_H_
#define FERRY_DATAPLANE_DPDK_PORT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/net/addresses.h"

struct rte_mempool;

namespace ferry::dpdk {

inline constexpr int kMinMtu = 68;
inline constexpr int kMaxMtu = 9000;

struct PortOptions {
  // "0000:3b:00.0" (or "3b:00.0") for a PCI NIC, or a vdev spec such as
  // "net_memif0,role=server,socket=/run/ferry/m.sock" or
  // "net_af_packet0,iface=veth0".
  std::string device;
  uint16_t num_queues = 1;
  int mtu = 1500;
  // Replace the port's own MAC (the port is put in promiscuous mode when it
  // cannot take the new address).
  std::optional<net::MacAddress> mac;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint32_t mbufs_per_queue = 8191;
  // Ask for RX interrupts so idle engines can sleep; granted only where the
  // PMD supports them.
  bool rx_interrupts = true;
  // Allow frames whose payload points into application buffers (zero-copy
  // transmit); granted only where it is safe (PortCapabilities).
  bool tx_external = true;
};

// Syntax check only (no DPDK needed): a PCI address or net_<driver><n>[,k=v].
absl::Status ValidateDeviceSpec(absl::string_view device);
bool IsPciAddress(absl::string_view device);

struct PortCapabilities {
  bool rss = false;
  bool rx_ipv4_checksum = false;
  bool rx_udp_checksum = false;
  bool tx_ipv4_checksum = false;
  bool tx_udp_checksum = false;
  bool rx_interrupts = false;
  // Frames may carry segments that point at memory outside the pools (an
  // application's buffers): the port takes chains, and its driver is done
  // with a frame when rte_eth_tx_burst returns (it copies it out: memif
  // without zero-copy, af_packet, tap), so no frame outlives the buffers
  // it points at. A NIC that DMAs later would need those buffers
  // registered and waited for; none here is such.
  bool tx_external = false;
};

// Basic port statistics (rte_eth_stats), summed over queues.
struct PortStats {
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_missed = 0;  // dropped by the NIC: no room in an RX queue
  uint64_t rx_errors = 0;
  uint64_t tx_errors = 0;
  uint64_t rx_no_mbuf = 0;  // RX mbuf allocation failures
};

// The queues' mbuf pools: how many mbufs exist and how many are out of
// their pools now (on RX rings, in flight, held by an engine).
struct MbufUsage {
  uint64_t total = 0;
  uint64_t in_use = 0;
};

struct LinkState {
  bool up = false;
  uint32_t speed_mbps = 0;
  bool full_duplex = false;
};

// What an engine needs to drive one queue pair.
struct PortQueue {
  uint16_t port_id = 0;
  uint16_t queue_id = 0;
  rte_mempool* pool = nullptr;  // TX allocations for this queue
  bool rx_interrupts = false;   // see ArmRxInterrupts in packet.h
  // net_af_xdp has no RX interrupts, but the fd of the queue's AF_XDP
  // socket polls readable while frames wait: it stands in for them. Owned
  // by the PMD; -1 for other ports.
  int rx_poll_fd = -1;
  bool tx_external = false;  // PortCapabilities::tx_external
};

class Port {
 public:
  // Probes the device (vdevs are created, PCI devices must be allowlisted in
  // EalOptions) and configures and starts it.
  static absl::StatusOr<std::unique_ptr<Port>> Open(const PortOptions& options);
  // Configures and starts a port that already exists (a ring pair in tests).
  static absl::StatusOr<std::unique_ptr<Port>> Adopt(
      uint16_t port_id, const PortOptions& options);
  ~Port();  // stops and closes the port; removes a vdev; frees mempools

  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  uint16_t id() const { return port_id_; }
  const std::string& name() const { return name_; }
  const std::string& driver() const { return driver_; }
  net::MacAddress mac() const { return mac_; }
  int mtu() const { return mtu_; }
  const PortCapabilities& capabilities() const { return caps_; }
  uint16_t num_queues() const { return static_cast<uint16_t>(queues_.size()); }
  const PortQueue& queue(uint16_t i) const { return queues_[i]; }

  LinkState Link() const;
  // Safe from any thread (the control plane's scrape thread among them).
  PortStats Stats() const;
  // Safe from any thread; approximate while engines run.
  MbufUsage Mbufs() const;
  // Extended statistics, name and value, as the PMD reports them.
  std::vector<std::pair<std::string, uint64_t>> Xstats() const;

 private:
  Port() = default;
  absl::Status Configure(const PortOptions& options);

  uint16_t port_id_ = 0;
  std::string name_;
  std::string driver_;
  bool is_vdev_ = false;
  bool started_ = false;
  net::MacAddress mac_;
  int mtu_ = 1500;
  PortCapabilities caps_;
  std::vector<PortQueue> queues_;
};

}  // namespace ferry::dpdk

#endif  // FERRY_DATAPLANE_DPDK_PORT_H_

#include "dataplane/dpdk/port.h"

#include <dirent.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/base/logging.h"
#include "dataplane/dpdk/dpdk_log.h"
#include "dataplane/dpdk/memif_frames.h"

namespace ferry::dpdk {
namespace {

// What a frame carries beyond its MTU's worth of payload: the Ethernet
// header and the CRC (a PMD's frame limits count both).
constexpr uint32_t kEthernetFraming = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;

bool AllHex(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isxdigit(static_cast<unsigned char>(c));
  });
}

// "3b:00.0" -> "0000:3b:00.0", the name DPDK gives PCI ethdevs.
std::string CanonicalPciName(absl::string_view pci) {
  std::string name = absl::AsciiStrToLower(pci);
  if (std::count(name.begin(), name.end(), ':') == 1) {
    name = absl::StrCat("0000:", name);
  }
  return name;
}

std::string DeviceName(absl::string_view device) {
  if (IsPciAddress(device)) return CanonicalPciName(device);
  return std::string(device.substr(0, device.find(',')));
}

absl::Status DpdkError(absl::string_view what, int err) {
  std::string last = RecentDpdkLog();
  return absl::InternalError(
      absl::StrFormat("%s: %s%s", what, rte_strerror(err < 0 ? -err : err),
                      last.empty() ? "" : absl::StrCat(" (", last, ")")));
}

// The queues and MTU the port can take; a refusal names the limits.
absl::Status CheckLimits(const std::string& name, const std::string& driver,
                         const rte_eth_dev_info& info,
                         const PortOptions& options) {
  if (options.num_queues > info.max_rx_queues ||
      options.num_queues > info.max_tx_queues) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "port '%s' (%s) supports %d RX / %d TX queues, %d engines asked", name,
        driver, info.max_rx_queues, info.max_tx_queues, options.num_queues));
  }
  if (options.mtu > info.max_mtu || options.mtu < info.min_mtu) {
    return absl::InvalidArgumentError(
        absl::StrFormat("port '%s' (%s) supports MTU %d..%d, %d asked", name,
                        driver, info.min_mtu, info.max_mtu, options.mtu));
  }
  // Some PMDs report a max_mtu their frame limit does not allow; memif's
  // frame limit is its buffer size, not what it reports (memif_frames.h).
  const uint32_t frame = static_cast<uint32_t>(options.mtu) + kEthernetFraming;
  const uint32_t max_frame = driver == "net_memif"
                                 ? MemifBufferSize(options.device)
                                 : info.max_rx_pktlen;
  if (max_frame != 0 && frame > max_frame) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "port '%s' (%s) takes frames of at most %d bytes: MTU %d at most, "
        "%d asked%s",
        name, driver, max_frame, max_frame - kEthernetFraming, options.mtu,
        driver == "net_memif" ? " (its bsize devarg sets the limit)" : ""));
  }
  return absl::OkStatus();
}

// Checksum offloads the port has, and RSS over several queues; sets them
// in `conf` and returns what was found (rx_interrupts is decided later).
PortCapabilities OffloadsAndRss(const rte_eth_dev_info& info,
                                uint16_t num_queues, rte_eth_conf* conf) {
  PortCapabilities caps;
  caps.rx_ipv4_checksum =
      (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  caps.rx_udp_checksum =
      (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  caps.tx_ipv4_checksum =
      (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  caps.tx_udp_checksum =
      (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  if (caps.rx_ipv4_checksum) {
    conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  }
  if (caps.rx_udp_checksum) {
    conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  }
  if (caps.tx_ipv4_checksum) {
    conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  }
  if (caps.tx_udp_checksum) {
    conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  }
  const uint64_t rss_hf = info.flow_type_rss_offloads &
                          (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP);
  if (num_queues > 1 && rss_hf != 0) {
    conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf->rx_adv_conf.rss_conf.rss_hf = rss_hf;
    caps.rss = true;
  }
  return caps;
}

// Drivers that copy a frame out within rte_eth_tx_burst and free it there
// (see PortCapabilities::tx_external). memif with zero-copy=yes keeps the
// frames until its peer is done with them.
bool TransmitCopiesOut(absl::string_view driver, absl::string_view device) {
  if (driver == "net_memif") {
    return !absl::StrContains(device, "zero-copy=yes");
  }
  return driver == "net_af_packet" || driver == "net_tap";
}

// rte_eth_dev_configure, with RX interrupts when asked for. They let idle
// engines sleep; not every PMD has them, and some refuse the whole
// configuration when asked: then it is configured again without.
int ConfigureDevice(uint16_t port_id, const PortOptions& options,
                    rte_eth_conf* conf) {
  int rc = -ENOTSUP;
  if (options.rx_interrupts) {
    conf->intr_conf.rxq = 1;
    ScopedQuietDpdkLog quiet;
    rc = rte_eth_dev_configure(port_id, options.num_queues, options.num_queues,
                               conf);
  }
  if (rc != 0) {
    conf->intr_conf.rxq = 0;
    rc = rte_eth_dev_configure(port_id, options.num_queues, options.num_queues,
                               conf);
  }
  return rc;
}

// The AF_XDP sockets open in this process. The af_xdp PMD creates one per
// queue in rte_eth_rx_queue_setup and does not tell its fd: the new one
// around that call is the queue's.
std::set<int> AfXdpSocketFds() {
#ifndef AF_XDP
  constexpr int AF_XDP = 44;
#endif
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = std::atoi(entry->d_name);
    int domain = 0;
    socklen_t length = sizeof(domain);
    if (fd != dirfd(dir) &&
        getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 &&
        domain == AF_XDP) {
      fds.insert(fd);
    }
  }
  closedir(dir);
  return fds;
}

// A mempool and an RX and TX queue per engine; each buffer holds a whole
// frame of the chosen MTU (no scatter).
absl::Status SetUpQueues(uint16_t port_id, const PortOptions& options,
                         const rte_eth_dev_info& info, const rte_eth_conf& conf,
                         std::vector<PortQueue>* queues) {
  uint16_t rx_desc = options.rx_descriptors;
  uint16_t tx_desc = options.tx_descriptors;
  int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  if (rc != 0) return DpdkError("rte_eth_dev_adjust_nb_rx_tx_desc", rc);
  const uint32_t data_room =
      RTE_PKTMBUF_HEADROOM +
      std::max<uint32_t>(2048, static_cast<uint32_t>(options.mtu) + 64);
  const int socket = std::max(0, rte_eth_dev_socket_id(port_id));
  for (uint16_t q = 0; q < options.num_queues; ++q) {
    const std::string pool_name = absl::StrFormat("p%u_q%u", port_id, q);
    rte_mempool* pool =
        rte_pktmbuf_pool_create(pool_name.c_str(), options.mbufs_per_queue, 256,
                                0, static_cast<uint16_t>(data_room), socket);
    if (pool == nullptr) {
      return DpdkError(absl::StrCat("mempool ", pool_name), rte_errno);
    }
    queues->push_back(PortQueue{port_id, q, pool, false});
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    const bool af_xdp = absl::string_view(info.driver_name) == "net_af_xdp";
    const std::set<int> before =
        af_xdp && options.rx_interrupts ? AfXdpSocketFds() : std::set<int>();
    rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, socket, nullptr, pool);
    if (rc != 0) return DpdkError("rte_eth_rx_queue_setup", rc);
    if (af_xdp && options.rx_interrupts) {
      std::vector<int> created;
      for (int fd : AfXdpSocketFds()) {
        if (before.count(fd) == 0) created.push_back(fd);
      }
      if (created.size() == 1) queues->back().rx_poll_fd = created[0];
    }
    rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, socket, &txconf);
    if (rc != 0) return DpdkError("rte_eth_tx_queue_setup", rc);
  }
  return absl::OkStatus();
}

// Whether each queue has an interrupt fd. Some PMDs accept intr_conf.rxq
// but have no interrupt handle; they say so at ERR level, which is no
// error for us.
bool EveryQueueHasRxInterrupt(uint16_t port_id,
                              const std::vector<PortQueue>& queues) {
  ScopedQuietDpdkLog quiet;
  for (const PortQueue& queue : queues) {
    if (queue.rx_poll_fd >= 0) continue;
    if (rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, queue.queue_id) < 0) {
      return false;
    }
  }
  return true;
}

// The port's MAC, or the one asked for: set on the port when it can be,
// else the port receives everything (the engine filters on its own MAC).
absl::Status ApplyMac(uint16_t port_id,
                      const std::optional<net::MacAddress>& wanted,
                      net::MacAddress* mac) {
  rte_ether_addr addr;
  const int rc = rte_eth_macaddr_get(port_id, &addr);
  if (rc != 0) return DpdkError("rte_eth_macaddr_get", rc);
  std::memcpy(mac->bytes.data(), addr.addr_bytes, 6);
  if (!wanted.has_value() || *wanted == *mac) return absl::OkStatus();
  std::memcpy(addr.addr_bytes, wanted->bytes.data(), 6);
  ScopedQuietDpdkLog quiet;
  if (rte_eth_dev_default_mac_addr_set(port_id, &addr) != 0) {
    const int promiscuous = rte_eth_promiscuous_enable(port_id);
    if (promiscuous != 0 && promiscuous != -ENOTSUP) {
      return DpdkError("rte_eth_promiscuous_enable", promiscuous);
    }
  }
  *mac = *wanted;
  return absl::OkStatus();
}

}  // namespace

bool IsPciAddress(absl::string_view device) {
  // [DDDD:]BB:DD.F with hex digits.
  std::vector<absl::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= device.size(); ++i) {
    if (i == device.size() || device[i] == ':' || device[i] == '.') {
      parts.push_back(device.substr(start, i - start));
      start = i + 1;
    }
  }
  const size_t dot = device.rfind('.');
  if (dot == absl::string_view::npos || device.find('.') != dot) return false;
  if (parts.size() == 3) {
    return parts[0].size() == 2 && parts[1].size() == 2 &&
           parts[2].size() == 1 && AllHex(parts[0]) && AllHex(parts[1]) &&
           parts[2][0] >= '0' && parts[2][0] <= '7';
  }
  if (parts.size() == 4) {
    return parts[0].size() == 4 && AllHex(parts[0]) && parts[1].size() == 2 &&
           parts[2].size() == 2 && parts[3].size() == 1 && AllHex(parts[1]) &&
           AllHex(parts[2]) && parts[3][0] >= '0' && parts[3][0] <= '7';
  }
  return false;
}

absl::Status ValidateDeviceSpec(absl::string_view device) {
  if (device.empty()) {
    return absl::InvalidArgumentError("no device given");
  }
  if (IsPciAddress(device)) return absl::OkStatus();
  const absl::string_view name = device.substr(0, device.find(','));
  if (absl::StartsWith(name, "net_") && name.size() > 4) {
    const bool name_ok = std::all_of(name.begin(), name.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (name_ok) return absl::OkStatus();
  }
  const bool looks_pci = std::any_of(device.begin(), device.end(),
                                     [](char c) { return c == ':'; }) &&
                         !absl::StartsWith(device, "net_");
  if (looks_pci) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not a PCI address (want DDDD:BB:DD.F or BB:DD.F)", device));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "'%s' is neither a PCI address nor a DPDK vdev spec (want e.g. "
      "net_af_packet0,iface=eth1 or net_memif0,role=server,socket=PATH)",
      device));
}

absl::StatusOr<std::unique_ptr<Port>> Port::Open(const PortOptions& options) {
  if (absl::Status s = ValidateDeviceSpec(options.device); !s.ok()) return s;
  const std::string name = DeviceName(options.device);
  uint16_t port_id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) == 0) {
    return absl::AlreadyExistsError(
        absl::StrFormat("device '%s' is already attached", name));
  }
  const bool is_pci = IsPciAddress(options.device);
  // A memif spec gets buffers that hold the MTU's frames (memif_frames.h);
  // the port is configured from the spec as probed.
  PortOptions probed = options;
  probed.device = MemifSpecForFrames(
      options.device,
      static_cast<uint32_t>(std::max(options.mtu, 0)) + kEthernetFraming);
  std::string probe_arg =
      is_pci ? CanonicalPciName(options.device) : probed.device;
  {
    ScopedQuietDpdkLog quiet;
    ClearRecentDpdkLog();
    const int rc = rte_dev_probe(probe_arg.c_str());
    if (rc != 0) {
      std::string why = RecentDpdkLog();
      if (why.empty()) why = rte_strerror(-rc);
      return absl::InvalidArgumentError(absl::StrFormat(
          "cannot attach device '%s': %s", options.device, why));
    }
  }
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    return absl::NotFoundError(absl::StrFormat(
        "device '%s' was probed but created no Ethernet port", name));
  }
  absl::StatusOr<std::unique_ptr<Port>> port = Adopt(port_id, probed);
  if (port.ok()) {
    (*port)->is_vdev_ = !is_pci;
  } else if (!is_pci) {
    rte_eal_hotplug_remove("vdev", name.c_str());
  }
  return port;
}

absl::StatusOr<std::unique_ptr<Port>> Port::Adopt(uint16_t port_id,
                                                  const PortOptions& options) {
  if (options.num_queues == 0) {
    return absl::InvalidArgumentError("a port needs at least one queue");
  }
  if (options.mtu < kMinMtu || options.mtu > kMaxMtu) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MTU %d out of range [%d, %d]", options.mtu, kMinMtu, kMaxMtu));
  }
  std::unique_ptr<Port> port(new Port());
  port->port_id_ = port_id;
  char name[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(port_id, name) == 0) port->name_ = name;
  absl::Status status = port->Configure(options);
  if (!status.ok()) return status;
  return port;
}

absl::Status Port::Configure(const PortOptions& options) {
  ClearRecentDpdkLog();
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(port_id_, &info);
  if (rc != 0) return DpdkError("rte_eth_dev_info_get", rc);
  driver_ = info.driver_name != nullptr ? info.driver_name : "";
  if (absl::Status s = CheckLimits(name_, driver_, info, options); !s.ok()) {
    return s;
  }
  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  conf.rxmode.mtu = options.mtu;
  if (driver_ == "net_memif" && info.max_rx_pktlen != 0) {
    // ethdev holds the MTU to the frame size memif reports, which memif
    // itself never checks (CheckLimits held it to the buffer size).
    conf.rxmode.mtu = std::min<uint32_t>(conf.rxmode.mtu,
                                         info.max_rx_pktlen - kEthernetFraming);
  }
  caps_ = OffloadsAndRss(info, options.num_queues, &conf);
  caps_.tx_external =
      options.tx_external &&
      (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0 &&
      TransmitCopiesOut(driver_, options.device);
  if (caps_.tx_external) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  rc = ConfigureDevice(port_id_, options, &conf);
  if (rc != 0) return DpdkError("rte_eth_dev_configure", rc);
  if (absl::Status s = SetUpQueues(port_id_, options, info, conf, &queues_);
      !s.ok()) {
    return s;
  }
  {
    // TAP complains at ERR level that it cannot tell secondary processes
    // (there are none with --in-memory); a real failure is reported below
    // with DPDK's lines in the message.
    ScopedQuietDpdkLog quiet;
    rc = rte_eth_dev_start(port_id_);
  }
  if (rc != 0) return DpdkError("rte_eth_dev_start", rc);
  started_ = true;
  const bool every_queue_polls =
      std::all_of(queues_.begin(), queues_.end(),
                  [](const PortQueue& queue) { return queue.rx_poll_fd >= 0; });
  caps_.rx_interrupts =
      every_queue_polls ||
      (conf.intr_conf.rxq == 1 && EveryQueueHasRxInterrupt(port_id_, queues_));
  for (PortQueue& queue : queues_) {
    queue.rx_interrupts = caps_.rx_interrupts;
    queue.tx_external = caps_.tx_external;
  }
  if (absl::Status s = ApplyMac(port_id_, options.mac, &mac_); !s.ok()) {
    return s;
  }
  mtu_ = options.mtu;
  FERRY_LOG(Info,
            "port %u '%s' (%s) up: mac %s mtu %d queues %u rss %d rx-intr %d "
            "tx-csum ipv4 %d udp %d tx-external %d",
            port_id_, name_, driver_, mac_.ToString(), mtu_, options.num_queues,
            caps_.rss, caps_.rx_interrupts, caps_.tx_ipv4_checksum,
            caps_.tx_udp_checksum, caps_.tx_external);
  return absl::OkStatus();
}

Port::~Port() {
  if (started_) rte_eth_dev_stop(port_id_);
  rte_eth_dev_close(port_id_);
  if (is_vdev_) rte_eal_hotplug_remove("vdev", name_.c_str());
  for (PortQueue& queue : queues_) rte_mempool_free(queue.pool);
}

LinkState Port::Link() const {
  rte_eth_link link;
  std::memset(&link, 0, sizeof(link));
  LinkState state;
  if (rte_eth_link_get_nowait(port_id_, &link) != 0) return state;
  state.up = link.link_status == RTE_ETH_LINK_UP;
  state.speed_mbps = link.link_speed;
  state.full_duplex = link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
  return state;
}

MbufUsage Port::Mbufs() const {
  MbufUsage usage;
  for (const PortQueue& queue : queues_) {
    usage.total += queue.pool->size;
    usage.in_use += rte_mempool_in_use_count(queue.pool);
  }
  return usage;
}

PortStats Port::Stats() const {
  rte_eth_stats stats;
  PortStats out;
  if (rte_eth_stats_get(port_id_, &stats) != 0) return out;
  out.rx_packets = stats.ipackets;
  out.tx_packets = stats.opackets;
  out.rx_bytes = stats.ibytes;
  out.tx_bytes = stats.obytes;
  out.rx_missed = stats.imissed;
  out.rx_errors = stats.ierrors;
  out.tx_errors = stats.oerrors;
  out.rx_no_mbuf = stats.rx_nombuf;
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Port::Xstats() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const int n = rte_eth_xstats_get_names(port_id_, nullptr, 0);
  if (n <= 0) return out;
  std::vector<rte_eth_xstat_name> names(n);
  std::vector<rte_eth_xstat> values(n);
  if (rte_eth_xstats_get_names(port_id_, names.data(), n) != n ||
      rte_eth_xstats_get(port_id_, values.data(), n) != n) {
    return out;
  }
  for (int i = 0; i < n; ++i) {
    out.emplace_back(names[values[i].id].name, values[i].value);
  }
  return out;
}

}  // namespace ferry::dpdk

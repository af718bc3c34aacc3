#include "controlplane/nic.h"

#include "dataplane/base/logging.h"
#include "dataplane/xdp/xdp_attachment.h"

namespace ferry::controlplane {
namespace {

// net_af_xdp shares a kernel interface with the kernel: the port carries
// Ferry's XDP program, which diverts only what is for Ferry's address.
absl::StatusOr<std::unique_ptr<dpdk::Port>> OpenAfXdpPort(
    const NicConfig& config, const std::string& iface,
    dpdk::PortOptions options) {
  const net::Ipv4Address ip = config.ip.address;
  if (absl::Status s = xdp::CheckAddressIsNotTheKernels(ip); !s.ok()) {
    return s;
  }
  absl::StatusOr<bool> removed = xdp::RemoveLeftoverProgram(iface);
  if (!removed.ok()) return removed.status();
  if (*removed) {
    FERRY_LOG(Warning,
              "%s: took off the XDP program an earlier ferryd left attached",
              iface);
  }
  absl::StatusOr<xdp::ProgramFile> program = xdp::ProgramFile::Create();
  if (!program.ok()) return program.status();
  options.device =
      xdp::AfXdpDeviceSpec(config.device, program->path(), config.engines);
  absl::StatusOr<std::unique_ptr<dpdk::Port>> port = dpdk::Port::Open(options);
  if (!port.ok()) return port;
  absl::Status s = xdp::ConfigureAttachedProgram(iface, ip);
  if (absl::IsNotFound(s) && options.device != config.device) {
    // Not ours to configure: the operator's own program (xdp_prog=).
    FERRY_LOG(Info, "%s: %s", iface, s.message());
  } else if (!s.ok()) {
    return s;
  }
  FERRY_LOG(Info, "%s: Ferry's XDP program diverts frames for %s", iface,
            ip.ToString());
  return port;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Nic>> Nic::Attach(
    const NicConfig& config, engine::EngineGroup* group,
    const std::vector<int>& engine_indexes, int interface) {
  std::unique_ptr<Nic> nic(new Nic(config, group, engine_indexes, interface));
  dpdk::PortOptions options;
  options.device = config.device;
  options.num_queues = static_cast<uint16_t>(config.engines);
  options.mtu = config.mtu;
  options.mac = config.mac;
  options.rx_interrupts = config.idle.mode == engine::PollingMode::kAdaptive;
  options.tx_external = config.tx_zero_copy_min_bytes != 0;
  const std::string xdp_iface = xdp::AfXdpInterface(config.device);
  absl::StatusOr<std::unique_ptr<dpdk::Port>> port =
      xdp_iface.empty() ? dpdk::Port::Open(options)
                        : OpenAfXdpPort(config, xdp_iface, options);
  if (!port.ok()) return port.status();
  nic->port_ = std::move(*port);
  for (int i = 0; i < config.engines; ++i) {
    engine::EngineConfig ec;
    ec.id = static_cast<uint16_t>(i);
    ec.mac = nic->port_->mac();
    ec.ip = config.ip;
    ec.gateway = config.gateway;
    ec.mtu = config.mtu;
    ec.queue = nic->port_->queue(static_cast<uint16_t>(i));
    ec.capabilities = nic->port_->capabilities();
    ec.idle = config.idle;
    ec.core = config.cores.empty() ? -1 : config.cores[i];
    ec.faults = config.faults;
    ec.faults.seed += static_cast<uint64_t>(i);  // engines draw apart
    // Frames land on whichever queue the port picks (RSS, or the peer's
    // queue for memif), and a channel's flows may leave through any NIC:
    // engines hand each flow's segments to its owner, and frames to an
    // engine of the NIC they leave through.
    ec.group = group;
    ec.group_index = engine_indexes[static_cast<size_t>(i)];
    ec.interface = interface;
    ec.transport.flow.congestion = config.congestion;
    ec.transport.max_flows_per_channel = config.max_flows_per_channel;
    ec.transport.max_flows = config.max_flows_per_engine;
    ec.transport.max_flows_per_session = config.max_flows_per_session;
    ec.transport.flow.peer_timeout_ns = config.peer_timeout_ns;
    ec.transport.zero_copy_min_bytes = config.tx_zero_copy_min_bytes;
    ec.transport.encryption = config.encryption;
    ec.transport.trust = config.trust;
    ec.transport.key_rotation_ns = config.key_rotation_ns;
    nic->engines_.push_back(std::make_unique<engine::Engine>(ec));
    if (absl::Status s = nic->engines_.back()->Start(); !s.ok()) return s;
  }
  engine::Interface iface;
  iface.ip = config.ip;
  if (config.gateway.has_value()) iface.gateway = *config.gateway;
  iface.mac = nic->port_->mac();
  iface.mtu = config.mtu;
  iface.engines = nic->engine_mask();
  group->interfaces().Publish(interface, iface);
  nic->published_ = true;
  return nic;
}

uint32_t Nic::engine_mask() const {
  uint32_t mask = 0;
  for (int index : engine_indexes_) mask |= 1u << index;
  return mask;
}

void Nic::StopEngines() {
  if (published_) {
    group_->interfaces().Withdraw(interface_);
    published_ = false;
  }
  for (auto& engine : engines_) engine->Stop();
  for (size_t i = 0; i < engines_.size(); ++i) {
    group_->Unregister(engine_indexes_[i]);
  }
}

void Nic::ReleaseEngines() {
  StopEngines();
  // Whatever other engines handed to ours goes back to their pools; what
  // ours handed to others (this NIC's packets) was freed by them
  // (kInterfaceGone) or by the registry before the port closes.
  for (size_t i = 0; i < engines_.size(); ++i) {
    group_->DrainRingsTo(engine_indexes_[i]);
  }
  engines_.clear();
}

Nic::~Nic() {
  ReleaseEngines();
  port_.reset();
  // The PMD detaches the program it attached when the port closes; this
  // makes sure of it, so that no frame for Ferry's address goes on being
  // diverted to a socket that is gone.
  if (const std::string iface = xdp::AfXdpInterface(config_.device);
      !iface.empty()) {
    absl::StatusOr<bool> removed = xdp::RemoveLeftoverProgram(iface);
    if (!removed.ok()) {
      FERRY_LOG(Warning, "%s: %s", iface, removed.status().message());
    }
  }
}

}  // namespace ferry::controlplane

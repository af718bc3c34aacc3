#include "controlplane/nic.h"

#include "dataplane/base/logging.h"

namespace ferry::controlplane {

absl::StatusOr<std::unique_ptr<Nic>> Nic::Attach(const NicConfig& config) {
  std::unique_ptr<Nic> nic(new Nic(config));
  dpdk::PortOptions options;
  options.device = config.device;
  options.num_queues = static_cast<uint16_t>(config.engines);
  options.mtu = config.mtu;
  options.mac = config.mac;
  options.rx_interrupts = config.idle.mode == engine::PollingMode::kAdaptive;
  absl::StatusOr<std::unique_ptr<dpdk::Port>> port = dpdk::Port::Open(options);
  if (!port.ok()) return port.status();
  nic->port_ = std::move(*port);
  if (config.engines > 1) {
    // Frames land on whichever queue the port picks (RSS, or the peer's
    // queue for memif); engines hand each flow's segments to its owner.
    nic->group_ = std::make_unique<engine::EngineGroup>(config.engines);
  }
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
    ec.group = nic->group_.get();
    ec.transport.flow.congestion = config.congestion;
    ec.transport.max_flows_per_channel = config.max_flows_per_channel;
    ec.transport.max_flows = config.max_flows_per_engine;
    ec.transport.max_flows_per_session = config.max_flows_per_session;
    ec.transport.flow.peer_timeout_ns = config.peer_timeout_ns;
    nic->engines_.push_back(std::make_unique<engine::Engine>(ec));
    if (absl::Status s = nic->engines_.back()->Start(); !s.ok()) return s;
  }
  return nic;
}

Nic::~Nic() {
  for (auto& engine : engines_) engine->Stop();
  engines_.clear();
  group_.reset();
  port_.reset();
}

}  // namespace ferry::controlplane

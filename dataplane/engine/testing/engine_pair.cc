#include "dataplane/engine/testing/engine_pair.h"

#include <poll.h>
#include <unistd.h>

#include <random>

#include "absl/strings/str_format.h"
#include "dataplane/base/clock.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/ring_port_pair.h"

namespace ferry::engine::testing {

absl::StatusOr<std::unique_ptr<EnginePair>> EnginePair::Create(
    const EnginePairOptions& options) {
  static bool eal_started = false;
  if (!eal_started) {
    dpdk::EalOptions eal;
    eal.hugepages = dpdk::HugepageMode::kOff;
    eal.memory_mb = 512;
    if (absl::Status s = dpdk::StartEal(eal); !s.ok()) return s;
    eal_started = true;
  }
  static int pair_index = 0;
  const int index = pair_index++;
  const bool memif = options.wire == EnginePairOptions::Wire::kMemif;
  uint16_t port_ids[2] = {0, 0};
  if (!memif) {
    absl::StatusOr<dpdk::RingPortPair> pair =
        dpdk::CreateRingPortPair(absl::StrFormat("ep%d_%d", getpid(), index));
    if (!pair.ok()) return pair.status();
    port_ids[0] = pair->a;
    port_ids[1] = pair->b;
  }
  std::unique_ptr<EnginePair> p(new EnginePair());
  const uint32_t ips[2] = {kHostA, kHostB};
  const std::random_device::result_type salt = std::random_device{}();
  for (int i = 0; i < 2; ++i) {
    dpdk::PortOptions port_options;
    port_options.mbufs_per_queue = options.mbufs_per_queue;
    port_options.mac =
        net::MacAddress{{0x02, 0xfe, 0x88, 0, 0, static_cast<uint8_t>(i + 1)}};
    port_options.tx_external = options.tx_external;
    absl::StatusOr<std::unique_ptr<dpdk::Port>> port;
    if (memif) {
      // The server first: the client's start needs its socket.
      port_options.device = absl::StrFormat(
          "net_memif%d,role=%s,id=0,socket=@ferry-ep-memif-%d-%x-%d",
          100 + 2 * index + i, i == 0 ? "server" : "client", getpid(), salt,
          index);
      port = dpdk::Port::Open(port_options);
    } else {
      port = dpdk::Port::Adopt(port_ids[i], port_options);
    }
    if (!port.ok()) return port.status();
    p->ports_[i] = std::move(*port);
    EngineConfig config;
    config.id = static_cast<uint16_t>(i);
    config.mac = *port_options.mac;
    config.ip = {net::Ipv4Address{ips[i]}, 24};
    config.queue = p->ports_[i]->queue(0);
    config.capabilities = p->ports_[i]->capabilities();
    config.idle.mode = PollingMode::kBusy;
    config.faults = i == 0 ? options.faults_a : options.faults_b;
    config.transport = i == 1 && options.transport_b.has_value()
                           ? *options.transport_b
                           : options.transport;
    if (memif && options.tx_external &&
        config.transport.zero_copy_min_bytes == 0) {
      config.transport.zero_copy_min_bytes = 1024;
    }
    p->engines_[i] = std::make_unique<Engine>(config);
    p->paths_[i] =
        absl::StrFormat("@ferry-engine-pair-%d-%x-%d", getpid(), salt, i);
    auto listener = channel::ChannelListener::Listen(
        p->paths_[i], 0600, shm::ChannelSizes{},
        channel::SegmentMemory::kOrdinaryPages);
    if (!listener.ok()) return listener.status();
    p->listeners_[i] = std::move(*listener);
  }
  return p;
}

EnginePair::~EnginePair() {
  StopStepper();
  for (int fd : connections_) close(fd);
  engines_[0].reset();
  engines_[1].reset();
}

bool EnginePair::Step(uint64_t now_ns) {
  const bool a = engines_[0]->PollOnce(now_ns);
  const bool b = engines_[1]->PollOnce(now_ns);
  return a || b;
}

void EnginePair::StartStepper() {
  if (stepping_.exchange(true)) return;
  stepper_ = std::thread([this] {
    while (stepping_.load(std::memory_order_relaxed)) {
      if (!Step(MonotonicNanos())) std::this_thread::yield();
    }
  });
}

void EnginePair::StopStepper() {
  if (!stepping_.exchange(false)) return;
  stepper_.join();
  // The caller steps from here on.
  engines_[0]->ReleaseThread();
  engines_[1]->ReleaseThread();
}

absl::StatusOr<ferry_channel*> EnginePair::Attach(
    int side, const ferry_channel_options* options) {
  ferry_channel* channel = nullptr;
  int rc = 0;
  std::thread app([&] {
    rc = ferry_attach_channel_socket(paths_[side].c_str(), options, &channel);
  });
  const absl::Status accepted = AcceptOne(side);
  app.join();
  if (!accepted.ok()) return accepted;
  if (rc != 0) {
    return absl::InternalError(
        absl::StrFormat("ferry_attach_channel_socket: %d", rc));
  }
  return channel;
}

absl::Status EnginePair::AcceptOne(int side) {
  pollfd pfd = {listeners_[side]->fd(), POLLIN, 0};
  poll(&pfd, 1, 10000);
  absl::StatusOr<channel::AcceptedChannel> accepted =
      listeners_[side]->AcceptOne(next_channel_id_++,
                                  engines_[side]->doorbell_fd());
  if (!accepted.ok()) return accepted.status();
  connections_.push_back(accepted->connection);
  return engines_[side]->AttachChannel(std::move(accepted->channel));
}

}  // namespace ferry::engine::testing

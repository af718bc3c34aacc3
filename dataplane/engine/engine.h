// An engine: one thread, one port queue pair, a run-to-completion loop.
//
// Each iteration: execute pending control commands, receive a burst and
// handle it (ARP, ICMP echo; UDP goes to the transport once it exists), run
// due timers (ARP probes and expiry, the ping command), flush the transmit
// batch. Nothing in the loop allocates or takes a lock; when idle it yields
// or sleeps as the IdlePolicy says.
//
// Threading: the constructor, Start, Stop, Execute and ReadStats run on the
// control thread. Everything else (the *_st methods) runs on the engine
// thread, or on a test's thread through PollOnce when the engine was not
// started.
#ifndef FERRY_DATAPLANE_ENGINE_ENGINE_H_
#define FERRY_DATAPLANE_ENGINE_ENGINE_H_

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dataplane/base/spsc_ring.h"
#include "dataplane/base/thread_owner.h"
#include "dataplane/channel/channel_set.h"
#include "dataplane/channel/engine_channel.h"
#include "dataplane/dpdk/packet_fwd.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/engine/command.h"
#include "dataplane/engine/engine_counters.h"
#include "dataplane/engine/engine_group.h"
#include "dataplane/engine/fault_injector.h"
#include "dataplane/engine/idle_policy.h"
#include "dataplane/engine/neighbor_table.h"
#include "dataplane/engine/transport_endpoint.h"
#include "dataplane/engine/waker.h"
#include "dataplane/net/addresses.h"
#include "dataplane/net/frame_parser.h"

namespace ferry::engine {

struct EngineConfig {
  uint16_t id = 0;
  net::MacAddress mac;
  net::Ipv4Prefix ip;  // the interface address and its subnet
  std::optional<net::Ipv4Address> gateway;
  int mtu = 1500;
  dpdk::PortQueue queue;
  dpdk::PortCapabilities capabilities;
  IdlePolicyConfig idle;
  int core = -1;  // CPU to pin the thread to; -1: not pinned
  size_t neighbor_capacity = 1024;
  FaultConfig faults;  // off unless configured
  NeighborTimings neighbor_timings;
  // Flow parameters; the segment size follows `mtu`.
  TransportConfig transport;
  // The daemon's engines, when there are several (see engine_group.h);
  // must outlive the engine. `group_index` is this one's index there (-1:
  // `id`), `interface` its NIC's slot in the group's interface table.
  EngineGroup* group = nullptr;
  int group_index = -1;
  int interface = 0;
};

class Engine : private PacketIo, public Wakeable {
 public:
  static constexpr uint16_t kBurstSize = 32;
  static constexpr uint16_t kTxBatchSize = 64;

  explicit Engine(const EngineConfig& config);
  ~Engine() override;  // Stop()s; frees parked and unsent packets
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Control thread. Start spawns the (pinned) engine thread.
  absl::Status Start();
  void Stop();
  // Posts a command and waits for its completion, up to `timeout`.
  absl::Status Execute(EngineCommand command, absl::Duration timeout);
  // The same with the caller's completion (a subclass may carry results,
  // such as FlowListCompletion). It is still the caller's on return, unless
  // the wait timed out: then it was handed to the engine and `completion`
  // is null.
  absl::Status Execute(EngineCommand command, absl::Duration timeout,
                       std::unique_ptr<Completion>& completion);
  // Posts without waiting (command.completion may be null). Fails when the
  // command ring is full. The ring has one producer: callers serialise
  // (the control plane posts under its NIC registry's lock).
  absl::Status Post(const EngineCommand& command);
  // Waits for a posted command's completion, as Execute does; needs no
  // engine, so that a long wait (a connect's handshake) holds no lock. On
  // timeout the completion is handed over (see command.h) and null.
  static absl::Status Await(std::unique_ptr<Completion>& completion,
                            absl::Duration timeout, int engine_id);
  EngineStats ReadStats() const { return Snapshot(counters_); }
  // Whether the engine thread runs (between Start and Stop).
  bool running() const { return running_.load(); }
  const EngineConfig& config() const { return config_; }
  // The kernel's id of the engine's thread while it runs (0 otherwise):
  // the control plane reads the thread's scheduling counters by it.
  pid_t kernel_thread_id() const {
    return kernel_thread_id_.load(std::memory_order_relaxed);
  }

  // Control thread: application channels. The engine takes a channel over
  // (it is served from the next loop iteration); to end one, post its id
  // and collect it with TakeDetachedChannel once the engine let go of it.
  // The channel's eventfd for the app to kick is this engine's doorbell.
  absl::Status AttachChannel(std::unique_ptr<channel::EngineChannel> channel);
  // `linger_ns` 0 aborts the channel's flows now; otherwise the engine
  // first sends every message the application queued and closes the
  // flows in order, for at most that long (see ChannelSet).
  void DetachChannel(uint64_t channel_id, uint64_t linger_ns = 0);
  std::unique_ptr<channel::EngineChannel> TakeDetachedChannel() {
    return channels_.TakeDetached();
  }
  int doorbell_fd() const { return waker_.doorbell_fd(); }
  // Wakes the engine if it sleeps (any thread).
  void Nudge() override;

  // One loop iteration at time `now_ns`. Returns whether it found work.
  // Tests call it directly on an engine that was not started.
  bool PollOnce(uint64_t now_ns);
  // The thread that polled so far stops doing so (a test handing stepping
  // over to another thread); debug builds check that one thread at a time
  // runs the engine.
  void ReleaseThread() { thread_owner_.Release(); }
  // When the next timer is due (for the idle policy and tests).
  uint64_t next_timer_ns() const { return next_timer_ns_; }

 private:
  // The methods below live in files by concern: engine.cc (lifecycle, the
  // poll loop, idling, channels, frame dispatch, timers),
  // engine_commands.cc (the control plane's commands), engine_host_stack.cc
  // (ARP, ICMP echo, the pinger, next hops), engine_tx.cc (the TX batch
  // and fault injection).

  // Echo data starts with the send time, for the round-trip time.
  static constexpr size_t kPingTimestampSize = sizeof(uint64_t);

  // Which thread runs the *_st methods (checked in PollOnce).
  ThreadOwner thread_owner_;

  struct Pinger {
    bool active = false;
    net::Ipv4Address dst;
    uint32_t remaining = 0;
    uint64_t interval_ns = 0;
    uint64_t next_send_ns = 0;
    uint16_t id = 0;
    uint16_t seq = 0;
    uint16_t payload_size = 56;
  };

  void Run();
  void IdleWait_st(uint64_t now_ns);
  bool DrainCommands_st(uint64_t now_ns);
  void ExecuteCommand_st(const EngineCommand& command, uint64_t now_ns);
  // A kFlowOp command; false when the transport completes it later.
  bool RunFlowOp_st(const EngineCommand& command, uint64_t now_ns,
                    absl::StatusCode* code, const char** message);
  // A request from a channel's control ring, decoded into the same
  // operation; false when the answer comes later.
  bool OnCtrlRequest_st(channel::EngineChannel& channel,
                        const ferry_ctrl& request, ferry_ctrl* reply);
  void HandleBurst_st(dpdk::Packet** pkts, uint16_t n, uint64_t now_ns);
  void HandleFrame_st(dpdk::Packet* pkt, uint64_t now_ns);
  void HandleArp_st(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                    uint64_t now_ns);
  void HandleIcmp_st(dpdk::Packet* pkt, const net::ParsedFrame& frame,
                     uint64_t now_ns);
  bool ServeChannels_st();
  // Applies channels posted and detached by the control thread.
  bool ApplyChannelChanges_st(uint64_t now_ns);
  // Packets other engines handed over: segments of this engine's flows
  // (software steering), and frames to send for flows of another NIC.
  bool TakeSteered_st(uint64_t now_ns);
  // Sends a frame another NIC's engine built (see SendVia_st) from this
  // NIC's own pool; the original goes back to its pool.
  void SendForOther_st(dpdk::Packet* pkt, uint64_t now_ns);
  void SendVia_st(dpdk::Packet* pkt, int engine) override;
  int group_index() const {
    return config_.group_index >= 0 ? config_.group_index : config_.id;
  }
  void RunTimers_st(uint64_t now_ns);
  // Housekeeping has work at `when_ns` (or sooner): the poll loop runs it
  // then, and an idle engine wakes for it.
  void HousekeepingDue_st(uint64_t when_ns) {
    housekeeping_ns_ = std::min(housekeeping_ns_, when_ns);
    next_timer_ns_ = std::min(next_timer_ns_, housekeeping_ns_);
  }
  void SendPing_st(uint64_t now_ns);
  void SendArpRequest_st(net::Ipv4Address target);
  // A broadcast ARP request for `target` from our address (a gratuitous
  // one when `target` is our own); false when no buffer was free.
  bool SendArp_st(net::Ipv4Address target);
  // Routes an Ethernet/IPv4 frame (Ethernet destination not yet filled in)
  // to its next hop, parking it while ARP resolves.
  void SendIpv4_st(dpdk::Packet* pkt, net::Ipv4Address dst,
                   uint64_t now_ns) override;
  // PacketIo, for the transport.
  dpdk::Packet* AllocPacket_st() override;
  bool NextHopResolved_st(net::Ipv4Address dst, uint64_t now_ns) override;
  void ConfirmNextHop_st(net::Ipv4Address dst, uint64_t now_ns) override;
  bool TxBackedUp_st() const override {
    return tx_overflow_count_ >= kTxOverflow / 4;
  }
  bool TxExternal_st() const override { return external_ != nullptr; }
  bool AppendExternal_st(dpdk::Packet* pkt, const uint8_t* data,
                         uint32_t length) override;
  // A frame that is to wait (see dpdk::ExternalPayloads): itself, or a
  // private copy; null (and counted) when the pool is empty.
  dpdk::Packet* Privatize_st(dpdk::Packet* pkt);
  // Before a channel's segment may go: no frame may point into it. Sends
  // the TX batch (the port copies it out, or it is made private to wait).
  void ReleaseExternal_st();
  // Sends the next gratuitous ARP announcement of our address when due.
  void AnnounceAddress_st(uint64_t now_ns);
  // 0.0.0.0 (never a next hop) when there is none. Not an optional: GCC
  // returns one through the stack by parts and reads it back whole, a
  // store-forwarding stall on every segment sent.
  net::Ipv4Address NextHop(net::Ipv4Address dst) const;
  void Transmit_st(dpdk::Packet* pkt);
  void FlushTx_st();
  // Applies fault injection to the TX batch, writing what is to be sent now
  // (held frames whose time has come first) to `out` (room for three
  // batches); returns how many.
  uint16_t InjectFaults_st(dpdk::Packet** out);

  const EngineConfig config_;
  const bool rx_checksum_offload_;
  // Counts the frames that point at channel buffers (zero-copy transmit);
  // null when the port cannot take them. Outlives every such frame.
  std::unique_ptr<dpdk::ExternalPayloads> external_;

  // Engine-thread state.
  alignas(kCacheLineSize) EngineCounters counters_;
  NeighborTable neighbors_;
  Pinger pinger_;
  // When the engine must poll (or wake) next: the earliest of its own
  // housekeeping, the transport's timers, held frames and retries.
  uint64_t next_timer_ns_ = 0;
  // When RunTimers_st has work (neighbour probes, pings, announcements).
  // The transport's deadlines bring next_timer_ns_ forward every few
  // microseconds under load, and its timers run in its own poll: the
  // housekeeping (a walk of the neighbour table) waits for its own time.
  uint64_t housekeeping_ns_ = 0;
  // Gratuitous ARP when the engine starts (engine 0 of a NIC speaks for
  // the NIC): three announcements, a second apart, as RFC 5227 does, so
  // that one lost frame does not leave a neighbour with our old MAC.
  static constexpr uint64_t kAnnouncementIntervalNs = 1'000'000'000;
  int announcements_left_ = 0;
  uint64_t next_announcement_ns_ = 0;
  uint64_t last_work_ns_ = 0;
  uint16_t ip_id_ = 0;
  uint16_t tx_count_ = 0;
  dpdk::Packet* tx_batch_[kTxBatchSize];
  // Frames the TX queue refused, in order, sent before any new one at the
  // next flush: with thousands of flows one poll makes more frames than
  // the queue holds, and a dropped segment of a window-1 flow waits for
  // its RTO. Dropped (tx_drop_full) only when this is full too.
  static constexpr uint32_t kTxOverflow = 2048;
  // How soon a queue that took nothing is tried again, doubling while it
  // takes nothing (a link that is down).
  static constexpr uint64_t kTxRetryMinNs = 50'000;
  static constexpr uint64_t kTxRetryMaxNs = 20'000'000;
  uint64_t tx_retry_ns_ = kTxRetryMinNs;
  dpdk::Packet* tx_overflow_[kTxOverflow];
  uint32_t tx_overflow_head_ = 0;
  uint32_t tx_overflow_count_ = 0;
  // Sends what the queue takes of the overflow; true when it is empty.
  bool DrainTxOverflow_st();
  // One burst, counted; returns how many the queue took.
  uint16_t SendBurst_st(dpdk::Packet** pkts, uint16_t count);
  // Fault injection: frames held back, in release order (a fixed ring).
  // Holds a frame back (fault injection) until `release_ns`; false when
  // the hold ring is full (the frame then goes out now).
  bool Hold_st(dpdk::Packet* pkt, uint64_t release_ns);
  static constexpr uint16_t kMaxHeld = 256;
  struct HeldFrame {
    dpdk::Packet* pkt;
    uint64_t release_ns;
  };
  FaultInjector faults_;
  HeldFrame held_[kMaxHeld];
  uint16_t held_head_ = 0;
  uint16_t held_count_ = 0;
  uint64_t now_ns_ = 0;
  dpdk::Packet* rx_burst_[kBurstSize];
  std::unique_ptr<TransportEndpoint> transport_;

  // Shared with the control thread.
  SpscRing<EngineCommand, 64> commands_;
  channel::ChannelSet channels_;
  alignas(kCacheLineSize) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<pid_t> kernel_thread_id_{0};
  Waker waker_;
  absl::Status init_status_;
  int rx_interrupt_epfd_ = -1;  // engine thread; -1: sleep on timers only
  std::thread thread_;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_ENGINE_H_
